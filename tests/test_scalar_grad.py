"""Property test: backprop through random scalar expression graphs (with reused nodes) matches central differences."""
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from scratchgrad.backprop import get_gradient
from scratchgrad.variable import Variable, var_dot, var_sum

# Each op takes Variables (picked from the nodes built so far, so nodes get reused) and returns a Variable.
# Ops whose domain is restricted are composed so that any real input is valid (log(a*a + 1), a / (b*b + 0.5)).
UNARY = {
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "exp_tanh": lambda a: a.tanh().exp(),
    "log_sq1": lambda a: (a * a + 1).log(),
    "cube": lambda a: a ** 3,
    "rsub": lambda a: 2.5 - a,
    "rdiv": lambda a: 1.5 / (a * a + 0.5),
    "rpow": lambda a: 1.7 ** a.tanh(),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "pow": lambda a, b: (a * a + 1) ** b.tanh(),
}
NARY = {
    "sum": lambda *xs: var_sum(*xs),
    "dot": lambda *xs: var_dot(xs[: len(xs) // 2], xs[len(xs) // 2: 2 * (len(xs) // 2)], xs[-1]),
}

instruction = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY)), st.integers(0, 10**6)),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("n"), st.sampled_from(sorted(NARY)), st.lists(st.integers(0, 10**6), min_size=3, max_size=6)),
)


def run(program, values, checks=None):
    "Evaluate the program on leaves holding `values`; return (leaves, output). Records kink/size facts in `checks`."
    leaves = [Variable(v) for v in values]
    nodes = list(leaves)
    for ins in program:
        kind, name = ins[0], ins[1]
        if kind == "u":
            a = nodes[ins[2] % len(nodes)]
            if name == "relu" and checks is not None: checks.append(abs(a.value))   # keep away from the kink
            nodes.append(UNARY[name](a))
        elif kind == "b":
            nodes.append(BINARY[name](nodes[ins[2] % len(nodes)], nodes[ins[3] % len(nodes)]))
        else:
            nodes.append(NARY[name](*[nodes[i % len(nodes)] for i in ins[2]]))
    # the output reuses the last nodes and the first leaf once more
    out = var_sum(*nodes[-3:]) * nodes[0] + nodes[-1]
    return leaves, out, nodes


def central_differences(program, values):
    grads = []
    for i, x in enumerate(values):
        h = 1e-6 * max(1.0, abs(x))
        up = run(program, [v + h if j == i else v for j, v in enumerate(values)])[1].value
        down = run(program, [v - h if j == i else v for j, v in enumerate(values)])[1].value
        grads.append((up - down) / (2 * h))
    return grads


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(values=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=4),
       program=st.lists(instruction, min_size=1, max_size=12))
def test_backprop_matches_central_differences(values, program):
    kinks = []
    leaves, out, nodes = run(program, values, kinks)
    assume(all(k > 1e-3 for k in kinks))                          # relu is not differentiable at 0
    assume(all(abs(n.value) < 1e3 for n in nodes + [out]))        # keep rounding in the differences small
    grads = get_gradient(out)
    backprop = [grads.get(leaf, 0.0) for leaf in leaves]
    numerical = central_differences(program, values)
    for i, (g, n) in enumerate(zip(backprop, numerical)):
        err = abs(g - n) / max(1.0, abs(g), abs(n))
        assert err < 1e-6, f"input {i}: backprop {g}, central difference {n}, program {program}, values {values}"


def test_reuse_is_exercised():
    "The program generator really produces graphs in which a node feeds several operations."
    program = [("b", "mul", 0, 0), ("b", "add", 1, 0), ("n", "sum", [0, 1, 2, 0])]
    leaves, out, nodes = run(program, [1.5])
    g = get_gradient(out)[leaves[0]]
    # out = (x*x + (x*x + x) + (x + x*x + (x*x + x) + x)) * x + (x + x*x + (x*x + x) + x) ... checked numerically
    n = central_differences(program, [1.5])[0]
    assert abs(g - n) < 1e-6 * max(1, abs(n))
    assert sum(p is leaves[0] for node in nodes for p in node.parents) >= 4


# ---- check_gradient and numerical_gradient can fail --------------------------------------------------------------------
import scratchgrad.variable as variable_module
from scratchgrad.backprop import check_gradient, numerical_gradient, relative_error
from scratchgrad.variable import Variable as V


def scaled_square(factor):
    "x**2 as one node whose recorded local gradient is `factor` times the right one (2x)."
    def square(a): return V(a.value ** 2, [(a, factor * 2.0 * a.value)], op="square")
    return square


def test_check_gradient_passes_a_right_gradient_and_returns_a_small_error():
    err = check_gradient(scaled_square(1.0), [1.7])
    assert 0.0 <= err < 1e-8


@pytest.mark.parametrize("factor", [2.0, 0.0, -1.0, 1.001])
def test_check_gradient_refuses_a_wrong_local_gradient(factor):
    with pytest.raises(AssertionError, match=r"check_gradient: input 0 of square at \[1\.7\].*relative error"):
        check_gradient(scaled_square(factor), [1.7])


def test_check_gradient_tolerance_is_relative_and_respected():
    off = scaled_square(1 + 1e-3)                    # 0.1 % off
    with pytest.raises(AssertionError):
        check_gradient(off, [1.7])                   # default rtol 1e-6
    assert 9e-4 < check_gradient(off, [1.7], rtol=1e-2) < 1.1e-3
    big = scaled_square(1 + 1e-5)                    # gradient 2e6 at x = 1e6: relative, not absolute, error
    with pytest.raises(AssertionError):
        check_gradient(big, [1e6])
    assert check_gradient(scaled_square(1.0), [1e6]) < 1e-6


def test_check_gradient_catches_a_corrupted_operation(monkeypatch):
    "Corrupt the product's partial for its second input: a * b in f must then fail the check."
    right = variable_module.var_mul
    def var_mul_wrong(a, b):
        out = right(a, b)
        return V(out.value, [(out.parents[0], out.partials[0]), (out.parents[1], 1.01 * out.partials[1])], op="*")
    f = lambda a, b: (a * b).tanh()
    assert check_gradient(f, [0.3, -0.8]) < 1e-8
    monkeypatch.setattr(variable_module, "var_mul", var_mul_wrong)
    with pytest.raises(AssertionError, match="input 1 of <lambda>"):
        check_gradient(f, [0.3, -0.8])


def test_check_gradient_fails_on_nan_in_any_input():
    "A nan gradient (or a nan measurement) is a failure, wherever it is among the inputs."
    def nan_for_b(a, b): return V(a.value + b.value, [(a, 1.0), (b, math.nan)], op="+")
    def nan_for_a(a, b): return V(a.value + b.value, [(a, math.nan), (b, 1.0)], op="+")
    for f in (nan_for_a, nan_for_b):
        with pytest.raises(AssertionError, match="relative error nan"):
            check_gradient(f, [1.0, 2.0])


def test_numerical_gradient_is_a_central_difference():
    "Exact derivatives to ~1e-9; a one-sided difference would be off by about h * f''/2 ~ 6e-6 here."
    f = lambda a, b: a ** 3 * b + b.exp()
    g = numerical_gradient(f, [2.0, 0.5])
    assert abs(g[0] - 3 * 4.0 * 0.5) < 1e-8 and abs(g[1] - (8.0 + math.exp(0.5))) < 1e-8
    assert numerical_gradient(lambda a: 3.0, [1.0]) == [0.0]      # a constant number is allowed
    assert abs(numerical_gradient(lambda a: a * a, [1e8])[0] - 2e8) < 2e8 * 1e-7   # the step scales with |x|


def test_relative_error():
    assert relative_error(1e6, 1e6 + 1) == pytest.approx(1e-6)          # relative for large numbers
    assert relative_error(0.0, 1e-7) == pytest.approx(1e-7)             # absolute below 1
    assert relative_error(math.inf, math.inf) == 0.0                    # equal is equal, even infinite
    assert math.isnan(relative_error(math.nan, 1.0)) and math.isnan(relative_error(1.0, math.nan))
    assert relative_error(math.inf, 1.0) != 0.0
