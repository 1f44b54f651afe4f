"""scratchgrad.autograd: grad, value_and_grad, jacobian, hessian, hvp, jvp — types, nesting, closed forms, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scratchgrad import numpy as snp
from scratchgrad.numpy import Box, trace_level
from scratchgrad.tensor import Tensor, no_grad
from scratchgrad.autograd import grad, value_and_grad, jacobian, hessian, hvp, jvp


def f(x, y): return np.log(x**2) + y**2 + x * y


def test_running_example_against_hand_derivatives():
    for x, y in [(1.5, -0.7), (-0.3, 2.0), (13.0, 4.0)]:
        assert abs(grad(f, 0)(x, y) - (2 / x + y)) < 1e-12
        assert abs(grad(f, 1)(x, y) - (2 * y + x)) < 1e-12
        gx, gy = grad(f, (0, 1))(x, y)
        assert abs(gx - (2 / x + y)) < 1e-12 and abs(gy - (2 * y + x)) < 1e-12
        assert abs(grad(f)(x, y=y) - (2 / x + y)) < 1e-12          # keyword arguments pass through


def test_result_types_and_shapes():
    assert type(grad(np.sin)(0.3)) is np.float64 and isinstance(grad(np.sin)(0.3), float)   # a float64 scalar
    assert type(grad(np.sin)(np.float64(0.3))) is np.float64
    assert type(grad(np.sin)(np.float32(0.3))) is np.float32
    g = grad(lambda x: np.sum(x**2))(np.zeros((2, 3), dtype=np.float32))
    assert isinstance(g, np.ndarray) and g.shape == (2, 3) and g.dtype == np.float32
    g0 = grad(lambda x: x**2)(np.array(3.0))
    assert isinstance(g0, np.ndarray) and g0.shape == () and g0 == 6.0
    v, g = value_and_grad(lambda x: np.sum(x**2))(np.arange(3.0))
    assert v == 5.0 and np.array_equal(g, [0.0, 2.0, 4.0])
    assert grad(lambda x: 7.0)(2.0) == 0.0 and type(grad(lambda x: 7.0)(2.0)) is np.float64
    np.testing.assert_array_equal(grad(lambda x, y: np.sum(y), 0)(np.ones(3), np.ones(2)), np.zeros(3))


def test_names():
    assert grad(f).__name__ == 'grad_of_f_wrt_argnum_0'
    assert grad(f, (0, 1)).__name__ == 'grad_of_f_wrt_argnum_0_1'
    assert value_and_grad(f, 1).__name__ == 'value_and_grad_of_f_wrt_argnum_1'
    assert grad(grad(np.tanh)).__name__ == 'grad_of_grad_of_tanh_wrt_argnum_0_wrt_argnum_0'
    assert jacobian(np.sin).__name__ == 'jacobian_of_sin_wrt_argnum_0'
    assert hessian(f).__name__ == 'hessian_of_f_wrt_argnum_0'
    assert jvp(f).__name__ == 'jvp_of_f_wrt_argnum_0' and hvp(f).__name__ == 'hvp_of_f_wrt_argnum_0'


def test_errors_are_clear():
    x = np.ones(3)
    with pytest.raises(TypeError, match=r'shape \(3,\).*jacobian'):
        grad(np.sin)(x)
    with pytest.raises(IndexError, match='argnum 2 is out of range.*2 positional'):
        grad(f, 2)(1.0, 2.0)
    with pytest.raises(IndexError, match="parameter 'y' was passed by keyword"):
        grad(f, 1)(1.0, y=2.0)
    for bad, msg in [(3, r'an integer \(3\)'), (np.arange(3), r'x.astype\(float\)'), ('abc', "str"), (None, 'NoneType'),
                     ([1.0, 2.0], 'np.array'), (True, 'bool'), (np.array([1 + 2j]), 'complex128'), (Tensor(1.0), 'x.array')]:
        with pytest.raises(TypeError, match=msg):
            grad(lambda a, b: b, 0)(bad, 1.0)
    with pytest.raises(TypeError, match='non-negative int'):
        grad(f, -1)
    with pytest.raises(TypeError, match='non-negative int'):
        grad(f, 1.0)
    with pytest.raises(ValueError, match='twice'):
        grad(f, (1, 1))
    with pytest.raises(TypeError, match='forget to return'):
        grad(lambda a: None)(1.0)
    with pytest.raises(TypeError, match='snp.stack'):
        grad(lambda a: (a, a))(1.0)
    with pytest.raises(ValueError, match='tangent v has shape'):
        jvp(np.sin)(x, np.ones(2))
    with pytest.raises(ValueError, match='vector v has shape'):
        hvp(lambda a: np.sum(a**3))(x, np.ones(2))
    with pytest.raises(TypeError, match='single int'):
        hessian(f, (0, 1))
    with pytest.raises(ValueError, match="mode must be"):
        jacobian(np.sin, mode='sideways')
    assert trace_level() == 0                 # every failed call closed its trace


def test_nested_closed_forms():
    for x in np.linspace(-3, 3, 25):
        t = np.tanh(x)
        assert abs(grad(grad(np.tanh))(x) - (-2 * t * (1 - t**2))) < 1e-10
        assert abs(grad(grad(grad(np.tanh)))(x) - (-2 * (1 - t**2) * (1 - 3 * t**2))) < 1e-10
    assert abs(grad(grad(grad(grad(np.sin))))(0.7) - np.sin(0.7)) < 1e-12


def test_perturbation_confusion():
    assert grad(lambda x: x * grad(lambda y: x + y)(x))(1.0) == 1.0
    assert grad(lambda x: grad(lambda y: x * y)(x))(3.0) == 1.0
    assert grad(lambda x: grad(lambda y: x)(1.0))(2.0) == 0.0
    assert grad(lambda x: x * grad(lambda y: x * y * y)(1.0))(2.0) == 8.0
    # mixed partial: d/dy d/dx (x^2 y^3) = 6 x y^2
    assert abs(grad(lambda y: grad(lambda x: x**2 * y**3)(2.0))(1.5) - 6 * 2.0 * 1.5**2) < 1e-12


@pytest.mark.parametrize('n', [1, 3, 6])
def test_hessian_of_quadratic_form(n):
    rng = np.random.default_rng(n)
    A, b, x = rng.standard_normal((n, n)), rng.standard_normal(n), rng.standard_normal(n)

    def q(x): return x @ A @ x + b @ x
    assert np.max(np.abs(hessian(q)(x) - (A + A.T))) < 1e-10
    assert np.max(np.abs(grad(q)(x) - ((A + A.T) @ x + b))) < 1e-10
    v = rng.standard_normal(n)
    assert np.max(np.abs(hvp(q)(x, v) - (A + A.T) @ v)) < 1e-10
    assert np.max(np.abs(jvp(grad(q))(x, v)[1] - (A + A.T) @ v)) < 1e-10
    np.testing.assert_allclose(jacobian(grad(q), mode='forward')(x), A + A.T, atol=1e-10)


SHAPES = [(), (1,), (3,), (2, 3)]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(SHAPES), st.sampled_from(SHAPES), st.integers(0, 10_000))
def test_jvp_matches_vjp_jacobian(sx, sw, seed):
    rng = np.random.default_rng(seed)
    x, w, v = rng.standard_normal(sx), rng.standard_normal(sw), rng.standard_normal(sx)

    def fn(a):
        return snp.tanh(a * snp.sum(w)) * snp.exp(-snp.sum(a * a)) + snp.sin(a) ** 2
    J = jacobian(fn)(x)
    out_shape = np.shape(fn(x))
    assert np.shape(J) == out_shape + sx
    Jm = np.reshape(J, (int(np.prod(out_shape)), int(np.prod(sx))))
    value, tangent = jvp(fn)(x, v)
    np.testing.assert_allclose(value, fn(x), rtol=1e-14)
    np.testing.assert_allclose(np.ravel(tangent), Jm @ np.ravel(v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jacobian(fn, mode='forward')(x), J, rtol=1e-10, atol=1e-12)


def test_jacobian_shapes_and_tuple_argnum():
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((4, 3)), rng.standard_normal(3)
    Jw, Jx = jacobian(lambda W, x: np.tanh(W @ x), (0, 1))(W, x)
    d = 1 - np.tanh(W @ x) ** 2
    np.testing.assert_allclose(Jx, d[:, None] * W, rtol=1e-12)
    np.testing.assert_allclose(Jw, np.einsum('i,ij,k->ijk', d, np.eye(4), x), rtol=1e-12, atol=1e-15)
    assert type(jacobian(np.sin)(0.2)) is np.float64
    np.testing.assert_array_equal(jacobian(lambda a: np.ones(2))(x), np.zeros((2, 3)))


def test_works_inside_no_grad_and_leaves_inputs_alone():
    x = np.array([1.0, 2.0])
    with no_grad():
        np.testing.assert_allclose(grad(lambda a: np.sum(a**3))(x), 3 * x**2)
    def mutate(a):
        return np.sum(a * 2)
    x_before = x.copy()
    grad(mutate)(x)
    np.testing.assert_array_equal(x, x_before)


def test_closure_over_tensor_parameters_does_not_touch_grad():
    w = Tensor(np.array([1.0, -1.0]))
    g = grad(lambda a: snp.sum(snp.multiply(a, w)))(np.array([0.5, 2.0]))
    np.testing.assert_allclose(g, [1.0, -1.0])
    assert w.grad is None


def test_against_hips_autograd_if_installed():
    ag = pytest.importorskip('autograd')
    anp = pytest.importorskip('autograd.numpy')
    x = np.random.default_rng(0).standard_normal(5)
    ours = hessian(lambda a: np.sum(np.tanh(a) ** 2 * np.exp(-a)))(x)
    theirs = ag.hessian(lambda a: anp.sum(anp.tanh(a) ** 2 * anp.exp(-a)))(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_value_kept_from_a_finished_inner_trace_is_refused():
    kept = []

    def keeps_its_box(y):
        kept.append(y)
        return y * y
    with pytest.raises(RuntimeError, match='already finished'):
        grad(lambda x: grad(keeps_its_box)(x) + kept[-1])(1.0)
    assert trace_level() == 0


def test_more_numpy_functions_dispatch():
    x = np.array([[0.3, -1.2, 2.0], [0.1, 0.7, -0.4]])
    g = grad(lambda a: np.min(a) + np.sum(np.clip(a, -0.5, 0.5)) + np.var(a) + np.std(a[0]))(x)
    h = 1e-6
    fd = np.zeros_like(x)
    fn = lambda a: np.min(a) + np.sum(np.clip(a, -0.5, 0.5)) + np.var(a) + np.std(a[0])
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x); e[i] = h
        fd[i] = (fn(x + e) - fn(x - e)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_graphs_are_freed_by_reference_counting():
    import gc, weakref
    seen = []

    def f(a):
        out = np.sum(np.tanh(a) * a)
        seen.append(weakref.ref(out.tensor))
        return out
    gc.disable()
    try:
        for _ in range(3):
            grad(f)(np.ones(5))
            hessian(f)(np.ones(2))
            jvp(f)(np.ones(3), np.ones(3))
        assert all(r() is None for r in seen), 'a graph outlived its grad call (reference cycle?)'
    finally:
        gc.enable()


def test_list_of_boxes_error_points_to_stack():
    with pytest.raises(TypeError, match='snp.stack'):
        grad(lambda a: np.sum(np.array([a, a])))(1.0)


def test_every_operator_nests_inside_every_other():
    x = np.array([0.3, -0.8, 1.1])
    np.testing.assert_allclose(grad(lambda a: np.sum(jacobian(np.sin)(a)))(x), -np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(grad(lambda a: np.sum(jacobian(np.sin, mode='forward')(a)))(x), -np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(jacobian(lambda a: jvp(np.sin)(a, np.ones(3))[1])(x), np.diag(-np.sin(x)), atol=1e-12)
    np.testing.assert_allclose(jacobian(lambda a: hvp(lambda b: np.sum(b**4))(a, np.ones(3)))(x), np.diag(24 * x),
                               atol=1e-12)
    np.testing.assert_allclose(hessian(lambda a: np.sum(hessian(lambda b: np.sum(b**4))(a)))(x), 24 * np.eye(3),
                               atol=1e-10)
    v, g = value_and_grad(lambda a: grad(np.sin)(a))(0.3)
    assert abs(v - np.cos(0.3)) < 1e-15 and abs(g + np.sin(0.3)) < 1e-15
    assert grad(lambda a: jvp(lambda b: b**3)(a, a)[1])(2.0) == 36.0      # the tangent itself is traced: 3a^2 * a


def test_hvp_and_jvp_without_the_vector_say_so():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=r'hvp_of_<lambda>_wrt_argnum_0: call it as hvp_of_<lambda>_wrt_argnum_0\(\*args, v\)'):
        hvp(lambda a: np.sum(a**3))(x)
    with pytest.raises(TypeError, match='got 1 positional argument'):
        jvp(np.sin)(x)
    with pytest.raises(TypeError, match='v \\(or argument 1\\) is missing'):
        hvp(lambda a, b: np.sum(a * b**3), 1)(x, x)


def test_empty_jacobians():
    x = np.array([1.0, 2.0, 3.0])
    assert jacobian(lambda a: a[:0] * 2.0)(x).shape == (0, 3)
    assert jacobian(lambda a: a[:0] * 2.0, mode='forward')(x).shape == (0, 3)
    assert jacobian(lambda a: np.sum(a))(np.zeros(0)).shape == (0,)
    assert jacobian(lambda a: np.tanh(a))(np.zeros((0, 2))).shape == (0, 2, 0, 2)


def test_python_control_flow():
    def newton_sqrt(a):
        x = a
        while abs(x * x - a) > 1e-12 * a: x = (x + a / x) / 2
        return x
    def power(x, n): return 1.0 if n == 0 else x * power(x, n - 1)
    def piecewise(x): return x * x if x > 0 else -x
    for a in [0.5, 2.0, 7.0]: assert grad(newton_sqrt)(a) == pytest.approx(0.5 / np.sqrt(a), rel=1e-12)
    assert grad(power)(1.5, 5) == pytest.approx(5 * 1.5**4, rel=1e-12)
    assert grad(piecewise)(2.0) == 4.0 and grad(piecewise)(-2.0) == -1.0
