"""draw_graph bounds what it draws: at most `max_nodes` nodes, and at most `max_nodes` inputs of any one node (the rest
are counted in a note), for scalar Variables and for Tensors."""
import re
import shutil

import numpy as np
import pytest

from scratchgrad.graph import draw_graph
from scratchgrad.variable import Variable, var_dot, var_sum


class FakeTensor:
    "The graph-node protocol of a Tensor, nothing else."
    def __init__(self, shape, parents=(), op="", name=None):
        self.shape, self.dtype, self.parents, self.op, self.name, self.grad = shape, np.dtype("float64"), parents, op, name, None


def wide_variable(n=10_000):
    return var_sum(*[Variable(float(i)) for i in range(n)])


def wide_tensor(n=10_000):
    "A real Tensor node with n parents: stack() concatenates n reshaped scalars."
    tensor = pytest.importorskip("scratchgrad.tensor")
    out = tensor.stack([tensor.Tensor(np.array(float(i)), requires_grad=True) for i in range(n)])
    assert len(out.parents) == n
    return out


WIDE = {"variable": wide_variable, "tensor": wide_tensor,
        "fake-tensor": lambda n=10_000: FakeTensor((n,), tuple(FakeTensor(()) for _ in range(n)), op="stack")}


@pytest.mark.parametrize("kind", sorted(WIDE))
def test_a_node_with_10000_inputs_draws_a_small_source_that_counts_the_rest(kind):
    src = draw_graph(WIDE[kind]()).source
    assert len(src) < 60_000, f"{len(src):,} characters of DOT"
    assert "and 9,700 more inputs" in src
    assert len(re.findall(r"-> n0\b(?!_)", src)) == 300 + 1                # 300 inputs (299 drawn, 1 cut) and the note
    assert "showing 300 of " in src


def test_the_input_cap_follows_max_nodes_and_counts_repeats():
    s = wide_variable(10)
    src = draw_graph(s, max_nodes=4).source
    assert "and 6 more inputs" in src and src.count("->") == 4 + 1
    x = Variable(2.0, name="x")
    src = draw_graph(var_sum(*[x] * 1_000)).source   # one parent used 1,000 times: 300 edges and a note
    assert src.count("n1 -> n0") == 300 and "and 700 more inputs" in src
    assert "more input" not in draw_graph(wide_variable(300)).source   # exactly the cap: nothing left out
    assert "and 1 more input\"" in draw_graph(wide_variable(301), max_nodes=300).source


def test_expand_caps_the_products_of_a_wide_dot_node():
    n = 10_000
    z = var_dot([Variable(1.0) for _ in range(n)], [float(i) for i in range(n)], 0.5)
    src = draw_graph(z, expand=True).source
    assert len(src) < 120_000, f"{len(src):,} characters of DOT"
    assert "and 9,700 more products" in src
    assert len(re.findall(r"-> n0\b(?!_)", src)) == 300 + 1 + 1           # 300 product boxes, the note and the bias
    assert src.count("style=dashed") == 300 + 300 + 1 + 1 + 1   # boxes, their cut x_i and w_299, the note, the bias


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_wide_drawing_renders():
    assert draw_graph(wide_variable()).pipe(format="svg").startswith(b"<?xml")
