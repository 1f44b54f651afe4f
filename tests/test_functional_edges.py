"""Edges of the functional API and of `snp` ("Never silently wrong, part 2").

1. every transform returns derivatives with the argument's dtype and shape, used or not, for constant functions too;
   integer arguments are refused, as JAX refuses them;
2. every `snp` function accepts what numpy accepts (Python numbers, lists, 0-d and other arrays, Tensors, boxes) and
   gives numpy's result;
3. numpy's options that `snp` does not provide are refused with a message naming the function, the option and what to
   do instead; `clip` with one bound and `concatenate(axis=None)` work as in numpy;
4. logsumexp/softmax over a zero-length axis, at the snp level;
5. no float32 value silently becomes float64 on the way through `snp`.
"""
import inspect, operator, re, types
import numpy as np
import pytest
import scipy.special

from scratchgrad import numpy as snp
from scratchgrad.numpy import Box
from scratchgrad.tensor import Tensor
from scratchgrad.autograd import grad, value_and_grad, jacobian, hessian, hvp, jvp


# ---------------------------------------------------------------- 1. derivatives: the argument's dtype and shape
ARGS = {'python float': 1.5, 'np.float64': np.float64(1.5), 'np.float32': np.float32(1.5),
        'float32 0-d array': np.array(1.5, np.float32), 'float32 vector': np.array([1.5, -0.5, 2.0], np.float32),
        'float64 matrix': np.arange(4.0).reshape(2, 2) / 3, 'float16 vector': np.array([1.5, -0.5], np.float16)}
B = np.array([0.3, -1.2])   # a second argument, never differentiated, float64

SCALAR_FNS = {   # scalar-valued f(a, b): its gradient with respect to a
    'uses a': (lambda a, b: snp.sum(a * a) * 0.5 + snp.sum(b), lambda a: np.asarray(a, np.float64)),
    'ignores a': (lambda a, b: snp.sum(b * b), lambda a: np.zeros(np.shape(a))),
    'constant': (lambda a, b: 3.0, lambda a: np.zeros(np.shape(a))),
    'constant float32 array': (lambda a, b: np.float32(3.0), lambda a: np.zeros(np.shape(a))),
}
VECTOR_FNS = {   # f(a, b) of shape (2,): its Jacobian with respect to a
    'uses a': (lambda a, b: snp.sum(a) * b, lambda a: np.multiply.outer(B, np.ones(np.shape(a)))),
    'ignores a': (lambda a, b: b * 2.0, lambda a: np.zeros((2,) + np.shape(a))),
    'constant': (lambda a, b: np.ones(2), lambda a: np.zeros((2,) + np.shape(a))),
    'constant float32 array': (lambda a, b: np.ones(2, np.float32), lambda a: np.zeros((2,) + np.shape(a))),
}


def dtype_of(arg): return np.dtype(np.float64) if type(arg) is float else arg.dtype


def check_derivative(result, want, arg):
    "`result` has the argument's dtype, the shape of `want` and its values; an array for an array argument."
    assert not isinstance(result, Box)
    assert np.shape(result) == np.shape(want), (np.shape(result), np.shape(want))
    assert np.asarray(result).dtype == dtype_of(arg), (np.asarray(result).dtype, dtype_of(arg))
    if isinstance(arg, np.ndarray): assert isinstance(result, np.ndarray), type(result)
    elif np.shape(want) == (): assert isinstance(result, np.floating), type(result)   # a numpy scalar, not 0-d
    tol = 1e-2 if dtype_of(arg) == np.float16 else 1e-6
    np.testing.assert_allclose(np.asarray(result, np.float64), want, rtol=tol, atol=tol)


def tangent_for(arg): return np.full(np.shape(arg), 0.5)


def run_transform(transform, kind, arg):
    "`transform` applied to the function `kind` at `arg` (the differentiated argument, number 0)."
    f, fv = SCALAR_FNS[kind][0], VECTOR_FNS[kind][0]
    if transform == 'grad': return grad(f)(arg, B)
    if transform == 'grad, argnum tuple': return grad(f, (0, 1))(arg, B)[0]
    if transform == 'value_and_grad': return value_and_grad(f)(arg, B)[1]
    if transform == 'jacobian': return jacobian(fv)(arg, B)
    if transform == 'jacobian, forward mode': return jacobian(fv, mode='forward')(arg, B)
    if transform == 'hessian': return hessian(f)(arg, B)
    if transform == 'hvp': return hvp(f)(arg, B, tangent_for(arg))
    if transform == 'jvp': return jvp(fv)(arg, B, tangent_for(arg))[1]
    raise ValueError(transform)


def expected(transform, kind, arg):
    "The exact derivative, in float64."
    df, jf = SCALAR_FNS[kind][1], VECTOR_FNS[kind][1]
    shape, n = np.shape(arg), int(np.prod(np.shape(arg)))
    if transform in ('grad', 'grad, argnum tuple', 'value_and_grad'): return df(arg)
    if transform.startswith('jacobian'): return jf(arg)
    if transform == 'hessian': return np.eye(n).reshape(shape * 2) if kind == 'uses a' else np.zeros(shape * 2)
    if transform == 'hvp': return tangent_for(arg) if kind == 'uses a' else np.zeros(shape)
    if transform == 'jvp': return np.tensordot(jf(arg), tangent_for(arg), axes=np.ndim(arg))
    raise ValueError(transform)


TRANSFORMS = ['grad', 'grad, argnum tuple', 'value_and_grad', 'jacobian', 'jacobian, forward mode', 'hessian', 'hvp', 'jvp']


@pytest.mark.parametrize('arg_name', sorted(ARGS))
@pytest.mark.parametrize('kind', sorted(SCALAR_FNS))
@pytest.mark.parametrize('transform', TRANSFORMS)
def test_derivatives_have_the_arguments_dtype_and_shape(transform, kind, arg_name):
    arg = ARGS[arg_name]
    result, want = run_transform(transform, kind, arg), expected(transform, kind, arg)
    if transform == 'jvp':   # J v has the output's shape (a numpy scalar for a 0-d output), and the argument's dtype
        assert np.shape(result) == np.shape(want) and np.asarray(result).dtype == dtype_of(arg)
        np.testing.assert_allclose(np.asarray(result, np.float64), want, rtol=1e-2, atol=1e-2)
    else:
        check_derivative(result, want, arg)


@pytest.mark.parametrize('transform', TRANSFORMS)
@pytest.mark.parametrize('kind', sorted(SCALAR_FNS))
def test_nested_derivatives_keep_the_dtype(transform, kind):
    "Inside an enclosing trace too: the inner result (a box or a constant) and the outer gradient stay float32."
    x = np.array([1.5, -0.5, 2.0], np.float32)
    inner = []
    def outer(a):
        r = run_transform(transform, kind, a)
        inner.append(r)
        return snp.sum(r) + snp.sum(a * a)
    g = grad(outer)(x)
    assert g.dtype == np.float32 and g.shape == x.shape
    assert inner[0].dtype == np.float32, (type(inner[0]), inner[0].dtype)


def test_grad_of_a_python_float_is_a_float64_scalar():
    "Python float in: a numpy float64 scalar out (still a float), used or not, from every transform."
    for result in [grad(np.sin)(0.3), grad(lambda x: 2.0)(0.3), value_and_grad(lambda x: 2.0)(0.3)[1],
                   jacobian(np.sin)(0.3), jacobian(lambda x: 2.0)(0.3), hessian(np.sin)(0.3),
                   hessian(lambda x: 2.0)(0.3), hvp(np.sin)(0.3, 1.0), hvp(lambda x: 2.0)(0.3, 1.0),
                   jvp(np.sin)(0.3, 1.0)[1], jvp(lambda x: 2.0)(0.3, 1.0)[1]]:
        assert type(result) is np.float64 and isinstance(result, float)


INTEGER_CALLS = {
    'grad': lambda a: grad(lambda x: x * 2.0)(a), 'value_and_grad': lambda a: value_and_grad(lambda x: x * 2.0)(a),
    'jacobian': lambda a: jacobian(lambda x: x * 2.0)(a), 'hessian': lambda a: hessian(lambda x: snp.sum(x * x))(a),
    'hvp': lambda a: hvp(lambda x: snp.sum(x * x))(a, np.ones(np.shape(a))),
    'jvp': lambda a: jvp(lambda x: x * 2.0)(a, np.ones(np.shape(a))),
}


@pytest.mark.parametrize('name', sorted(INTEGER_CALLS))
@pytest.mark.parametrize('arg, hint', [(3, 'Pass a float instead, e.g. 3.0'), (np.int64(3), 'Pass a float instead'),
                                       (np.arange(3), r"x\.astype\(float\)"), (np.arange(3, dtype=np.uint8), r"x\.astype\(float\)"),
                                       (True, 'Booleans have no derivative')])
def test_integer_arguments_are_refused_by_every_transform(name, arg, hint):
    "As in JAX: an integer cannot be nudged, so differentiating with respect to one is an error that says what to do."
    with pytest.raises(TypeError, match=f'{name}_of_.*positional argument 0.*{hint}'):
        INTEGER_CALLS[name](arg)


# ---------------------------------------------------------------- 2. snp accepts what numpy accepts
REF = types.SimpleNamespace(**{n: getattr(np, n) for n in dir(np) if not n.startswith('_')})
REF.sigmoid = scipy.special.expit
REF.logsumexp = scipy.special.logsumexp
def along_existing_axis(fn):
    "scipy's function, refusing an axis the value does not have, as numpy's reductions do (scipy lets axis=-1 of a 0-d pass)."
    def checked(x, axis):
        np.lib.array_utils.normalize_axis_index(axis, np.ndim(x))
        return fn(x, axis=axis)
    return checked
REF.log_softmax, REF.softmax = along_existing_axis(scipy.special.log_softmax), along_existing_axis(scipy.special.softmax)
REF.getitem = lambda x, index: np.asarray(x)[index]
REF.astype = lambda x, dtype: (lambda a: a[()] if a.ndim == 0 else a)(np.asarray(x).astype(dtype))

CALLS = {   # name: how to call it, with m = snp or the reference (numpy, scipy.special), x the input, p its plain value
    'add': lambda m, x, p: m.add(x, x), 'subtract': lambda m, x, p: m.subtract(x, 0.5),
    'multiply': lambda m, x, p: m.multiply(2.0, x), 'divide': lambda m, x, p: m.divide(x, 4.0),
    'negative': lambda m, x, p: m.negative(x), 'power': lambda m, x, p: m.power(x, 2),
    'square': lambda m, x, p: m.square(x), 'exp': lambda m, x, p: m.exp(x), 'log': lambda m, x, p: m.log(x),
    'sqrt': lambda m, x, p: m.sqrt(x), 'tanh': lambda m, x, p: m.tanh(x), 'sigmoid': lambda m, x, p: m.sigmoid(x),
    'sin': lambda m, x, p: m.sin(x), 'cos': lambda m, x, p: m.cos(x), 'abs': lambda m, x, p: m.abs(m.negative(x)),
    'maximum': lambda m, x, p: m.maximum(x, 1.5), 'minimum': lambda m, x, p: m.minimum(x, 1.5),
    'clip': lambda m, x, p: m.clip(x, 1.2, 2.5), 'where': lambda m, x, p: m.where(np.greater(p, 1.5), x, 0.0),
    'sum': lambda m, x, p: m.sum(x), 'mean': lambda m, x, p: m.mean(x), 'max': lambda m, x, p: m.max(x),
    'min': lambda m, x, p: m.min(x), 'var': lambda m, x, p: m.var(x), 'std': lambda m, x, p: m.std(x),
    'logsumexp': lambda m, x, p: m.logsumexp(x), 'log_softmax': lambda m, x, p: m.log_softmax(x, axis=-1),
    'softmax': lambda m, x, p: m.softmax(x, axis=-1),
    'reshape': lambda m, x, p: m.reshape(x, -1), 'transpose': lambda m, x, p: m.transpose(x),
    'broadcast_to': lambda m, x, p: m.broadcast_to(x, (2,) + np.shape(p)),
    'expand_dims': lambda m, x, p: m.expand_dims(x, 0), 'getitem': lambda m, x, p: m.getitem(x, ...),
    'concatenate': lambda m, x, p: m.concatenate([x, x]), 'stack': lambda m, x, p: m.stack([x, x]),
    'matmul': lambda m, x, p: m.matmul(x, x), 'dot': lambda m, x, p: m.dot(x, x),
    'astype': lambda m, x, p: m.astype(x, np.float32),
}
NOT_FUNCTIONS = {'Box', 'new_trace', 'trace_level', 'primitive'}   # primitive(name) makes functions: tests/test_one_registration.py

PLAIN_INPUTS = {'python float': 2.0, 'python int': 2, 'list': [0.5, 2.0, 3.0], 'nested list': [[0.5, 2.0], [3.0, 1.0]],
                'list of ints': [1, 2, 3], '0-d array': np.array(2.0), 'numpy float32 scalar': np.float32(2.0),
                'float32 array': np.array([0.5, 2.0, 3.0], np.float32), 'int array': np.array([1, 2, 3]),
                'float64 matrix': np.array([[0.5, 2.0], [3.0, 1.0]])}


def test_every_snp_function_is_swept():
    assert set(snp.__all__) - NOT_FUNCTIONS == set(CALLS)


def reference(name, p):
    "numpy's own result (or the exception it raises)."
    try: return CALLS[name](REF, p, p)
    except Exception as e: return e


def assert_same(got, want, name):
    "Same value, shape and dtype as numpy; an array where numpy gives an array, a numpy scalar where it gives one."
    assert np.shape(got) == np.shape(want), (name, np.shape(got), np.shape(want))
    assert np.asarray(got).dtype == np.asarray(want).dtype, (name, np.asarray(got).dtype, np.asarray(want).dtype)
    tol = 1e-6 if np.asarray(want).dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=tol, atol=tol)


FLOAT_INPUTS = {k: v for k, v in PLAIN_INPUTS.items() if np.asarray(v).dtype.kind == 'f'}
def cases(names, inputs, wraps):
    "(name, input, wrap) triples."
    return [(n, i, w) for n in names for i in inputs for w in wraps]


@pytest.mark.parametrize('name, input_name, wrap', cases(sorted(CALLS), sorted(PLAIN_INPUTS), ['plain']))
def test_snp_on_plain_values_is_numpy(name, input_name, wrap):
    p = PLAIN_INPUTS[input_name]
    want = reference(name, p)
    if isinstance(want, Exception):   # numpy refuses: so must snp, with an error of the same kind
        with pytest.raises((type(want), ValueError, TypeError)): CALLS[name](snp, p, p)
        return
    got = CALLS[name](snp, p, p)
    assert_same(got, want, name)
    if (name, input_name) != ('transpose', 'numpy float32 scalar'):   # numpy: a scalar's own .transpose(), a scalar
        assert isinstance(got, np.ndarray) == isinstance(want, np.ndarray), (name, type(got), type(want))


@pytest.mark.parametrize('name, input_name, wrap', cases(sorted(CALLS), sorted(FLOAT_INPUTS), ['Tensor', 'Box']))
def test_snp_on_tensors_and_boxes_is_numpy(name, input_name, wrap):
    p = np.asarray(FLOAT_INPUTS[input_name])
    want = reference(name, p)
    x = Tensor(p, requires_grad=True) if wrap == 'Tensor' else Box(Tensor(p, requires_grad=True), 1)
    if isinstance(want, Exception):
        with pytest.raises((type(want), ValueError, TypeError)): CALLS[name](snp, x, p)
        return
    got = CALLS[name](snp, x, p)
    assert type(got) is type(x), (name, type(got))
    assert_same(got.array if wrap == 'Tensor' else got.value, want, name)


def test_mean_var_std_of_numbers_and_lists():
    "The reported examples: these raised AttributeError."
    assert snp.mean(3.0) == 3.0 and type(snp.mean(3.0)) is np.float64
    assert snp.mean([1.0, 2.0]) == 1.5 and snp.var([1.0, 2.0]) == 0.25 and snp.std([1.0, 3.0]) == 1.0
    assert snp.var(3.0) == 0.0 and snp.std(2) == 0.0
    assert snp.mean(np.float32(3.0)).dtype == np.float32


# ---------------------------------------------------------------- 3. numpy's options: supported, or refused clearly
def test_clip_with_one_bound_is_one_sided():
    x = np.array([-1.0, 0.5, 2.0])
    for lo, hi in [(None, 1), (0, None), (None, 1.0), (0.25, None), (None, None)]:
        np.testing.assert_array_equal(snp.clip(x, lo, hi), np.clip(x, lo, hi))
        np.testing.assert_array_equal(snp.clip(Box(Tensor(x), 1), lo, hi).value, np.clip(x, lo, hi))
    np.testing.assert_array_equal(grad(lambda a: snp.sum(snp.clip(a, None, 1)))(x), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(grad(lambda a: snp.sum(np.clip(a, 0.0, None)))(x), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(grad(lambda a: snp.sum(a.clip(max=1.0)))(x), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(snp.clip(x, min=0.0, max=1.0), np.clip(x, min=0.0, max=1.0))
    with pytest.raises(ValueError, match='snp.clip.*both'):
        snp.clip(x, 0.0, 1.0, min=0.5)


def test_concatenate_axis_none_flattens_first():
    a, b = np.arange(6.0).reshape(2, 3), np.array([7.0, 8.0])
    np.testing.assert_array_equal(snp.concatenate([a, b], axis=None), np.concatenate([a, b], axis=None))
    g = grad(lambda x: snp.sum(snp.concatenate([x, b * x[0, 0]], axis=None) ** 2))(a)
    want = 2 * a; want[0, 0] += 2 * a[0, 0] * np.sum(b * b)
    np.testing.assert_allclose(g, want)
    with pytest.raises(ValueError, match='zero-dimensional arrays cannot be concatenated'):
        snp.concatenate([np.array(1.0), np.array(2.0)])


def test_expand_dims_takes_a_tuple_of_axes():
    x = np.ones((2, 3))
    for axis in [(0, 2), (-1, 0), (1,)]:
        assert snp.expand_dims(x, axis).shape == np.expand_dims(x, axis).shape
        assert snp.expand_dims(Box(Tensor(x), 1), axis).shape == np.expand_dims(x, axis).shape


UFUNC_OPTIONS = ['out', 'where', 'casting', 'order', 'dtype', 'subok', 'signature']
NON_DEFAULT = {'out': lambda: np.zeros(3), 'where': lambda: np.array([True, False, True]), 'casting': lambda: 'unsafe',
               'order': lambda: 'F', 'dtype': lambda: np.float32, 'subok': lambda: 'maybe',
               'signature': lambda: 'dd->d', 'initial': lambda: 0.0, 'mean': lambda: 0.0, 'correction': lambda: 1,
               'copy': lambda: False, 'axes': lambda: [(0,), (0,), ()], 'axis': lambda: 0, 'device': lambda: 'gpu'}
HINTS = {'out': r'out\[\.\.\.\] = ', 'dtype': r'snp\.astype', 'where': r'snp\.where', 'initial': 'afterwards',
         'correction': 'ddof=', 'mean': 'drop it', 'axes': 'snp.transpose', 'axis': 'snp.transpose'}


def numpy_options(name):
    "The keyword options numpy's twin of snp.`name` takes beyond those snp names in its own signature."
    twin = getattr(np, 'absolute' if name == 'abs' else name, None)
    if twin is None: return []
    if isinstance(twin, np.ufunc): opts = UFUNC_OPTIONS + (['axes', 'axis'] if name == 'matmul' else [])
    else: opts = [p.name for p in inspect.signature(twin).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty]
    mine = inspect.signature(getattr(snp, name)).parameters
    return [o for o in opts if o not in mine and o not in ('min', 'max')]   # clip's min=/max= are supported


OPTION_CASES = [(n, o) for n in sorted(CALLS) for o in numpy_options(n)]


def call_with_option(name, option, value):
    x = np.array([0.5, 2.0, 3.0])
    call = {'where': lambda **kw: snp.where(x > 1, x, 0.0, **kw), 'matmul': lambda **kw: snp.matmul(x, x, **kw),
            'dot': lambda **kw: snp.dot(x, x, **kw), 'concatenate': lambda **kw: snp.concatenate([x, x], **kw),
            'stack': lambda **kw: snp.stack([x, x], **kw), 'reshape': lambda **kw: snp.reshape(x, -1, **kw),
            'broadcast_to': lambda **kw: snp.broadcast_to(x, (2, 3), **kw), 'clip': lambda **kw: snp.clip(x, 1, 2, **kw),
            'astype': lambda **kw: snp.astype(x, np.float32, **kw), 'expand_dims': lambda **kw: snp.expand_dims(x, 0, **kw),
            'transpose': lambda **kw: snp.transpose(x, **kw)}.get(name)
    if call is None:
        fn = getattr(snp, name)
        nargs = sum(p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD for p in inspect.signature(fn).parameters.values())
        call = lambda **kw: fn(*[x] * nargs, **kw)
    return call(**{option: value})


def test_the_option_sweep_covers_numpy():
    names = {n for n, _ in OPTION_CASES}
    assert {'add', 'exp', 'sum', 'max', 'var', 'clip', 'concatenate', 'stack', 'reshape', 'dot', 'matmul'} <= names
    assert not [o for _, o in OPTION_CASES if o not in NON_DEFAULT], 'give every option a non-default value to try'


BINARY = {'add', 'subtract', 'multiply', 'divide', 'power', 'maximum', 'minimum', 'matmul', 'dot'}


def numpy_on(name, xs, option, value):
    "numpy's own function `name` called on `xs` (plain arrays or boxes) with the option."
    twin = getattr(np, 'absolute' if name == 'abs' else name)
    args = (list(xs),) if name in ('concatenate', 'stack') else tuple(xs[:2 if name in BINARY else 1])
    return twin(*args, **{option: value})


@pytest.mark.parametrize('name, option', OPTION_CASES)
def test_numpy_options_snp_lacks_are_refused_clearly(name, option):
    "Not ignored, not a crash: a TypeError naming snp.<name>, the option, and what to do instead."
    with pytest.raises(TypeError, match=rf'snp\.{name}\b.*\b{option}=.*' + HINTS.get(option, '')):
        call_with_option(name, option, NON_DEFAULT[option]())
    if name in ('where', 'reshape', 'broadcast_to', 'expand_dims', 'transpose', 'astype', 'clip'): return
    x = np.array([0.5, 2.0, 3.0])
    try: numpy_on(name, [x, x], option, NON_DEFAULT[option]())
    except TypeError: return    # numpy itself refuses the option before asking the box: nothing to route
    except Exception: pass      # (a ValueError of numpy's own about the value is fine: the option is accepted)
    b = Box(Tensor(x), 1)       # numpy's own function on a traced value reaches the same check
    with pytest.raises(TypeError, match=rf'snp\.{name}\b.*\b{option}='):
        numpy_on(name, [b, b], option, NON_DEFAULT[option]())


@pytest.mark.parametrize('name', ['add', 'exp', 'sum', 'mean', 'var', 'max', 'concatenate', 'reshape', 'clip'])
def test_numpy_defaults_passed_explicitly_are_fine(name):
    defaults = {'out': None, 'dtype': None, 'where': True, 'casting': 'same_kind', 'order': 'K' if name in ('add', 'exp') else 'C'}
    for option in numpy_options(name):
        if option in defaults:
            call_with_option(name, option, defaults[option])


@pytest.mark.parametrize('name', ['sum', 'mean', 'max', 'min', 'var', 'std', 'logsumexp'])
def test_numpys_positional_dtype_or_out_is_not_taken_for_keepdims(name):
    "numpy's third positional argument is dtype or out: snp must not read it as keepdims (which it used to, silently)."
    x = np.ones((2, 3))
    with pytest.raises(TypeError):
        getattr(snp, name)(x, 0, np.float32)
    assert getattr(snp, name)(x, 0, keepdims=True).shape == (1, 3)


def test_unknown_keywords_name_the_function():
    with pytest.raises(TypeError, match=r"snp\.sum\(\) got an unexpected keyword argument 'kepdims'"):
        snp.sum(np.ones(3), kepdims=True)


def test_where_with_only_a_condition_says_what_to_use():
    with pytest.raises(TypeError, match=r'np\.nonzero'):
        snp.where(np.array([True, False]))


# ---------------------------------------------------------------- 4. zero-length axes (engine fixed by the lead)
@pytest.mark.parametrize('wrap', ['plain', 'Box'])
def test_logsumexp_and_softmax_over_a_zero_length_axis(wrap):
    "logsumexp of nothing is -inf (log 0, as scipy), softmax of nothing is empty (scipy raises); gradients are empty."
    for x, axis in [(np.zeros((2, 0)), 1), (np.zeros((0, 3)), 0), (np.zeros(0), -1)]:
        a = Box(Tensor(x), 1) if wrap == 'Box' else x
        value = lambda r: r.value if wrap == 'Box' else r
        np.testing.assert_array_equal(value(snp.logsumexp(a, axis=axis)), scipy.special.logsumexp(x, axis=axis))
        for fn in (snp.softmax, snp.log_softmax):
            r = value(fn(a, axis=axis))
            assert r.shape == x.shape and r.dtype == np.float64
    for fn in (lambda a: snp.logsumexp(a, axis=1), lambda a: snp.softmax(a, axis=1), lambda a: snp.log_softmax(a, axis=1)):
        g = grad(lambda a: snp.sum(fn(a)))(np.zeros((2, 0)))
        assert g.shape == (2, 0) and g.dtype == np.float64
    assert grad(snp.logsumexp)(np.zeros(0)).shape == (0,)


# ---------------------------------------------------------------- 5. float32 stays float32
@pytest.mark.parametrize('name, input_name, wrap', cases(sorted(CALLS), ['float32 array'], ['plain', 'Tensor', 'Box']))
def test_float32_stays_float32(name, input_name, wrap):
    p = np.array([0.5, 2.0, 3.0], np.float32)
    want = reference(name, p)
    x = {'plain': p, 'Tensor': Tensor(p), 'Box': Box(Tensor(p), 1)}[wrap]
    got = CALLS[name](snp, x, p)
    value = got.array if wrap == 'Tensor' else got.value if wrap == 'Box' else got
    assert np.asarray(value).dtype == np.asarray(want).dtype


def test_sqrt_and_std_of_float32_plain_values():
    "They went through the engine with a float64 exponent: float32 came back as float64."
    x = np.array([1.0, 2.0, 4.0], np.float32)
    assert snp.sqrt(x).dtype == np.float32 and snp.std(x).dtype == np.float32 and snp.sqrt(np.float32(2)).dtype == np.float32


# ---------------------------------------------------------------- 6. docstrings say what the code does
def test_power_docstring_states_what_power_and_its_gradient_give():
    doc = snp.power.__doc__
    assert '0.0 ** -1 is inf' in doc and 'NaN for x < 0' in doc and 'at x = 0 is 0 (y >= 0) or NaN (y < 0)' in doc
    with np.errstate(divide='ignore', invalid='ignore'):
        assert snp.power(0.0, -1.0) == np.inf == np.float64(0.0) ** -1
        assert np.isnan(grad(snp.power, 1)(-2.0, 2.0)) and np.isnan(grad(snp.power, 1)(0.0, -1.0))
        assert grad(snp.power, 1)(0.0, 2.0) == 0.0 and grad(snp.power, 1)(0.0, 0.0) == 0.0


def test_docstrings_that_name_a_primitive_name_a_real_one():
    "subtract's docstring once called it a composite x + (-y); it is the engine's `sub` primitive."
    from scratchgrad.tensor import PRIMITIVES
    assert 'composite' not in snp.subtract.__doc__ and "the engine's `sub` primitive" in snp.subtract.__doc__
    assert snp.subtract(Tensor([1.0, 2.0], requires_grad=True), 3.0).op == 'sub'
    for name in snp.__all__:
        doc = getattr(getattr(snp, name), '__doc__', '') or ''
        for prim in re.findall(r"the engine's `(\w+)` primitive", doc):
            assert prim in PRIMITIVES, (name, prim)
