"""The speed-ups of chapter 04c give the same answers as the plain VJPs they replace, at every order, and the table
refuses a different primitive under a taken name (while a re-run or a replaced VJP is fine)."""
import numpy as np
import pytest

import scratchgrad  # noqa: F401  (the package's __init__ installs chapter 04c's VJPs)
from scratchgrad import fast
from scratchgrad.tensor import PRIMITIVES, Tensor, cross_entropy, defprim, grad, gradcheck, no_grad, _cross_entropy_vjp

rng = np.random.default_rng(7)


@pytest.fixture
def plain_ce():
    "Install chapter 04b's cross-entropy VJP for the test, and chapter 04c's again after it."
    PRIMITIVES['cross_entropy'].vjp = _cross_entropy_vjp
    yield
    PRIMITIVES['cross_entropy'].vjp = fast.cross_entropy_vjp


def test_the_package_installs_the_kept_residual_vjp():
    assert PRIMITIVES['cross_entropy'].vjp is fast.cross_entropy_vjp
    assert PRIMITIVES['matmul'].vjp is fast.matmul_vjp


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_kept_log_probabilities_give_chapter_04bs_gradient(reduction, dtype, plain_ce):
    z, y = rng.standard_normal((7, 5)).astype(dtype), rng.integers(0, 5, 7)
    w = np.arange(1.0, 8.0) if reduction == 'none' else 1.0
    def gradient():
        zt = Tensor(z)
        g = grad((cross_entropy(zt, y, reduction=reduction) * w).sum(), zt)
        assert g.dtype == dtype
        return g.array
    plain_g = gradient()
    PRIMITIVES['cross_entropy'].vjp = fast.cross_entropy_vjp
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
        g = grad(cross_entropy(zt, y), zt, create_graph=True)
        return grad((g * v).sum(), zt).array
    plain = hvp()
    PRIMITIVES['cross_entropy'].vjp = fast.cross_entropy_vjp
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
        with pytest.raises(ValueError, match="different primitive named 'cross_entropy'"):
            defprim('cross_entropy', np.negative, lambda g, out, x: (-g,))
        assert PRIMITIVES['cross_entropy'].vjp is fast.cross_entropy_vjp          # untouched by the refusal
    finally:
        del PRIMITIVES['_test_twice']
