"""The engine at its edges (issue "Never silently wrong, part 2"): views of parameters are guarded, copies are copies,
integer casts carry no gradient, each switch restores its own value, min/minimum/clip are right for every dtype,
logsumexp and log_softmax handle rows of -inf and empty axes, targets that need gradients get them, numpy's reductions
on a Tensor keep the gradient, and zero gradients keep the input's dtype. Each test fails on the engine before the fix."""
import copy, pickle, threading
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from scratchgrad.tensor import (Tensor, gradients, gradcheck, astype, minimum, maximum, clip, reduce_min, logsumexp,
                                log_softmax, softmax, detect_anomaly, no_grad, enable_grad, set_grad_enabled,
                                is_grad_enabled, identity, binary_cross_entropy_with_logits, _state)
from scratchgrad.losses import mse
from scratchgrad.nn import Linear

rng = np.random.default_rng(0)

# --- views of parameters --------------------------------------------------------------------------------------------
VIEWS = {'T': lambda W: W.T, 'reshape': lambda W: W.reshape(2, 3), 'slice': lambda W: W[:, :],
         'transpose-of-slice': lambda W: W[0:3].T, 'identity': lambda W: identity(W),
         'reshape-of-reshape': lambda W: W.reshape(6).reshape(2, 3)}

@pytest.mark.parametrize('name', VIEWS)
def test_a_write_into_a_parameter_read_through_a_view_is_refused(name):
    W, x = Tensor(rng.standard_normal((3, 2))), Tensor(rng.standard_normal((4, 2)), requires_grad=False)
    v = VIEWS[name](W)
    loss = (x @ v).sum() if v.shape[0] == 2 else (x @ v.T).sum()
    with pytest.raises(ValueError, match='read-only'): W.array[...] = 0
    expected = gradients(loss, W, retain_graph=True).array
    loss.backward()
    np.testing.assert_allclose(W.grad.array, expected)
    W.array[...] = 0                                     # released: writeable again

def test_nn_linear_weights_are_guarded_while_a_graph_needs_them():
    lin, x = Linear(3, 2, dtype=np.float64), rng.standard_normal((5, 3))
    xt = Tensor(x)
    loss = lin(xt).sum()
    with pytest.raises(ValueError, match='read-only'): lin.weight.array[...] = 0
    loss.backward()
    np.testing.assert_allclose(xt.grad.array, np.broadcast_to(lin.weight.array.sum(0), (5, 3)))

def test_views_of_constants_and_of_interior_arrays_are_not_held():
    W, x = Tensor(rng.standard_normal((3, 2))), Tensor(rng.standard_normal((3, 4)), requires_grad=False)
    h = (W + 1).T                                        # a view of an interior array (add reads no input)
    loss = (h @ x).sum()                                 # matmul reads h and x.T's owner x: neither is a parameter
    x.array[...] = 0                                     # the caller's data stays the caller's
    W.array[...] = 0                                     # and W is not read by any VJP here
    loss.backward()

# --- copies -------------------------------------------------------------------------------------------------------------
def test_np_array_copies_and_np_asarray_shares():
    w = Tensor([1.0, 2.0])
    a, b = np.array(w), np.asarray(w)
    w.array += 1
    np.testing.assert_array_equal(a, [1.0, 2.0]); np.testing.assert_array_equal(b, [2.0, 3.0])
    assert np.array(w, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match='without a copy'): np.asarray(w, dtype=np.float32, copy=False)

def test_pickle_and_deepcopy_keep_values_grads_and_sharing():
    a = Tensor([1.0, 2.0], name='a'); (a * a).sum().backward()
    frozen = Tensor([3.0], requires_grad=False)
    for f in (lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy):
        a2, f2, again = f([a, frozen, a])
        assert again is a2 and a2 is not a                     # shared stays shared, inside one copy
        np.testing.assert_array_equal(a2.grad.array, [2.0, 4.0])
        assert (a2.requires_grad, a2.name, f2.requires_grad) == (True, 'a', False)
        a2.array[0] = 9.0; assert a.array[0] == 1.0

def test_a_copied_computed_tensor_is_a_constant_not_a_new_parameter():
    y = Tensor([1.0, 2.0]) * 2
    for y2 in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert (y2.requires_grad, y2.op, y2.parents) == (False, '', ())

def test_a_read_only_array_is_copied_writeable():
    w = Tensor([1.0, 2.0]); y = w * w                    # w held read-only by y's node
    w2 = copy.deepcopy(w)
    w2.array[0] = 5.0
    del y

# --- integer casts --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.int8, np.int64, np.uint8, bool])
def test_a_cast_to_an_integer_or_bool_dtype_stops_the_gradient(dtype):
    v = Tensor([0.4, 2.6])
    c = astype(v, dtype)
    assert not c.requires_grad and c.op == ''
    with pytest.raises(RuntimeError, match='does not require a gradient'): c.sum().backward()
    g = gradients((astype(v, dtype) * v).sum(), v)
    np.testing.assert_array_equal(g.array, np.asarray([0.4, 2.6]).astype(dtype))   # only v's own path

def test_a_float_cast_still_carries_the_gradient():
    v = Tensor([0.5, 1.5])
    assert gradients(astype(v, np.float32).sum(), v).dtype == np.float64
    assert gradcheck(lambda v: astype(v, np.float32) * v, [0.5, 1.5], eps=1e-3, rtol=1e-3, atol=1e-3)

# --- switches -------------------------------------------------------------------------------------------------------------
def test_a_generator_closing_no_grad_inside_detect_anomaly_restores_both():
    def gen():
        with no_grad(): yield
    g = gen(); next(g)                                   # no_grad entered
    with detect_anomaly():
        try: next(g)                                     # no_grad exits inside detect_anomaly
        except StopIteration: pass
    assert is_grad_enabled() and not _state.anomaly

def test_set_grad_enabled_as_a_plain_call_switches_like_pytorch():
    try:
        set_grad_enabled(False)
        assert not is_grad_enabled() and not (Tensor([1.0]) * 2).requires_grad
        with set_grad_enabled(True): assert is_grad_enabled()
        assert not is_grad_enabled()
    finally:
        set_grad_enabled(True)
    assert is_grad_enabled()
    f = set_grad_enabled(False)(lambda: is_grad_enabled())
    assert is_grad_enabled() and f() is False and is_grad_enabled()

def test_one_switch_object_shared_by_two_threads_restores_each_threads_value():
    off, results, barrier = no_grad(), [], threading.Barrier(2)
    def work():
        with off:
            barrier.wait()
            results.append(is_grad_enabled())
        results.append(is_grad_enabled())
    ts = [threading.Thread(target=work) for _ in range(2)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert sorted(results) == [False, False, True, True]

def test_anomaly_state_is_clean_after_a_vjp_raises():
    x = Tensor([0.0, 1.0])
    with detect_anomaly(), np.errstate(all='ignore'):
        with pytest.raises(FloatingPointError, match="inside the VJP of 'pow'"): (x * x).sqrt().sum().backward()
        assert _state.backward_op is None
        with pytest.raises(FloatingPointError) as e: x.log()
        assert 'VJP' not in str(e.value)

# --- min, minimum, clip for every dtype -----------------------------------------------------------------------------------
INT_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.uint64]

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(INT_DTYPES), st.data())
def test_min_family_matches_numpy_for_integers(dtype, data):
    info = np.iinfo(dtype)
    vals = data.draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=2, max_size=6))
    a = np.array(vals, dtype=dtype); b = a[::-1].copy()
    t = Tensor(a, requires_grad=False)
    assert t.min().item() == a.min() and reduce_min(t).item() == a.min()
    np.testing.assert_array_equal(minimum(t, Tensor(b, requires_grad=False)).array, np.minimum(a, b))
    lo, hi = sorted(data.draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=2, max_size=2)))
    np.testing.assert_array_equal(clip(t, dtype(lo), dtype(hi)).array, np.clip(a, dtype(lo), dtype(hi)))

def test_minimum_gradient_splits_ties_and_passes_gradcheck():
    a, b = Tensor([1.0, 5.0, 0.0]), Tensor([1.0, 2.0, 3.0])
    ga, gb = gradients(minimum(a, b).sum(), [a, b])
    np.testing.assert_array_equal(ga.array, [0.5, 0, 1]); np.testing.assert_array_equal(gb.array, [0.5, 1, 0])
    assert gradcheck(lambda a, b: minimum(a, b) * maximum(a, b) + a.min(axis=0), rng.standard_normal((3, 2)),
                     rng.standard_normal(2), order=2)

# --- logsumexp and log_softmax at infinities and on empty axes -----------------------------------------------------------
def test_logsumexp_and_log_softmax_of_minus_infinity_rows():
    x = Tensor([[-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0], [np.inf, 0.0, 1.0]])
    lse = logsumexp(x, axis=1).array
    assert lse[0] == -np.inf and np.isclose(lse[1], np.log(1 + np.e)) and lse[2] == np.inf
    ls = log_softmax(x[:2]).array                        # (+inf - +inf is NaN, with numpy's warning, as in PyTorch)
    assert np.all(ls[0] == -np.inf) and ls[1, 0] == -np.inf and np.isfinite(ls[1, 1:]).all()
    np.testing.assert_array_equal(softmax(x[:2]).array[0], [0, 0, 0])
    g = gradients(logsumexp(x[:2], axis=1).sum(), x)
    assert np.isfinite(g.array[:2]).all() and np.allclose(g.array[:2].sum(1), [0, 1])
    np.testing.assert_allclose(logsumexp(Tensor([-np.inf, -np.inf])).item(), -np.inf)

@pytest.mark.parametrize('axis', [0, 1])
def test_logsumexp_and_softmax_over_an_empty_axis(axis):
    shape = (0, 3) if axis == 0 else (3, 0)
    x = Tensor(np.zeros(shape))
    np.testing.assert_array_equal(logsumexp(x, axis=axis).array, np.full(3, -np.inf))   # as scipy
    assert softmax(x, axis=axis).shape == shape and log_softmax(x, axis=axis).shape == shape
    assert gradients(logsumexp(x, axis=axis).sum(), x).shape == shape

# --- targets that need gradients ------------------------------------------------------------------------------------------
def test_mse_gives_the_target_its_gradient():
    a, b = Tensor([1.0, 2.0, 4.0]), Tensor([0.0, 4.0, 4.0])
    mse(a, b).backward()
    np.testing.assert_allclose(b.grad.array, -2 * (a.array - b.array) / 3)
    assert gradcheck(lambda p, t: mse(p, t), rng.standard_normal((3, 1)), rng.standard_normal(3), order=2)

def test_binary_cross_entropy_gives_a_soft_target_its_gradient():
    assert gradcheck(lambda z, t: binary_cross_entropy_with_logits(z, t, reduction='sum'),
                     rng.standard_normal(5), rng.uniform(0.1, 0.9, 5), order=2)

def test_constant_targets_still_need_no_gradient():
    z = Tensor([0.5, -1.0]); t = Tensor([1.0, 0.0], requires_grad=False)
    binary_cross_entropy_with_logits(z, t).backward(); mse(z, [1, 0]).backward()
    assert t.grad is None

# --- numpy's functions on a Tensor ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('fn', [np.sum, np.mean, np.max, np.min])
def test_numpy_reductions_on_a_tensor_return_tensors_that_keep_the_gradient(fn):
    x = Tensor(rng.standard_normal((3, 4)))
    y = fn(x, axis=1)
    assert isinstance(y, Tensor) and y.requires_grad
    np.testing.assert_allclose(y.array, fn(x.array, axis=1))
    with pytest.raises(TypeError, match='not supported'): fn(x, out=np.zeros(3))

def test_swapaxes_checks_its_axes_as_numpy():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(np.exceptions.AxisError, match='axis2'): t.swapaxes(0, 5)
    assert t.swapaxes(-1, 0).shape == (3, 2)

# --- zero gradients keep the input's dtype --------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64])
def test_an_unused_input_gets_zeros_of_its_own_dtype(dtype):
    x, unused = Tensor(np.ones(3, dtype)), Tensor(np.ones(2, dtype))
    gx, gu = gradients((x * 2).sum(), [x, unused])
    assert gx.dtype == gu.dtype == dtype and not gu.array.any()


# --- NaN propagates; integers in, floats out ---------------------------------------------------------------------------
def test_relu_of_nan_is_nan_in_value_and_gradient():
    x = Tensor([np.nan, -1.0, 0.0, 2.0])
    y = x.relu()
    g = gradients(y.sum(), x)
    np.testing.assert_array_equal(y.array, [np.nan, 0, 0, 2]); np.testing.assert_array_equal(g.array, [np.nan, 0, 0, 1])

@pytest.mark.parametrize('f', [lambda x: logsumexp(x, axis=-1), lambda x: log_softmax(x), lambda x: softmax(x)])
def test_logsumexp_family_of_integers_is_float_as_numpys_log(f):
    a = np.array([[1, 2, 3], [0, 0, 0]])
    np.testing.assert_allclose(f(Tensor(a, requires_grad=False)).array, f(Tensor(a.astype(float))).array)
