"""Tests that kill the mutants of tools/mutate.py that the rest of the suite let survive: the gradient checkers must
fail on a wrong derivative (a checker that cannot fail passes every other test), and a few engine guarantees that were
only ever exercised on the happy path (a leaf read by two graphs, a mean over several axes, a mis-shaped cotangent)."""
import numpy as np
import pytest

from scratchgrad.backprop import check_gradient
from scratchgrad.tensor import PRIMITIVES, Primitive, Tensor, apply, gradients, gradcheck, unbroadcast
from scratchgrad.variable import Variable

rng = np.random.default_rng(0)


def prim(name, forward, vjp):
    "A primitive used through `apply` directly: never registered, so it cannot leak into PRIMITIVES."
    return Primitive(name, forward, vjp)


# --- gradcheck (scratchgrad.tensor) must raise when a VJP is wrong, at order 1 and at order 2
SQUARE_HALF = prim('square_half', np.square, lambda g, out, x: (g * x,))           # forgot the 2: off by a factor 2
SQUARE_NEG = prim('square_neg', np.square, lambda g, out, x: (-2.0 * g * x,))      # sign flipped
SQUARE_CLOSE = prim('square_close', np.square, lambda g, out, x: (2.001 * g * x,)) # 0.05% off: beyond rtol=1e-5
SQUARE_OK = prim('square_ok', np.square, lambda g, out, x: (2.0 * g * x,))


@pytest.mark.parametrize('p', [SQUARE_HALF, SQUARE_NEG, SQUARE_CLOSE], ids=lambda p: p.name)
def test_gradcheck_rejects_a_wrong_vjp_at_order_1(p):
    x = rng.uniform(0.5, 2.0, (2, 3))
    assert gradcheck(lambda t: apply(SQUARE_OK, t), x)                  # the right VJP passes ...
    with pytest.raises(AssertionError, match=r'input 0\b.*finite differences'):
        gradcheck(lambda t: apply(p, t), x)                            # ... the wrong ones are caught


def test_gradcheck_checks_every_input():
    "Only the second input's cotangent is wrong; the message names input 1."
    mul_b_wrong = prim('mul_b_wrong', np.multiply, lambda g, out, a, b: (g * b, g * b))
    with pytest.raises(AssertionError, match=r'input 1\b'):
        gradcheck(lambda a, b: apply(mul_b_wrong, a, b), rng.standard_normal(3), rng.standard_normal(3) + 3.0)


def test_gradcheck_catches_a_wrong_vjp_in_the_table(monkeypatch):
    "The same through PRIMITIVES: mul's VJP with its operands swapped (restored by monkeypatch after the test)."
    swapped = lambda g, out, a, b: (unbroadcast(g * a, a.shape), unbroadcast(g * b, b.shape))
    monkeypatch.setattr(PRIMITIVES['mul'], 'vjp', swapped)
    with pytest.raises(AssertionError, match='finite differences'):
        gradcheck(lambda a, b: a * b, rng.standard_normal((2, 3)), rng.standard_normal(3))


# sin whose VJP reads cos(x) as a constant array: right at order 1, but the recorded backward pass does not depend on x
SIN_FROZEN = prim('sin_frozen', np.sin, lambda g, out, x: (g * Tensor(np.cos(x.array), requires_grad=False),))


def test_gradcheck_order_2_rejects_a_vjp_that_is_right_only_at_order_1():
    x = rng.standard_normal(4)
    assert gradcheck(lambda t: apply(SIN_FROZEN, t), x, order=1)
    with pytest.raises(AssertionError, match='disagrees with finite differences'):
        gradcheck(lambda t: apply(SIN_FROZEN, t), x, order=2)
    assert gradcheck(lambda t: t.sin(), x, order=2)                    # the table's sin is right at both orders


# --- check_gradient (scalar, scratchgrad.backprop) must raise when a local gradient is wrong
def square_half(x):
    return Variable(x.value ** 2, local_grad=[(x, x.value)])          # d(x^2)/dx recorded as x instead of 2x


def mul_b_wrong(a, b):
    return Variable(a.value * b.value, local_grad=[(a, b.value), (b, -a.value)])   # d/db with the wrong sign


def test_check_gradient_rejects_a_wrong_local_gradient():
    assert check_gradient(lambda x: x * x, [1.5]) < 1e-6
    with pytest.raises(AssertionError, match=r'input 0\b.*square_half'):
        check_gradient(square_half, [1.5])


def test_check_gradient_checks_every_input():
    assert check_gradient(lambda a, b: a * b, [1.5, -0.5]) < 1e-6
    with pytest.raises(AssertionError, match=r'input 1\b.*mul_b_wrong'):
        check_gradient(mul_b_wrong, [1.5, -0.5])


# --- read-only holds: a leaf read by two recorded graphs stays read-only until both are gone
def test_a_leaf_read_by_two_graphs_stays_read_only_until_both_are_released():
    w = Tensor([1.0, 2.0])
    y1, y2 = (w * 2.0).sum(), (w * w).sum()
    y1.backward()                                                     # releases the first graph only
    with pytest.raises(ValueError, match='read-only'):
        w.array[0] = 5.0                                              # the second graph still reads w
    y2.backward()
    np.testing.assert_array_equal(w.grad.array, [2 + 2 * 1.0, 2 + 2 * 2.0])
    w.array[0] = 5.0                                                  # both released: writeable again


# --- mean over several axes: value and gradient against numpy (gradcheck alone cannot see a wrong count:
# a wrong forward and its matching VJP agree with each other's finite differences)
@pytest.mark.parametrize('axis', [None, 0, (0, 2), (1, 2), (-1, 0), (0, 1, 2)])
@pytest.mark.parametrize('keepdims', [False, True])
def test_mean_over_several_axes_matches_numpy(axis, keepdims):
    a = rng.standard_normal((2, 3, 4))
    x = Tensor(a)
    m = x.mean(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(m.array, a.mean(axis=axis, keepdims=keepdims), rtol=1e-12)
    count = a.size // np.asarray(a.mean(axis=axis, keepdims=True)).size
    np.testing.assert_allclose(gradients(m.sum(), x).array, np.full(a.shape, 1.0 / count), rtol=1e-12)


# --- a VJP that returns a cotangent of the wrong shape is named, not passed on
def test_a_mis_shaped_cotangent_is_refused_naming_the_vjp():
    summing = prim('forgot_unbroadcast', lambda x: x.copy(), lambda g, out, x: (g.sum(),))
    x = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"'forgot_unbroadcast'.*shape \(\).*shape \(3,\)"):
        apply(summing, x).sum().backward()
    assert x.grad is None
    with pytest.raises(RuntimeError, match='forgot_unbroadcast'):
        gradients(apply(summing, x).sum(), x)


def test_finite_differences_of_the_checkers_are_central_in_float64():
    "The reference itself: gradcheck's numeric gradient of sin is cos to ~1e-10 (a one-sided or float32 one is not)."
    x = np.array([0.3, 1.1])
    assert gradcheck(lambda t: t.sin(), x, rtol=1e-9, atol=1e-9)
    assert check_gradient(lambda v: v.tanh(), [0.3], rtol=1e-9) < 1e-9
