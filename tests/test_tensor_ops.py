"""Every primitive of `scratchgrad.tensor.PRIMITIVES` against central finite differences (first and second order),
plus the documented conventions at kinks and ties, reflected operators, dtypes and error messages.

The last test is the meta-test: it proves that each primitive's VJP actually ran inside a gradient check that passed."""
import numpy as np
import pytest
from fastcore.test import test_fail as expect_fail

import scratchgrad.tensor as T
from scratchgrad import conv as CV   # chapter 05g's primitives are in the table too
from scratchgrad.tensor import (PRIMITIVES, Tensor, apply, broadcast_to, concatenate, cross_entropy, detect_anomaly,
                                gradients, gradcheck, identity, log_softmax, logsumexp, maximum, minimum, no_grad, softmax,
                                stack, unbroadcast, where)

rng = np.random.default_rng(0)
r = lambda *shape: rng.standard_normal(shape)
pos = lambda *shape: rng.uniform(0.5, 2.0, shape)
LABELS = np.array([0, 2, 1, 2])

# primitive name -> gradient-check cases (a function of Tensors, and where to check it); several per primitive
CASES = {
    'add': [(lambda a, b: a + b, r(3, 1), r(3, 4)), (lambda a, b: a + b, r(), r(2, 3)), (lambda a, b: 2.0 + a + b * a, r(4), r(2, 1, 4))],
    'neg': [(lambda a: -a * a, r(3)), (lambda a, b: a - b, r(2, 1), r(3))],
    'sub': [(lambda a, b: a - b, r(2, 1), r(3)), (lambda a: 1.0 - a * a, r(3)), (lambda a, b: b - a * b, r(3), r(2, 3))],
    'mul': [(lambda a, b: a * b, r(3, 1), r(1, 4)), (lambda a, b: a * b * a, r(2, 1, 3), r(3))],
    'div': [(lambda a, b: a / b, r(2, 3), pos(3)), (lambda a: 1.0 / (1.0 + a * a), r(2, 2))],
    'pow': [(lambda a, b: a ** b, pos(2, 3), r(3)), (lambda a: a ** 3, r(4)), (lambda a: 2.0 ** a, r(3)), (lambda a: a.sqrt(), pos(3))],
    'exp': [(lambda a: a.exp(), r(2, 3))],
    'log': [(lambda a: a.log(), pos(3, 2))],
    'sin': [(lambda a: a.sin(), r(4))],
    'cos': [(lambda a: a.cos() * a, r(4))],
    'sigmoid': [(lambda a: a.sigmoid(), r(5) * 3)],
    'tanh': [(lambda a: a.tanh(), r(5))],
    'relu': [(lambda a: a.relu() * a, r(6))],
    'where': [(lambda c, a: where(c.array > 0, a, c * 2), r(3, 1), r(4)), (lambda a, b: where(a.array > b.array, a * b, b), r(3), r(2, 3))],
    'maximum': [(lambda a, b: maximum(a, b) * a, r(3, 4), r(4))],
    'minimum': [(lambda a, b: minimum(a, b) * b, r(2, 1), r(3)), (lambda a, b: minimum(a, b), r(3, 4), r(4))],
    'sum': [(lambda a: a.sum(axis=(0, 2), keepdims=True) * a, r(2, 3, 4)), (lambda a: a.sum() * a.sum(axis=-1), r(2, 3)), (lambda a: a.mean(axis=0) ** 2, r(3, 2))],
    'max': [(lambda a: a.max(axis=1) * a.max(), r(3, 4)), (lambda a: a.max(axis=(0, 2), keepdims=True) ** 2, r(2, 3, 4))],
    'min': [(lambda a: a.min(axis=1) * a.min(), r(3, 4)), (lambda a: a.min(axis=(0, 2), keepdims=True) ** 2, r(2, 3, 4))],
    'reshape': [(lambda a: a.reshape(3, 4) * a.reshape(4, 3).T, r(2, 6))],
    'transpose': [(lambda a: a.transpose(2, 0, 1) * a.transpose(2, 0, 1), r(2, 3, 4)), (lambda a: a.T @ a, r(3, 2))],
    'broadcast_to': [(lambda a: broadcast_to(a, (2, 3, 4)) ** 2, r(3, 1))],
    'identity': [(lambda a: identity(a) * a, r(3))],
    'matmul': [(lambda a, b: a @ b, r(3, 4), r(4, 2)), (lambda a, b: a @ b, r(4), r(4, 2)), (lambda a, b: a @ b, r(2, 3, 4), r(4)),
               (lambda a, b: a @ b, r(4), r(4)), (lambda a, b: a @ b, r(2, 1, 3, 4), r(5, 4, 2)), (lambda a: a @ a @ a, r(3, 3))],
    'matmul_nt': [(lambda a, b: T.apply('matmul_nt', a, b), r(3, 4), r(2, 4)), (lambda a: T.apply('matmul_nt', a, a * a), r(2, 3))],
    'matmul_tn': [(lambda a, b: T.apply('matmul_tn', a, b), r(4, 3), r(4, 2)), (lambda a: T.apply('matmul_tn', a * a, a), r(3, 2))],
    'getitem': [(lambda a: a[1:, ::2] * a[:2, 1:3], r(3, 4)), (lambda a: a[a.array > 0] ** 2, r(3, 4)), (lambda a: a[..., None, 1] * a[0], r(3, 4))],
    'scatter_add': [(lambda a: a[np.array([0, 2, 0])] ** 2, r(3, 4)), (lambda a: a[np.array([1, 1]), np.array([0, 0])] ** 3, r(2, 2))],
    'concatenate': [(lambda a, b: concatenate([a, b * b], axis=1), r(2, 3), r(2, 2)), (lambda a, b: stack([a, a * b], axis=-1), r(2, 3), r(2, 3))],
    'logsumexp': [(lambda a: logsumexp(a, axis=1) * logsumexp(a), r(3, 4)), (lambda a: logsumexp(a, axis=(0, 1), keepdims=True) * a, r(2, 2, 2))],
    'log_softmax': [(lambda a: log_softmax(a) * a, r(3, 4)), (lambda a: softmax(a, axis=0), r(3, 4))],
    'cross_entropy': [(lambda z: cross_entropy(z, LABELS), r(4, 3)), (lambda z: cross_entropy(z * z, LABELS, reduction='none') * cross_entropy(z, LABELS), r(4, 3))],
    'softplus': [(lambda a: T.softplus(a) * T.log_sigmoid(a), r(5) * 3), (lambda z: T.binary_cross_entropy_with_logits(z, np.array([[0.0], [1.0], [0.3]])), r(3, 1))],
    'astype': [(lambda a: T.astype(a * a, np.float32).sum() * a, r(3))],
    'conv2d': [(lambda x, w: CV.conv2d(x, w, stride=2, padding=1) ** 2, r(1, 2, 5, 5), r(2, 2, 3, 3))],
    'conv2d_input_grad': [(lambda g, w: CV.conv2d_input_grad(g * g, w, stride=2, padding=1, size=(5, 5)), r(2, 3, 3, 3), r(3, 2, 2, 2))],
    'conv2d_weight_grad': [(lambda x, g: CV.conv2d_weight_grad(x * x, g, stride=2, kernel=(3, 3)), r(2, 2, 7, 8), r(2, 3, 3, 3))],
    'max_pool2d': [(lambda x: CV.max_pool2d(x * x, 2) ** 2, r(2, 2, 5, 5))],
    'avg_pool2d': [(lambda x: CV.avg_pool2d(x, 3, stride=2) ** 2, r(1, 2, 6, 6))],
}

for _f, *_ in CASES['astype']: _f.loose = True
RAN = set()      # primitives whose VJP ran inside a gradcheck that passed, during this test session


LOOSE = {'astype'}   # a float32 round trip inside: finite differences need a larger step and tolerance


def check_case(f, *xs, order=2):
    "gradcheck `f` and add the names of the VJPs that ran in it to RAN."
    saved = set(T.GRADCHECKED)
    T.GRADCHECKED.clear()
    loose = dict(eps=1e-3, rtol=1e-3, atol=1e-3) if getattr(f, 'loose', False) else {}
    try:
        assert gradcheck(f, *xs, order=order, **loose)
        RAN.update(T.GRADCHECKED)
    finally:
        T.GRADCHECKED.update(saved)


@pytest.mark.parametrize('name,i', [(n, i) for n, cs in CASES.items() for i in range(len(cs))])
def test_gradcheck_primitive(name, i):
    f, *xs = CASES[name][i]
    check_case(f, *xs, order=2)


@pytest.mark.parametrize('f,x', [(lambda x: x.tanh(), 0.3), (lambda x: x.sin() * x.exp(), 0.7), (lambda x: x[np.array([0, 0])] ** 3, [0.5, 2.0]),
                                 (lambda x: cross_entropy(x.reshape(2, 2), np.array([1, 0])), [0.1, 0.5, -0.3, 0.2])])
def test_third_order(f, x):
    check_case(f, np.atleast_1d(np.array(x, dtype=float)), order=3)


def test_reflected_operators_match_numpy():
    a, b = r(3), pos(3)
    t = Tensor(b)
    for got, want in [(2.0 - t, 2.0 - b), (2.0 / t, 2.0 / b), (2.0 ** t, 2.0 ** b), (a + t, a + b), (a - t, a - b),
                      (a * t, a * b), (a / t, a / b), (r(2, 3) @ t, None), (t - 2.0, b - 2.0), (-t, -b)]:
        assert isinstance(got, Tensor)
        if want is not None: np.testing.assert_allclose(got.array, want)


def test_kink_conventions():
    x = Tensor([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(gradients(x.relu().sum(), x).array, [0, 0, 1])          # relu'(0) = 0
    np.testing.assert_array_equal(gradients(x.abs().sum(), x).array, [-1, 0, 1])          # abs'(0) = 0
    a, b = Tensor([1.0, 5.0, 0.0]), Tensor([1.0, 2.0, 3.0])
    ga, gb = gradients(maximum(a, b).sum(), [a, b])
    np.testing.assert_array_equal(ga.array, [0.5, 1, 0]); np.testing.assert_array_equal(gb.array, [0.5, 0, 1])
    m = Tensor([[3.0, 1.0, 3.0, 3.0], [0.0, 2.0, 2.0, -1.0]])
    np.testing.assert_allclose(gradients(m.max(axis=1).sum(), m).array, [[1/3, 0, 1/3, 1/3], [0, .5, .5, 0]])
    np.testing.assert_allclose(gradients(m.max(), m).array, [[1/3, 0, 1/3, 1/3], [0, 0, 0, 0]])
    base, e = Tensor([-2.0, 0.0, 3.0]), Tensor([2.0, 2.0, 2.0])
    np.testing.assert_allclose(gradients((base ** e).sum(), e).array, [np.nan, 0, 9 * np.log(3)])   # nan where base < 0, as PyTorch/JAX


def test_unbroadcast_rule():
    g = Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_allclose(unbroadcast(g, (3, 1)).array, g.array.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_allclose(unbroadcast(g, (4,)).array, g.array.sum(axis=(0, 1)))
    np.testing.assert_allclose(unbroadcast(g, ()).array, g.array.sum())
    np.testing.assert_allclose(unbroadcast(g, (1, 3, 1)).array, g.array.sum(axis=(0, 2), keepdims=True))
    assert unbroadcast(g, (2, 3, 4)) is g
    expect_fail(lambda: unbroadcast(g, (2, 4)), contains='is not a broadcast of (2, 4)')


def test_dtypes():
    assert Tensor([1, 2, 3]).dtype == np.float64                       # integers promoted for differentiation
    assert Tensor([True, False]).dtype == np.float64
    assert Tensor([1, 2], requires_grad=False).dtype.kind == 'i'       # constants keep their dtype
    x32 = Tensor(np.ones((2, 3), np.float32))
    for y in [x32 * 2, 2 * x32, x32 + 1, x32 / 3, x32 ** 2, x32.mean(), x32.relu(), x32.sigmoid(), softmax(x32),
              logsumexp(x32, axis=1), x32 @ np.ones((3, 2), np.float32), cross_entropy(x32, np.array([0, 2]))]:
        assert y.dtype == np.float32, y
    (g,) = gradients(cross_entropy(x32, np.array([0, 2])), [x32])
    assert g.dtype == np.float32


def test_bad_input_messages():
    expect_fail(lambda: Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 6))), contains='shapes (3, 4) and (5, 6)')
    expect_fail(lambda: Tensor(np.ones(3)) @ np.ones(4), contains="shapes (3,) and (4,)")
    expect_fail(lambda: Tensor(np.ones(3)) + np.ones(4), contains='shapes (3,) (4,)')
    expect_fail(lambda: Tensor(np.ones((2, 3))) * Tensor(np.ones((3, 2))), contains='(2,3) (3,2)')
    expect_fail(lambda: where(np.ones(3, bool), Tensor(np.ones(2)), 0.0), contains='where')
    v = Tensor([1.0, 2.0]) * 2
    expect_fail(lambda: v.backward(), contains='pass grad=<an array of shape (2,)>')
    expect_fail(lambda: v.backward(np.ones(3)), contains='grad has shape (3,) but the output has shape (2,)')
    expect_fail(lambda: gradients(v, Tensor(1.0), grad_outputs=np.ones((2, 1))), contains='grad has shape (2, 1)')
    expect_fail(lambda: Tensor(['a']), contains='cannot differentiate data of dtype')
    expect_fail(lambda: Tensor(1.0) + 'a', contains='cannot use an object of type str')
    expect_fail(lambda: Tensor(1.0) + [Tensor(1.0), 2.0], contains='use stack(...)')
    expect_fail(lambda: apply('cosh', Tensor(1.0)), contains="no primitive named 'cosh'")
    expect_fail(lambda: Tensor(np.ones(6)).reshape(4, 2), contains='cannot reshape (6,)')
    expect_fail(lambda: Tensor(np.ones((2, 3))).transpose(0, 0), contains='repeated axis')
    expect_fail(lambda: Tensor(np.ones(3)).sum(axis=2), contains='axis 2 is out of bounds')
    expect_fail(lambda: cross_entropy(Tensor(np.ones((2, 3))), [0, 3]), contains='labels must be class indices 0..2')
    expect_fail(lambda: cross_entropy(Tensor(np.ones((2, 3))), [0.0, 1.0]), contains='integer class labels')
    expect_fail(lambda: cross_entropy(Tensor(np.ones(3)), [0]), contains='logits must have shape (batch, classes)')
    expect_fail(lambda: gradients(Tensor(1.0) * 2, Tensor(1.0, requires_grad=False)), contains='does not require a gradient')
    expect_fail(lambda: (Tensor(1.0, requires_grad=False) * 2).backward(), contains='does not require a gradient')


def test_detect_anomaly_names_the_op():
    x = Tensor([1.0, 0.0])
    with detect_anomaly(), np.errstate(all='ignore'):
        expect_fail(lambda: x.log(), contains="op 'log' produced inf")
        expect_fail(lambda: (x - 1.0).sqrt() * 0, contains="op 'pow' produced NaN")
        y = (x * x).sqrt()
        expect_fail(lambda: y.sum().backward(), contains="inside the VJP of 'pow'")
    with np.errstate(all='ignore'): assert np.isinf(x.log().array[1])   # off outside the context


def test_anomaly_flag_restored_after_error():
    with pytest.raises(FloatingPointError), detect_anomaly(), np.errstate(all='ignore'):
        Tensor([0.0]).log()
    assert T._state.anomaly is False


def test_every_primitive_has_a_gradient_test_that_ran():
    "The meta-test: each primitive has cases above, and its VJP ran inside a passing gradcheck."
    missing_cases = set(PRIMITIVES) - set(CASES)
    assert not missing_cases, f"primitives without gradient-check cases: {sorted(missing_cases)}"
    for name in set(PRIMITIVES) - RAN:           # cases not run yet in this session (e.g. under -k): run them now
        for f, *xs in CASES[name]: check_case(f, *xs, order=2)
    assert set(PRIMITIVES) <= RAN, f"VJPs never exercised by a gradient check: {sorted(set(PRIMITIVES) - RAN)}"


def test_meta_test_can_fail(monkeypatch):
    "A primitive without gradient-check cases must make the meta-test fail."
    monkeypatch.setitem(PRIMITIVES, 'untested_op', T.Primitive('untested_op', np.negative, lambda g, out, x: (-g,)))
    with pytest.raises(AssertionError, match='untested_op'):
        test_every_primitive_has_a_gradient_test_that_ran()
