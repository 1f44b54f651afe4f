"""scratchgrad.numpy (snp): every function's gradient and JVP against central differences under broadcasting,
second derivatives, numpy's dispatch protocols on boxes, and plain-numpy behaviour on untraced values."""
import itertools
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scratchgrad import numpy as snp
from scratchgrad.numpy import Box
from scratchgrad.autograd import grad, jvp, hessian

SHAPES = [(), (2,), (3, 2), (1, 2), (3, 1)]      # every pair of these broadcasts (autograd's grid, plus (3,1))


def numerical_gradient(s, args, k, h=1e-6):
    "Central differences of scalar `s` with respect to argument `k`, entry by entry (float64)."
    x = np.array(args[k], dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (s(*args[:k], up, *args[k + 1:]) - s(*args[:k], down, *args[k + 1:])) / (2 * h)
    return g


def check(fn, *args, rtol=1e-6, atol=1e-7, seed=0):
    "grad of <u, fn(*args)> for every float argument, and jvp for the first, against central differences."
    u = np.random.default_rng(seed).standard_normal(np.shape(fn(*args)))

    def s(*a): return snp.sum(snp.multiply(u, fn(*a)))
    for k, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.dtype.kind == 'f':
            g = grad(s, k)(*args)
            assert np.shape(g) == np.shape(a)
            np.testing.assert_allclose(g, numerical_gradient(s, args, k), rtol=rtol, atol=atol)
    v = np.random.default_rng(seed + 1).standard_normal(np.shape(args[0]))
    h = 1e-6
    fd = (fn(args[0] + h * v, *args[1:]) - fn(args[0] - h * v, *args[1:])) / (2 * h)
    np.testing.assert_allclose(jvp(fn, 0)(*args, v)[1], fd, rtol=rtol, atol=atol)


def arr(shape, rng, low=None, high=None):
    if low is not None: return rng.uniform(low, high, shape)
    return rng.standard_normal(shape)


BINARY = {   # name: (function, domain of x, domain of y)
    'add': (snp.add, None, None), 'subtract': (snp.subtract, None, None), 'multiply': (snp.multiply, None, None),
    'divide': (snp.divide, None, (0.5, 2.0)), 'power': (snp.power, (0.5, 2.0), None),
    'maximum': (snp.maximum, None, None), 'minimum': (snp.minimum, None, None),
}


@pytest.mark.parametrize('name', sorted(BINARY))
def test_binary_broadcast_grid(name):
    fn, dx, dy = BINARY[name]
    rng = np.random.default_rng(0)
    for sx, sy in itertools.product(SHAPES, SHAPES):
        x = np.asarray(arr(sx, rng, *(dx or (None, None))), dtype=np.float64)
        y = np.asarray(arr(sy, rng, *(dy or (None, None))), dtype=np.float64)
        if name in ('maximum', 'minimum'):   # keep away from ties (their convention is tested separately)
            y = y + 0.05 * np.sign(y - np.mean(x) + 1e-3)
            if np.min(np.abs(np.subtract(x, y))) < 1e-3: continue
        check(fn, x, y)


UNARY = {   # name: (function, domain)
    'negative': (snp.negative, None), 'square': (snp.square, None), 'exp': (snp.exp, None), 'log': (snp.log, (0.3, 3)),
    'sqrt': (snp.sqrt, (0.3, 3)), 'tanh': (snp.tanh, None), 'sigmoid': (snp.sigmoid, None), 'sin': (snp.sin, None),
    'cos': (snp.cos, None), 'abs': (snp.abs, 'away'),
    'sum': (snp.sum, None), 'mean': (snp.mean, None), 'max': (snp.max, 'distinct'), 'logsumexp': (snp.logsumexp, None),
    'transpose': (snp.transpose, None), 'min': (snp.min, 'distinct'), 'var': (snp.var, None),
    'std': (snp.std, 'nonconstant'), 'clip': (lambda x: snp.clip(x, -0.5, 0.5), None),
}


@pytest.mark.parametrize('name', sorted(UNARY))
@pytest.mark.parametrize('shape', [(), (3,), (3, 2), (2, 1, 3)])
def test_unary(name, shape):
    fn, dom = UNARY[name]
    if dom == 'nonconstant' and int(np.prod(shape)) < 2: pytest.skip('std of one number is 0, where sqrt has no derivative')
    rng = np.random.default_rng(1)
    if dom == 'away': x = np.sign(rng.standard_normal(shape)) * rng.uniform(0.2, 2.0, shape)
    elif dom == 'distinct': x = rng.permutation(np.arange(int(np.prod(shape)), dtype=float)).reshape(shape) * 0.3
    elif dom in (None, 'nonconstant'): x = rng.standard_normal(shape)
    else: x = rng.uniform(*dom, shape)
    check(fn, np.asarray(x, dtype=np.float64))


@pytest.mark.parametrize('axis', [None, 0, -1, (0, 2), (1,)])
@pytest.mark.parametrize('keepdims', [False, True])
@pytest.mark.parametrize('name', ['sum', 'mean', 'max', 'min', 'var', 'logsumexp'])
def test_reductions_axes(name, axis, keepdims):
    fn = getattr(snp, name)
    x = np.random.default_rng(2).permutation(24).reshape(2, 3, 4) * 0.1
    check(lambda a: fn(a, axis=axis, keepdims=keepdims), x)


def test_shape_functions():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    check(lambda a: snp.reshape(a, (4, -1)), x)
    check(lambda a: snp.transpose(a, (2, 0, 1)), x)
    check(lambda a: snp.transpose(a, (-1, 0, 1)), x)
    check(lambda a: snp.broadcast_to(a, (5, 3, 4)), x[0, :, :1])
    check(lambda a: snp.expand_dims(a, -2), x)
    check(lambda a: a[:, [0, 2, 2], 1:], x)                       # repeated integer index: cotangents add up
    check(lambda a: a[a > 0], x)                                  # boolean mask
    check(lambda a, b: snp.concatenate([a, b, a], axis=-1), x, y)
    check(lambda a, b: snp.stack([a, b], axis=-1), x, y)
    check(lambda a, b: snp.stack([a, b]), x, y)
    check(lambda a, b: snp.where(x > 0, a, b), x, y[0])
    check(lambda a: snp.log_softmax(a, axis=1), x)
    check(lambda a: snp.softmax(a), x)


@pytest.mark.parametrize('sa,sb', [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                                   ((5, 2, 3), (1, 3, 4))])
def test_matmul_and_dot(sa, sb):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check(snp.matmul, a, b)
    check(lambda x, y: x @ y, a, b)
    if len(sb) <= 2:
        check(snp.dot, a, b)
        np.testing.assert_allclose(snp.dot(a, b), np.dot(a, b))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(SHAPES), st.sampled_from(SHAPES), st.integers(0, 10_000))
def test_random_expressions_second_order(sx, sy, seed):
    "A random composite of several snp functions: first derivatives and Hessian-vector products vs differences."
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(sx), rng.uniform(0.5, 1.5, sy)

    def f(a, b):
        return snp.sum(snp.tanh(a * b) * snp.exp(-a * a) + snp.sin(a) / b + snp.sqrt(b) * snp.cos(a * 0.5) ** 2)
    check(lambda a, b: snp.stack([f(a, b), f(0.5 * a, b + 1.0)]), x, y)
    # second order: the gradient of grad-dot-v equals the difference of gradients
    v = rng.standard_normal(sx)
    g = grad(f)
    h = 1e-5
    fd = (np.asarray(g(x + h * v, y)) - np.asarray(g(x - h * v, y))) / (2 * h)
    hv = grad(lambda a: snp.sum(snp.multiply(g(a, y), v)))(x)
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-6)


def test_numpy_protocols_dispatch_and_refuse():
    x = np.random.default_rng(5).standard_normal((3, 2))

    def f(a):
        return np.sum(np.tanh(a) * x) + np.dot(np.exp(a).T, x)[0, 1] + np.mean(np.maximum(a, 0.1)) + np.max(np.abs(a))
    check(f, x)
    g = grad(lambda a: np.sum(np.concatenate([a, np.where(a > 0, a, 0.0)])))(x)
    np.testing.assert_allclose(g, 1 + (x > 0))
    for bad, name in [(np.cumsum, 'cumsum'), (np.arctan, 'arctan'), (np.linalg.norm, 'norm'), (np.prod, 'prod')]:
        with pytest.raises(TypeError, match=f'numpy.{name}.*snp'):
            grad(lambda a: np.sum(bad(a)))(x)
    with pytest.raises(TypeError, match='cannot turn a traced value'):
        grad(lambda a: np.sum(np.array(a)))(x)
    with pytest.raises(TypeError, match='cannot turn a traced value'):
        grad(lambda a: float(np.asarray(a).sum()))(1.0)


def test_untraced_snp_is_plain_numpy():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert snp.exp(2.0) == np.exp(2.0)
    np.testing.assert_array_equal(snp.maximum(x, 0.0), np.maximum(x, 0.0))
    np.testing.assert_array_equal(snp.sum(x, axis=-1), x.sum(-1))
    assert isinstance(snp.add(x, 1), np.ndarray)
    assert not isinstance(snp.tanh(x), Box)


def test_box_operators_keep_operand_order():
    x = np.array([0.5, 2.0])
    for fn, dfn in [(lambda a: 3.0 - a, lambda a: -np.ones_like(a)), (lambda a: 3.0 / a, lambda a: -3.0 / a**2),
                    (lambda a: 2.0 ** a, lambda a: np.log(2.0) * 2.0 ** a), (lambda a: a ** 3.0, lambda a: 3 * a**2),
                    (lambda a: np.ones(2) - a, lambda a: -np.ones_like(a)), (lambda a: -a + a, lambda a: 0 * a)]:
        np.testing.assert_allclose(grad(lambda a: np.sum(fn(a)))(x), dfn(x), rtol=1e-12)


def test_kink_conventions():
    assert grad(np.abs)(0.0) == 0.0
    assert grad(np.maximum, (0, 1))(2.0, 2.0) == (0.5, 0.5)
    np.testing.assert_array_equal(grad(np.max)(np.array([1.0, 4.0, 4.0, 4.0])), [0, 1 / 3, 1 / 3, 1 / 3])
    assert hessian(np.abs)(1.5) == 0.0


# --- numpy keywords and Python numbers on traced values (issue 12)
def test_numpy_keywords_on_traced_values():
    import math
    from scratchgrad.autograd import grad
    x = np.array([1.0, 2.0, 4.0])
    with pytest.raises(TypeError, match=r"snp\.sum: numpy's out= is not supported.*out\[\.\.\.\] = result"):
        grad(lambda v: np.sum(v, out=np.zeros(())))(x)
    with pytest.raises(TypeError, match=r"snp\.sum: numpy's dtype=.*snp\.astype"):
        grad(lambda v: np.sum(v, dtype=np.float32))(x)
    with pytest.raises(TypeError, match=r"snp\.exp: numpy's dtype=.*snp\.astype"):
        grad(lambda v: np.exp(v, dtype=np.float32).sum())(x)
    for ddof in (0, 1):                                          # ddof is supported, as numpy computes it
        f = lambda v: np.var(v, ddof=ddof) + np.std(v, ddof=ddof)
        np.testing.assert_allclose(f(x), np.var(x, ddof=ddof) + np.std(x, ddof=ddof))
        g = grad(f)(x)
        n, d = len(x), x - x.mean()
        want = 2 * d / (n - ddof) + d / ((n - ddof) * np.std(x, ddof=ddof))
        np.testing.assert_allclose(g, want, rtol=1e-10)
    with pytest.raises(TypeError, match=r'np\.sin\(x\) or snp\.sin\(x\)'):
        grad(lambda v: math.sin(v))(0.5)
    with pytest.raises(TypeError, match='Python float'):
        grad(lambda v: float(v))(0.5)


def test_transpose_checks_its_axes_as_numpy_does():
    "An axis out of range, or too few axes, raises (it used to wrap around silently on traced and plain values)."
    x = np.ones((2, 3))
    for axes in [(0, 3), (0,), (0, 0)]:
        with pytest.raises((ValueError, np.exceptions.AxisError)): snp.transpose(x, axes)
        with pytest.raises((ValueError, np.exceptions.AxisError)): grad(lambda x: np.sum(np.transpose(x, axes)))(x)
    np.testing.assert_array_equal(snp.transpose(np.arange(6.0).reshape(2, 3), (1, -2)), np.arange(6.0).reshape(2, 3).T)
    np.testing.assert_array_equal(grad(lambda x: np.sum(np.transpose(x, (-1, 0)) * np.arange(6.0).reshape(3, 2)))(x),
                                  np.arange(6.0).reshape(3, 2).T)
