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
