"""Bad input and the semantics users trip over, for the scalar engine (scratchgrad.variable / backprop / graph / mlp)."""
import gc
import math
import os
import sys
import weakref

import numpy as np
import pytest

from scratchgrad.backprop import backward, check_gradient, get_gradient, topo_ordered_nodes, zero_grad
from scratchgrad.graph import draw_graph
from scratchgrad.mlp import ScalarMLP, binary_cross_entropy, fit_scalar
from scratchgrad.variable import Variable, var_dot, var_sum


# ---- bad input -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, type_name", [("a", "str"), ([1, 2], "list"), (np.array([1.0, 2.0]), "numpy.ndarray"),
                                              (None, "NoneType"), (1 + 2j, "complex"), (True, "bool")])
def test_non_numeric_value_is_a_type_error_naming_the_type(value, type_name):
    with pytest.raises(TypeError, match=type_name.replace(".", r"\.")):
        Variable(value)


def test_numpy_scalars_and_ints_become_floats():
    for v in (3, np.float32(0.5), np.int64(7), np.float64(2.5)):
        assert type(Variable(v).value) is float
    assert Variable(np.float32(0.5)).value == 0.5


def test_operand_errors_name_the_operation():
    v = Variable(2.0)
    with pytest.raises(TypeError, match=r"\*: expected a real number, got str"):
        v * "x"
    with pytest.raises(TypeError, match=r"-: expected a real number, got list"):
        [1] - v


def test_log_of_non_positive_raises_value_error_with_value():
    with pytest.raises(ValueError, match=r"log: the input must be positive, got 0\.0"):
        Variable(0.0).log()
    with pytest.raises(ValueError, match=r"got -2\.0 for Variable 'p'"):
        Variable(-2.0, name="p").log()


def test_division_by_zero_variable():
    with pytest.raises(ZeroDivisionError, match=r"/: division by zero in 1\.0 / 0\.0 .*'den'"):
        Variable(1.0) / Variable(0.0, name="den")
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        3 / Variable(0.0)


def test_exp_overflow_is_inf_as_in_numpy():
    "Decision (00_variable): a result too large for a float is inf, as numpy gives; math.exp would raise."
    assert Variable(710.0).exp().value == math.inf and Variable(710.0).exp().partials == (math.inf,)
    assert math.isfinite(Variable(709.0).exp().value)


def test_pow_without_real_result():
    with pytest.raises(ValueError, match="no real value"):
        Variable(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="divides by zero"):
        Variable(0.0) ** -1


def test_get_gradient_on_non_variable_is_a_type_error():
    for thing in (3.0, "f", [Variable(1.0)], None):
        with pytest.raises(TypeError, match="get_gradient: expected a Variable"):
            get_gradient(thing)


def test_tensor_is_refused_by_scalar_backprop():
    tensor = pytest.importorskip("scratchgrad.tensor")
    with pytest.raises(TypeError, match="expected a Variable, got Tensor"):
        get_gradient(tensor.Tensor([1.0, 2.0]))


# ---- reuse -------------------------------------------------------------------------------------------------------------
def test_reused_node_gets_the_sum_of_its_paths():
    x, a, b, c = Variable(3.0), Variable(2.0), Variable(5.0), Variable(-4.0)
    assert get_gradient(x * x)[x] == 6.0
    assert get_gradient(x + x)[x] == 2.0
    g = get_gradient(a * b + a * c)
    assert (g[a], g[b], g[c]) == (1.0, 2.0, 2.0)
    assert get_gradient(var_sum(x, x, x))[x] == 3.0
    assert get_gradient(var_dot([x, x], [x, a]))[x] == 2 * 3.0 + 2.0


# ---- backward twice, zero_grad -----------------------------------------------------------------------------------------
def test_backward_accumulates_and_zero_grad_resets_every_node():
    a, b = Variable(3.0), Variable(4.0)
    c = a + b
    f = c * (a * b)
    f.backward()
    assert (a.grad, b.grad, c.grad, f.grad) == (40.0, 33.0, 12.0, 1.0)
    f.backward()
    assert (a.grad, b.grad, c.grad, f.grad) == (80.0, 66.0, 24.0, 2.0)
    f.zero_grad()
    assert all(n.grad is None for n in topo_ordered_nodes(f))
    backward(f)
    assert (a.grad, b.grad) == (40.0, 33.0)
    zero_grad(f)
    assert a.grad is None


def test_backward_works_with_only_the_variable_import():
    import subprocess
    code = ("from scratchgrad.variable import Variable\n"
            "a = Variable(3.0); f = a * a + 1\nf.backward()\nassert a.grad == 6.0, a.grad\nprint('ok')")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.stdout.strip() == "ok", out.stderr


# ---- reflected operators -----------------------------------------------------------------------------------------------
def test_reflected_operators_values_and_both_gradients():
    v, w = Variable(4.0), Variable(0.5)
    cases = [(lambda v: 3 - v, -1.0, -1.0), (lambda v: 3 / v, 0.75, -3 / 16),
             (lambda v: 2 ** v, 16.0, 16 * math.log(2)), (lambda v: 3 + v, 7.0, 1.0), (lambda v: 3 * v, 12.0, 3.0)]
    for fn, value, dv in cases:
        out = fn(v)
        assert out.value == pytest.approx(value, rel=1e-15)
        assert get_gradient(out)[v] == pytest.approx(dv, rel=1e-12)
        assert check_gradient(fn, [4.0]) < 1e-6
    out = v ** w
    g = get_gradient(out)
    assert out.value == pytest.approx(2.0)
    assert g[v] == pytest.approx(0.5 * 4.0 ** -0.5) and g[w] == pytest.approx(2.0 * math.log(4.0))
    assert check_gradient(lambda a, b: a ** b, [4.0, 0.5]) < 1e-6
    # the constant base of 2 ** v is a leaf of its own with gradient v * 2 ** (v - 1)
    p = 2 ** v
    assert get_gradient(p)[p.parents[0]] == pytest.approx(4.0 * 2.0 ** 3)
    assert (np.float64(2.0) - v).value == -2.0


# ---- kinks and saturation ----------------------------------------------------------------------------------------------
def test_relu_derivative_at_zero_is_zero():
    x = Variable(0.0)
    assert get_gradient(x.relu())[x] == 0.0
    assert get_gradient(Variable(1e-12).relu()).popitem()[1] in (1.0,)


@pytest.mark.parametrize("x", [1000.0, -1000.0, 1e300, -1e300])
def test_tanh_and_sigmoid_saturate_without_overflow(x):
    v = Variable(x)
    t, s = v.tanh(), v.sigmoid()
    assert t.value == math.copysign(1.0, x) and s.value == (1.0 if x > 0 else 0.0)
    gt, gs = get_gradient(t)[v], get_gradient(s)[v]
    assert math.isfinite(gt) and math.isfinite(gs) and gt == 0.0 and gs == 0.0


def test_sigmoid_is_accurate_for_large_negative_inputs():
    assert Variable(-700.0).sigmoid().value == pytest.approx(math.exp(-700.0), rel=1e-12)


def test_binary_cross_entropy_on_saturated_sigmoid_stays_finite():
    loss = binary_cross_entropy(Variable(1000.0).sigmoid(), 0)
    assert loss.value == pytest.approx(1000.0)
    z = loss.parents[0]
    assert get_gradient(loss)[z] == pytest.approx(1.0)


# ---- one name, one meaning: the scalar half's names differ from the Tensor half's ------------------------------------
def test_binary_cross_entropy_takes_pred_then_target_as_in_pytorch():
    p = Variable(0.8)
    assert binary_cross_entropy(p, 1).value == pytest.approx(-math.log(0.8), rel=1e-12)
    assert binary_cross_entropy(p, 0).value == pytest.approx(-math.log(0.2), rel=1e-12)
    check_gradient(lambda q: binary_cross_entropy(q, 1), [0.3])
    with pytest.raises(TypeError, match=r"binary_cross_entropy\(pred, target\), as in PyTorch"):
        binary_cross_entropy(1, p)                                   # the old order, label first
    with pytest.raises(TypeError, match=r"target must be a label .* got a computed Variable \(op 'sigmoid'\)"):
        binary_cross_entropy(Variable(1.0), Variable(0.3).sigmoid())   # both Variables, swapped: refused too


def test_fit_scalar_calls_its_loss_with_pred_then_target():
    calls = []
    def loss_fn(pred, target):
        calls.append((type(pred).__name__, target))
        return binary_cross_entropy(pred, target)
    fit_scalar(ScalarMLP(2, [2, 1], seed=0), [[0.1, 0.2], [0.3, -0.4]], [0, 1], epochs=1, batch_size=2,
               loss_fn=loss_fn, progress=False)
    assert sorted(calls) == [("Variable", 0), ("Variable", 1)]


def test_the_old_scalar_names_are_gone():
    "No aliases: a name means one thing (scratchgrad.nn.MLP, scratchgrad.train.fit and .accuracy are the Tensor ones)."
    import scratchgrad.mlp, scratchgrad.variable
    for old in ("MLP", "fit", "accuracy", "binary_crossentropy"):
        assert not hasattr(scratchgrad.mlp, old), f"scratchgrad.mlp.{old} still exists"
    for old in ("_lift", "_reduce"):
        assert not hasattr(scratchgrad.variable, old), f"scratchgrad.variable.{old} still exists"
    assert repr(ScalarMLP(2, [3, 1])) == "ScalarMLP(2, [3, 1], output_activation='sigmoid')"


# ---- depth and memory --------------------------------------------------------------------------------------------------
def test_deep_chain_no_recursion_and_freed_by_refcount():
    x = Variable(0.5)
    y = x
    for _ in range(200_000):
        y = y + x
    assert get_gradient(y)[x] == 200_001.0
    gc.disable()
    try:
        probe = weakref.ref(y.parents[0])
        del y
        assert probe() is None        # freed without the cyclic collector
    finally:
        gc.enable()


def test_training_step_creates_no_cycles():
    model = ScalarMLP(2, [4, 1], seed=0)
    gc.collect()
    gc.disable()
    try:
        fit_scalar(model, [[0.1, 0.2], [0.3, -0.4]] * 4, [0, 1] * 4, epochs=2, batch_size=4, progress=False)
        assert gc.collect() == 0      # nothing for the cyclic collector to find
    finally:
        gc.enable()


# ---- drawing -----------------------------------------------------------------------------------------------------------
def test_draw_graph_big_graph_is_capped_and_says_so():
    y = Variable(1.0)
    for _ in range(5000):
        y = (y * 0.9).tanh()
    g = draw_graph(y)
    assert "showing 300 of 15,001 nodes" in g.source
    assert g.source.count('[label="{') == 300


def test_draw_graph_is_deterministic_and_renders():
    a, b = Variable(3.0, name="a"), Variable(4.0, name="b")
    f = (a + b) * (a * b)
    f.backward()
    g = draw_graph(f)
    assert g.source == draw_graph(f).source
    assert "grad 40" in g.source
    if __import__("shutil").which("dot"):
        assert g.pipe(format="svg").startswith(b"<?xml")


def test_draw_graph_without_dot_shows_source_and_hint(monkeypatch):
    g = draw_graph(Variable(2.0) * 3)
    monkeypatch.setenv("PATH", "")
    bundle = g._repr_mimebundle_()
    assert bundle["text/plain"].startswith("digraph") and "Install Graphviz" in bundle["text/plain"]


def test_draw_graph_of_real_tensors():
    tensor = pytest.importorskip("scratchgrad.tensor")
    W = tensor.Tensor(np.ones((3, 2)), name="W")
    x = tensor.Tensor(np.ones(2), name="x")
    out = (W @ x).sum()
    out.backward(retain_graph=True)      # the Tensor engine frees its graph after backward by default
    src = draw_graph(out).source.replace("\\", "")
    assert "W | (3, 2) float64 | grad (3, 2)" in src
    assert "() float64 = 6" in src


# ---- NaN propagates: NaN in, NaN out, in the value and in every local gradient that depends on it -------------------
NAN = math.nan
UNARY_NAN = {                          # op -> whether its local gradient depends on the input's value
    "relu": (lambda v: v.relu(), True), "log": (lambda v: v.log(), True), "exp": (lambda v: v.exp(), True),
    "tanh": (lambda v: v.tanh(), True), "sigmoid": (lambda v: v.sigmoid(), True), "neg": (lambda v: -v, False),
    "square": (lambda v: v ** 2, True), "sqrt": (lambda v: v ** 0.5, True), "reciprocal": (lambda v: 1 / v, True),
    "rpow": (lambda v: 2.0 ** v, True), "add": (lambda v: v + 1, False), "sub": (lambda v: 3 - v, False),
    "mul": (lambda v: v * 2, False), "div": (lambda v: v / 2, False), "sum": (lambda v: var_sum(v, 1.0), False),
    "dot": (lambda v: var_dot([v], [2.0], 1.0), False),
}


@pytest.mark.parametrize("name", sorted(UNARY_NAN))
def test_nan_input_gives_nan_value_and_nan_local_gradient(name):
    op, depends = UNARY_NAN[name]
    x = Variable(NAN)
    out = op(x)
    assert math.isnan(out.value), f"{name}(nan) = {out.value}"
    g = get_gradient(out)[x]
    assert math.isnan(g) if depends else g == g, f"d {name}/dx at nan = {g}"


def test_relu_of_nan_is_nan_with_a_nan_gradient():
    x = Variable(NAN)
    r = x.relu()
    assert math.isnan(r.value) and math.isnan(r.partials[0])
    assert Variable(-0.0).relu().partials == (0.0,) and Variable(-1.0).relu().value == 0.0    # the step is unchanged
    assert Variable(2.0).relu().partials == (1.0,)


def test_nan_reaches_binary_partials_and_the_exponent():
    a, b = Variable(2.0), Variable(NAN)
    assert math.isnan((a * b).partials[0]) and (a * b).partials[1] == 2.0
    assert all(math.isnan(p) for p in (a / b).partials)
    p = var_pow_of(Variable(NAN), Variable(2.0))
    assert math.isnan(p.value) and all(math.isnan(d) for d in p.partials)
    p = var_pow_of(Variable(2.0), Variable(NAN))
    assert math.isnan(p.value) and all(math.isnan(d) for d in p.partials)


def var_pow_of(a, b):
    return a ** b


def test_log_of_infinity_and_domain_errors_still_raise():
    assert Variable(math.inf).log().value == math.inf and Variable(math.inf).log().partials == (0.0,)
    with pytest.raises(ValueError, match=r"log: the input must be positive, got -inf"):
        Variable(-math.inf).log()


# ---- overflow gives the IEEE result (inf), as numpy and the Tensor half give -------------------------------------------
def np_ieee(fn, *xs):
    "fn evaluated on numpy float64 scalars, IEEE overflow allowed (no warning): numpy's answer."
    with np.errstate(all="ignore"):
        return float(fn(*map(np.float64, xs)))


OVERFLOW_CASES = [   # (description, scratchgrad op, inputs, numpy value, numpy partial for each input)
    ("1e-200 ** -1", lambda a: a ** -1, [1e-200], lambda x: x ** -1.0, [lambda x: -1.0 * x ** -2.0]),
    ("-1e-200 ** -2", lambda a: a ** -2, [-1e-200], lambda x: x ** -2.0, [lambda x: -2.0 * x ** -3.0]),
    ("-1e-200 ** -3", lambda a: a ** -3, [-1e-200], lambda x: x ** -3.0, [lambda x: -3.0 * x ** -4.0]),
    ("-1e200 ** 3", lambda a: a ** 3, [-1e200], lambda x: x ** 3.0, [lambda x: 3.0 * x ** 2.0]),
    ("10 ** 400", lambda a: a ** 400.0, [10.0], lambda x: x ** 400.0, [lambda x: 400.0 * x ** 399.0]),
    ("1e-300 ** -0.5: a huge slope", lambda a: a ** -0.5, [1e-300], lambda x: x ** -0.5, [lambda x: -0.5 * x ** -1.5]),
    ("2 ** 2000", lambda a: 2.0 ** a, [2000.0], lambda x: 2.0 ** x, [lambda x: 2.0 ** x * np.log(2.0)]),
    ("a ** b", lambda a, b: a ** b, [10.0, 400.0], lambda x, n: x ** n,
     [lambda x, n: n * x ** (n - 1.0), lambda x, n: x ** n * np.log(x)]),
    ("exp(710)", lambda a: a.exp(), [710.0], np.exp, [np.exp]),
    ("exp(1e308)", lambda a: a.exp(), [1e308], np.exp, [np.exp]),
    ("1e300 / 1e-300", lambda a, b: a / b, [1e300, 1e-300], lambda x, y: x / y, [lambda x, y: 1 / y, lambda x, y: -x / y / y]),
    ("1 / 5e-324", lambda a: 1.0 / a, [5e-324], lambda x: 1.0 / x, [lambda x: -1.0 / x / x]),
    ("1e200 * 1e200", lambda a, b: a * b, [1e200, 1e200], lambda x, y: x * y, [lambda x, y: y, lambda x, y: x]),
    ("log(5e-324)", lambda a: a.log(), [5e-324], np.log, [lambda x: 1.0 / x]),
]


@pytest.mark.parametrize("case", OVERFLOW_CASES, ids=[c[0] for c in OVERFLOW_CASES])
def test_overflow_gives_numpys_ieee_result_in_value_and_gradient(case):
    _, op, xs, value, partials = case
    inputs = [Variable(x) for x in xs]
    out = op(*inputs)                                  # no OverflowError
    assert out.value == np_ieee(value, *xs)
    grads = get_gradient(out)
    for inp, partial in zip(inputs, partials):
        assert grads[inp] == np_ieee(partial, *xs), (grads[inp], np_ieee(partial, *xs))


def test_results_without_a_real_value_still_raise_naming_op_and_value():
    with pytest.raises(ZeroDivisionError, match=r"\*\*: 0\.0 \*\* -1\.0 divides by zero"):
        Variable(0.0) ** -1
    with pytest.raises(ValueError, match=r"\*\*: negative base -1e\+200 to the non-integer power 2\.5 has no real value"):
        Variable(-1e200) ** 2.5                      # Python would raise OverflowError('complex exponentiation')
    with pytest.raises(ZeroDivisionError, match="/: division by zero"):
        Variable(1.0) / 0.0


# ---- the exponent's partial at a zero base: a limit for b > 0, a convention at b = 0 (PyTorch's) -----------------------
@pytest.mark.parametrize("b", [0.5, 1.0, 2.0, 3.7])
def test_exponent_partial_at_zero_base_is_the_limit_for_positive_b(b):
    assert (Variable(0.0) ** Variable(b)).partials[1] == 0.0
    a = 1e-300                                  # a**b log a -> 0 as a -> 0+ when b > 0
    assert abs(a ** b * math.log(a)) < 1e-100


def test_exponent_partial_at_zero_base_and_zero_exponent_is_a_convention():
    p = Variable(0.0) ** Variable(0.0)
    assert p.value == 1.0 and p.partials == (0.0, 0.0)                 # recorded 0 ...
    assert math.log(1e-300) < -690                                      # ... where a**0 log a = log a has no limit

