"""Property tests: first and second derivatives of the Tensor engine against central finite differences (float64),
over random broadcastable shapes (ranks 0-4, size-1 axes anywhere) and random expression trees."""
import numpy as np
import hypothesis.extra.numpy as hnp
from hypothesis import assume, given, settings, strategies as st, HealthCheck

from scratchgrad.tensor import Tensor, gradients, gradcheck, maximum, minimum, where, logsumexp, log_softmax, matmul

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
shapes2 = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=3)
shapes3 = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, min_side=1, max_side=3)


def data(shape, seed, low=None):
    "Seeded float64 test data; `low` gives values in [low, low + 1.5] instead of standard normal."
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) if low is None else rng.uniform(low, low + 1.5, shape)


BINARY = {
    'add': (lambda a, b: a + b, None, None),
    'sub': (lambda a, b: a - b, None, None),
    'mul': (lambda a, b: a * b, None, None),
    'div': (lambda a, b: a / b, None, 0.5),
    'pow': (lambda a, b: a ** b, 0.5, None),
    'maximum': (lambda a, b: maximum(a, b), None, None),
    'minimum': (lambda a, b: minimum(a, b), None, None),
}


@settings(max_examples=100, **SETTINGS)
@given(shapes=shapes2, op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_ops_under_broadcasting(shapes, op, seed):
    f, low_a, low_b = BINARY[op]
    (sa, sb), result = shapes.input_shapes, shapes.result_shape
    a, b = data(sa, seed, low_a), data(sb, seed + 1, low_b)
    out = f(Tensor(a), Tensor(b))
    assert out.shape == result
    assert gradcheck(f, a, b, order=2)


@settings(max_examples=30, **SETTINGS)
@given(shapes=shapes3, seed=st.integers(0, 2**16))
def test_where_under_broadcasting(shapes, seed):
    sc, sa, sb = shapes.input_shapes
    cond = data(sc, seed) > 0
    assert gradcheck(lambda a, b: where(cond, a * b, b), data(sa, seed + 1), data(sb, seed + 2), order=2)


@settings(max_examples=30, **SETTINGS)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), seed=st.integers(0, 2**16),
       data_=st.data())
def test_reductions_over_random_axes(shape, seed, data_):
    axes = data_.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)).map(tuple) | st.none())
    keep = data_.draw(st.booleans())
    x = data(shape, seed)
    for f in [lambda t: t.sum(axis=axes, keepdims=keep) ** 2, lambda t: t.mean(axis=axes, keepdims=keep) * t.sum(),
              lambda t: t.max(axis=axes, keepdims=keep) ** 2, lambda t: logsumexp(t, axis=axes, keepdims=keep)]:
        assert gradcheck(f, x, order=2)


@settings(max_examples=40, **SETTINGS)
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=2),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), vec=st.sampled_from(['', 'a', 'b']),
       seed=st.integers(0, 2**16))
def test_matmul_batched_and_vectors(batch, n, k, m, vec, seed):
    ba, bb = batch.input_shapes
    sa = (k,) if vec == 'a' else ba + (n, k)
    sb = (k,) if vec == 'b' else bb + (k, m)
    a, b = data(sa, seed), data(sb, seed + 1)
    np.testing.assert_allclose(matmul(Tensor(a), Tensor(b)).array, a @ b)
    assert gradcheck(lambda a, b: a @ b, a, b, order=2)


# --- random expression trees over three broadcastable inputs -------------------------------------------------------
UNARY = {   # name -> (Tensor function, numpy function); all smooth and finite on any input
    'tanh': (lambda t: t.tanh(), np.tanh),
    'sigmoid': (lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    'sin': (lambda t: t.sin(), np.sin),
    'cos': (lambda t: t.cos(), np.cos),
    'neg': (lambda t: -t, np.negative),
    'square': (lambda t: t * t, np.square),
    'exp_tanh': (lambda t: t.tanh().exp(), lambda x: np.exp(np.tanh(x))),
    'log1p_sq': (lambda t: (1.0 + t * t).log(), lambda x: np.log(1 + x * x)),
    'sqrt1p_sq': (lambda t: (1.0 + t * t).sqrt(), lambda x: np.sqrt(1 + x * x)),
    'pow_1_5': (lambda t: (1.0 + t * t) ** 1.5, lambda x: (1 + x * x) ** 1.5),
    'softmax_last': (lambda t: log_softmax(t).exp() if t.ndim else t, lambda x: np.exp(x - np.log(np.exp(x).sum(-1, keepdims=True))) if x.ndim else x),
}
BIN = {
    'add': (lambda a, b: a + b, np.add),
    'sub': (lambda a, b: a - b, np.subtract),
    'mul': (lambda a, b: a * b, np.multiply),
    'div': (lambda a, b: a / (1.0 + b * b), lambda a, b: a / (1 + b * b)),
    'max': (lambda a, b: maximum(a, b), np.maximum),
}

leaves = st.sampled_from([0, 1, 2])
trees = st.recursive(leaves, lambda sub: st.tuples(st.sampled_from(sorted(UNARY)), sub) |
                     st.tuples(st.sampled_from(sorted(BIN)), sub, sub), max_leaves=6)


def evaluate(tree, xs, tensor):
    "Evaluate `tree` on the inputs `xs` with Tensor ops (tensor=True) or with numpy."
    if isinstance(tree, int): return xs[tree]
    if len(tree) == 2:
        f_t, f_np = UNARY[tree[0]]
        return (f_t if tensor else f_np)(evaluate(tree[1], xs, tensor))
    f_t, f_np = BIN[tree[0]]
    return (f_t if tensor else f_np)(evaluate(tree[1], xs, tensor), evaluate(tree[2], xs, tensor))


@settings(max_examples=300, **SETTINGS)
@given(tree=trees, shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3),
       seed=st.integers(0, 2**16))
def test_random_expression_trees(tree, shapes, seed):
    xs = [data(s, seed + i) for i, s in enumerate(shapes.input_shapes)]
    f = lambda *ts: evaluate(tree, ts, True)
    out = f(*[Tensor(x) for x in xs])
    np.testing.assert_allclose(out.array, np.broadcast_to(evaluate(tree, xs, False), out.shape), rtol=1e-10, atol=1e-12)
    # finite differences can't check a function this steep (e.g. cos of a nested power in the thousands): the engine's
    # answer may be right, but central differences with eps=1e-6 are not; skip such draws
    ts = [Tensor(x) for x in xs]
    assume(max(np.max(np.abs(g.array), initial=0) for g in gradients(f(*ts).sum(), ts)) < 1e3)
    assert gradcheck(f, *xs, order=2)
