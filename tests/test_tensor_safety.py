"""Never silently wrong: each case of issue 10 that once gave a wrong answer without a word now gives the right answer
or a clear error. (Per-thread state is in tests/test_threads.py.)"""
import gc, warnings
import numpy as np
import pytest
from scipy.special import expit

import scratchgrad.tensor as T
from scratchgrad.tensor import (Tensor, backward, gradients, sigmoid, log_sigmoid, expand_dims, cross_entropy,
                                binary_cross_entropy_with_logits, no_grad, Primitive, apply)


# --- in-place writes to what a recorded graph still needs
def test_write_to_a_leaf_the_graph_needs_raises_at_the_write():
    a = Tensor([1.0, 2.0, 3.0])
    y = (a * a).sum()
    with pytest.raises(ValueError, match='read-only'): a.array[:] = 10
    y.backward()
    np.testing.assert_array_equal(a.grad.array, [2, 4, 6])            # not [20, 20, 20]
    a.array[:] = 10                                                    # released: writeable again
    assert a.array.flags.writeable


def test_optimizer_step_between_two_passes_over_a_retained_graph_raises():
    w = Tensor([1.0, -2.0])
    loss = (w * w * 3.0).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(ValueError, match='read-only'):
        w.array -= 0.1 * w.grad.array                                  # the graph still reads w
    g_before = w.grad.array.copy()
    loss.backward()                                                    # so the second pass is still right
    np.testing.assert_allclose(w.grad.array, 2 * g_before)


def test_the_normal_loop_keeps_working_and_a_dropped_graph_releases():
    w = Tensor(np.ones((3, 2)))
    x = np.arange(6.0).reshape(2, 3)
    for _ in range(3):
        w.grad = None
        loss = ((x @ w) ** 2).mean()
        loss.backward()
        with no_grad(): w.array -= 0.01 * w.grad.array
    unused = (x @ w).sum()                                             # recorded, never differentiated
    assert not w.array.flags.writeable
    del unused
    assert w.array.flags.writeable and w._users == 0


def test_a_caller_read_only_array_stays_read_only():
    arr = np.ones(3); arr.flags.writeable = False
    t = Tensor(arr)                                                    # Tensor copies: its own array is writeable
    y = (t * 2).sum(); del y
    assert t.array.flags.writeable and not arr.flags.writeable
    t.array = arr                                                      # a leaf around a read-only array
    y = (t * 2).sum(); y.backward()
    assert not t.array.flags.writeable                                 # restored to read-only, not made writeable


# --- backward's cotangents
def test_backward_with_fewer_grads_than_outputs_raises():
    x = Tensor([1.0, 2.0])
    y1, y2 = x * 2, x * 3
    with pytest.raises(ValueError, match='2 outputs but 1 cotangents'):
        backward([y1, y2], grad=[np.ones(2)])


# --- pow
def test_pow_gradients_at_zero_and_the_exponent_below_zero():
    x = Tensor([0.0, 2.0])
    np.testing.assert_array_equal(gradients((x ** 0).sum(), x).array, [0, 0])
    np.testing.assert_array_equal(gradients((x ** 2).sum(), x).array, [0, 4])
    base, e = Tensor([-2.0, 0.0, 3.0]), Tensor([2.0, 2.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                 # and quietly: no RuntimeWarning
        ge = gradients((base ** e).sum(), e).array
    assert np.isnan(ge[0]) and ge[1] == 0 and np.isclose(ge[2], 9 * np.log(3))


# --- sigmoid and log_sigmoid in the tails
def _ulps(got, want):
    ref = want.astype(got.dtype)
    return np.max(np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(ref)).astype(np.float64))

@pytest.mark.parametrize('dtype,lim', [(np.float32, 80.0), (np.float64, 700.0)])
def test_sigmoid_and_log_sigmoid_within_a_few_ulps(dtype, lim):
    x = np.linspace(-lim, lim, 40001).astype(dtype)
    s = sigmoid(x).array
    assert s.dtype == dtype and _ulps(s, expit(x.astype(np.float64))) <= 4
    neg = x[x < 0]
    assert _ulps(log_sigmoid(neg).array, np.log(expit(neg.astype(np.float64)))) <= 4
    z = Tensor(np.array([-30.0, -15.0, 15.0], dtype))
    g = gradients(log_sigmoid(z).sum(), z).array                            # d/dz log sigmoid(z) = sigmoid(-z)
    assert np.isfinite(g).all() and _ulps(g, expit(-z.array.astype(np.float64))) <= 4


# --- float16, dtypes, empty and invalid reductions
def test_float16_reductions_accumulate_as_numpy():
    h = np.ones(100_000, np.float16)
    assert Tensor(h).mean().item() == np.mean(h) == 1.0 and Tensor(h).mean().dtype == np.float16
    with np.errstate(over='ignore'):
        assert np.isinf(Tensor(h).sum().item()) and np.isinf(np.sum(h))   # numpy's sum overflows too
    x = Tensor(np.full((300, 300), 1.0, np.float16))
    np.testing.assert_array_equal(x.mean(axis=0).array, np.mean(x.array, axis=0))


def test_float32_leaf_gets_float32_gradient_with_float64_constants():
    x = Tensor(np.ones((2, 3), np.float32))
    ((x * np.full(3, 2.0)) @ np.ones((3, 2))).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.array, np.full((2, 3), 4.0, np.float32))


def test_empty_reductions_behave_as_numpy():
    e = Tensor(np.ones((0, 3)))
    with pytest.warns(RuntimeWarning, match='Mean of empty slice'): m = e.mean()
    assert np.isnan(m.item())
    with pytest.warns(RuntimeWarning): assert np.isnan(e.mean(axis=0).array).all()
    assert e.sum().item() == 0 and e.sum(axis=0).shape == (3,) and e.mean(axis=1).shape == (0,)
    with pytest.raises(ValueError, match='zero-size'): e.max()


def test_invalid_axes_raise_as_numpy():
    t = Tensor(np.ones((2, 3)))
    for f in (lambda: expand_dims(t, 5), lambda: t.transpose(0, 3), lambda: t.sum(axis=2), lambda: t.max(axis=-3)):
        with pytest.raises(np.exceptions.AxisError): f()
    with pytest.raises(TypeError): t.sum(axis=True)
    with pytest.raises(TypeError): t.mean(axis=1.0)
    assert expand_dims(t, -1).shape == (2, 3, 1) and t.transpose(1, -2).shape == (3, 2)


# --- .grad memory
def test_grad_never_shares_memory():
    a, b, g = Tensor([1.0, 2.0]), Tensor([3.0, 4.0]), np.ones(2)
    (a + b).backward(g)
    assert not np.shares_memory(a.grad.array, b.grad.array)
    assert not np.shares_memory(a.grad.array, g) and not np.shares_memory(b.grad.array, g)
    c = Tensor(1.0)
    (c + Tensor(np.zeros(3))).sum().backward()                         # a broadcast view
    assert c.grad.array.flags.writeable and c.grad.array.base is None
    w = Tensor([1.0, 2.0])
    w.reshape(2, 1).reshape(2).backward(g)                             # reshape VJPs return views of g
    assert not np.shares_memory(w.grad.array, g)


# --- losses and the engine's contracts
def test_bce_with_logits_at_zero_is_sigmoid_minus_target():
    z = Tensor(np.zeros((4, 1)))
    y = np.array([0.0, 1.0, 1.0, 0.25])
    binary_cross_entropy_with_logits(z, y).backward()
    np.testing.assert_allclose(z.grad.array[:, 0], (0.5 - y) / 4)
    zs = Tensor(np.zeros(4))
    binary_cross_entropy_with_logits(zs, y, reduction='sum').backward()
    np.testing.assert_allclose(zs.grad.array, 0.5 - y)


def test_every_slot_of_a_leaf_is_set():
    t = Tensor(1.0)
    for slot in Tensor.__slots__:
        if slot != '__weakref__': getattr(t, slot)
    assert t._params == {} and t.parents == () and t.op == ''


def test_a_vjp_must_return_tensors():
    prim = Primitive('bad_vjp', np.negative, lambda g, out, x: (-g.array,))
    x = Tensor([1.0])
    with pytest.raises(TypeError, match="the VJP of 'bad_vjp' returned a ndarray"):
        apply(prim, x).sum().backward()
