"""The speed-ups of chapter 04d give the same answers as the plain VJPs they stand beside, at every order; they are an
explicit registration (the plain VJP stays reachable, re-running a `defprim` keeps the faster one installed, import order
changes nothing); and the table refuses a different primitive under a taken name (while a re-run is fine)."""
import subprocess, sys
import numpy as np
import pytest

import scratchgrad  # noqa: F401  (the package's __init__ turns chapter 04d's VJPs on)
from scratchgrad import fast
from scratchgrad.tensor import PRIMITIVES, Tensor, cross_entropy, defprim, gradients, gradcheck, no_grad, _cross_entropy_vjp
from scratchgrad.ops import _matmul_vjp

rng = np.random.default_rng(7)


@pytest.fixture
def plain_ce():
    "Run chapter 04c's cross-entropy VJP for the test, and chapter 04d's again after it."
    fast.use_faster_vjp('cross_entropy', False)
    yield
    fast.use_faster_vjp('cross_entropy', True)


def test_the_package_turns_the_faster_vjps_on_and_keeps_the_plain_ones():
    assert PRIMITIVES['cross_entropy'].vjp is fast.cross_entropy_vjp
    assert PRIMITIVES['matmul'].vjp is fast.matmul_vjp
    assert PRIMITIVES['cross_entropy'].plain_vjp is _cross_entropy_vjp
    assert PRIMITIVES['matmul'].plain_vjp is _matmul_vjp
    assert set(fast.FASTER) == {'matmul', 'cross_entropy'}


def test_use_faster_vjps_switches_every_entry_both_ways():
    try:
        fast.use_faster_vjps(False)
        assert all(p.vjp is p.plain_vjp for p in PRIMITIVES.values())
        fast.use_faster_vjps(True)
        assert all(PRIMITIVES[n].vjp is v for n, v in fast.FASTER.items())
    finally:
        fast.use_faster_vjps(True)


@pytest.mark.parametrize('faster', [False, True])
def test_both_matmul_vjps_pass_gradcheck_on_purpose(faster):
    try:
        fast.use_faster_vjp('matmul', faster)
        assert PRIMITIVES['matmul'].vjp is (fast.matmul_vjp if faster else _matmul_vjp)
        r = lambda *s: rng.standard_normal(s)
        assert gradcheck(lambda a, b: a @ b, r(3, 4), r(4, 2), order=2)
        assert gradcheck(lambda a, b: a @ b, r(2, 3, 4), r(4), order=2)
    finally:
        fast.use_faster_vjp('matmul', True)


@pytest.mark.parametrize('order', ['import scratchgrad.tensor, scratchgrad.fast',
                                   'import scratchgrad.fast, scratchgrad.tensor',
                                   'import scratchgrad.engine', 'import scratchgrad.numpy'])
def test_which_vjp_runs_does_not_depend_on_import_order(order):
    code = (f"{order}\nfrom scratchgrad.engine import PRIMITIVES as P\n"
            "print(P['matmul'].vjp.__module__, P['cross_entropy'].vjp.__module__)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ['scratchgrad.fast', 'scratchgrad.fast']


def test_redefining_a_primitive_keeps_its_faster_vjp_installed():
    prim = PRIMITIVES['cross_entropy']
    defprim('cross_entropy', prim.forward, _cross_entropy_vjp)      # chapter 04c's cell run again
    assert PRIMITIVES['cross_entropy'].vjp is fast.cross_entropy_vjp
    assert PRIMITIVES['cross_entropy'].plain_vjp is _cross_entropy_vjp


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_kept_log_probabilities_give_chapter_04cs_gradient(reduction, dtype, plain_ce):
    z, y = rng.standard_normal((7, 5)).astype(dtype), rng.integers(0, 5, 7)
    w = np.arange(1.0, 8.0) if reduction == 'none' else 1.0
    def gradient():
        zt = Tensor(z)
        g = gradients((cross_entropy(zt, y, reduction=reduction) * w).sum(), zt)
        assert g.dtype == dtype
        return g.array
    plain_g = gradient()
    fast.use_faster_vjp('cross_entropy', True)
    fast_g = gradient()
    np.testing.assert_allclose(fast_g, plain_g, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)
    p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)   # softmax - onehot, by hand
    p[np.arange(7), y] -= 1
    scale = {'mean': 1 / 7, 'sum': 1.0, 'none': np.arange(1.0, 8.0)[:, None]}[reduction]
    np.testing.assert_allclose(fast_g, p * scale, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_second_order_through_the_cross_entropy_matches_finite_differences(reduction):
    z, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    assert gradcheck(lambda z: cross_entropy(z, y, reduction=reduction), z, order=2)
    assert gradcheck(lambda z: cross_entropy(z, y, reduction=reduction), z, order=3)


def test_hessian_vector_product_is_the_same_with_either_vjp(plain_ce):
    z, y, v = rng.standard_normal((5, 4)), rng.integers(0, 4, 5), rng.standard_normal((5, 4))
    def hvp():
        zt = Tensor(z)
        g = gradients(cross_entropy(zt, y), zt, create_graph=True)
        return gradients((g * v).sum(), zt).array
    plain = hvp()
    fast.use_faster_vjp('cross_entropy', True)
    np.testing.assert_allclose(hvp(), plain, rtol=1e-12, atol=1e-14)
    assert np.abs(plain).max() > 1e-3          # (a Hessian that is not zero: the check can fail)


def test_two_passes_over_a_retained_graph_give_the_same_gradient():
    zt = Tensor(rng.standard_normal((6, 3)))
    loss = cross_entropy(zt, rng.integers(0, 3, 6))
    loss.backward(retain_graph=True)
    first = zt.grad.array.copy()
    loss.backward()                              # the kept log-probabilities were read, not changed
    np.testing.assert_allclose(zt.grad.array, 2 * first, rtol=1e-14)


def test_the_kept_values_go_with_the_graph():
    zt = Tensor(rng.standard_normal((3, 2)))
    loss = cross_entropy(zt, [0, 1, 1])
    assert 'log_softmax' in loss._params['saved']
    loss.backward()
    assert loss._params == {}                    # released with the graph


def test_cross_entropy_under_no_grad_records_nothing():
    zt = Tensor(rng.standard_normal((3, 2)))
    with no_grad(): loss = cross_entropy(zt, [0, 1, 1])
    assert not loss.requires_grad and loss._params == {}


def test_defprim_refuses_a_different_primitive_under_a_taken_name():
    defprim('_test_twice', lambda x: 2 * x, lambda g, out, x: (2 * g,))
    try:
        defprim('_test_twice', lambda x: 2 * x, lambda g, out, x: (2 * g,))       # a re-run: fine
        defprim('_test_twice', lambda x: 2 * x, lambda g, out, x: (g + g,))       # a new VJP for it: replaces it
        assert PRIMITIVES['_test_twice'].vjp(Tensor(3.0), None, None)[0].item() == 6.0
        with pytest.raises(ValueError, match="different primitive named '_test_twice'"):
            defprim('_test_twice', np.negative, lambda g, out, x: (-g,))
        with pytest.raises(ValueError, match="different primitive named '_test_twice'"):
            defprim('_test_twice', lambda x: 3 * x, lambda g, out, x: (3 * g,))   # another lambda: refused too
        with pytest.raises(ValueError, match="different primitive named 'relu'"):
            defprim('relu', lambda x: np.minimum(x, 0), lambda g, out, x: (g,))
        with pytest.raises(ValueError, match="different primitive named 'cross_entropy'"):
            defprim('cross_entropy', np.negative, lambda g, out, x: (-g,))
        assert PRIMITIVES['cross_entropy'].vjp is fast.cross_entropy_vjp          # untouched by the refusal
    finally:
        del PRIMITIVES['_test_twice']
