"""Bad input and deep graphs for the scalar engine: huge ints, pickling and deep-copying deep graphs, ScalarMLP and fit_scalar
arguments, draw_graph's Tensor protocol and `expand`, and the readability of the drawings stored in notebooks 00-03."""
import copy
import json
import math
import pickle
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from scratchgrad.backprop import get_gradient
from scratchgrad.graph import draw_graph, node_label
from scratchgrad.mlp import ScalarMLP, fit_scalar
from scratchgrad.variable import Variable, var_dot

ROOT = Path(__file__).resolve().parents[1]


# ---- numbers too large for a float -------------------------------------------------------------------------------------
def test_int_too_large_for_a_float_names_the_problem():
    with pytest.raises(OverflowError, match=r"Variable: an int of 401 digits is too large for a float"):
        Variable(10**400)
    with pytest.raises(OverflowError, match=r"^\*: an int of 401 digits"):
        Variable(2.0) * 10**400
    assert Variable(10**300).value == 1e300      # large, but still a float


# ---- pickle and deepcopy -----------------------------------------------------------------------------------------------
def deep_chain(n):
    x = Variable(0.5, name="x")
    y = x
    for _ in range(n):
        y = y + x
    return x, y


def walk_to_leaf(y, x):
    "Follow parents[0] down to the leaf, checking that every node's second input is `x`; return (leaf, depth)."
    node, depth = y, 0
    while node.parents:
        assert node.parents[1] is x
        node, depth = node.parents[0], depth + 1
    return node, depth


@pytest.mark.parametrize("roundtrip", [lambda obj: pickle.loads(pickle.dumps(obj)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_deep_chain_pickles_and_deep_copies_without_recursion(roundtrip):
    n = 100_000
    x, y = deep_chain(n)
    x2, y2 = roundtrip([x, y])
    assert x2 is not x and y2.value == y.value == 0.5 * (n + 1)
    leaf, depth = walk_to_leaf(y2, x2)
    assert leaf is x2 and depth == n
    assert get_gradient(y2)[x2] == n + 1
    y3 = roundtrip(y)                                  # the root alone: its graph comes along
    assert walk_to_leaf(y3, y3.parents[1])[1] == n


def test_pickle_keeps_name_op_grad_and_partials():
    a, b = Variable(3.0, name="a"), Variable(4.0, name="b")
    f = (a + b) * (a * b)
    f.backward()
    f2 = pickle.loads(pickle.dumps(f))
    assert (f2.value, f2.op, f2.grad, f2.partials) == (84.0, "*", 1.0, (12.0, 7.0))
    c2, d2 = f2.parents
    assert c2.parents[0] is d2.parents[0] and c2.parents[0].name == "a" and c2.parents[0].grad == 40.0
    leaf = pickle.loads(pickle.dumps(a))
    assert (leaf.value, leaf.name, leaf.parents, leaf.grad) == (3.0, "a", (), 40.0)


def test_shallow_copy_shares_the_inputs():
    a = Variable(2.0)
    f = a * a
    g = copy.copy(f)
    assert g is not f and g.parents[0] is a and g.value == 4.0


def test_pickling_in_threads():
    results = []
    def work():
        x, y = deep_chain(5_000)
        x2, y2 = pickle.loads(pickle.dumps([x, y]))
        results.append(walk_to_leaf(y2, x2)[1])
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert results == [5_000] * 4


def test_trained_mlp_pickles():
    model = ScalarMLP(2, [4, 1], seed=0)
    fit_scalar(model, [[0.1, 0.2], [0.3, -0.4]] * 4, [0, 1] * 4, epochs=2, batch_size=4, progress=False)
    model2 = pickle.loads(pickle.dumps(model))
    assert model2([0.3, 0.1])[0].value == model([0.3, 0.1])[0].value


# ---- ScalarMLP and fit_scalar arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ((0, [3, 1]), "n_inputs must be a whole number >= 1"),
    ((-2, [3, 1]), "n_inputs must be a whole number >= 1"),
    ((True, [3, 1]), "n_inputs must be a whole number >= 1"),
    ((2, []), "neurons_per_layer is empty"),
    ((2, [0]), r"layer 0 needs a whole number >= 1 of neurons, got 0"),
    ((2, [3, 2.5]), r"layer 1 needs a whole number >= 1 of neurons, got 2\.5"),
])
def test_mlp_refuses_sizes_that_build_no_network(args, message):
    with pytest.raises(ValueError, match=message):
        ScalarMLP(*args)


def test_mlp_accepts_numpy_integer_sizes():
    assert len(ScalarMLP(np.int64(2), [np.int64(3), 1]).parameters()) == 3 * 3 + 4


X, Y = [[0.1, 0.2], [0.3, -0.4]] * 4, [0, 1] * 4


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(lr=0.0), ValueError, "lr must be a positive finite number, got 0.0"),
    (dict(lr=-1.0), ValueError, "lr must be a positive finite number"),
    (dict(lr=math.nan), ValueError, "lr must be a positive finite number, got nan"),
    (dict(lr=math.inf), ValueError, "lr must be a positive finite number, got inf"),
    (dict(lr="0.1"), TypeError, "lr must be a number, got str"),
    (dict(lr=None), TypeError, "lr must be a number, got NoneType"),
    (dict(lr_end=-0.1), ValueError, "lr_end must be a non-negative finite number"),
    (dict(batch_size=0), ValueError, "batch_size must be a whole number >= 1, got 0"),
    (dict(batch_size=-4), ValueError, "batch_size must be a whole number >= 1"),
    (dict(batch_size=2.5), ValueError, "batch_size must be a whole number >= 1, got 2.5"),
    (dict(epochs=-1), ValueError, "epochs must be a whole number >= 0"),
])
def test_fit_refuses_arguments_that_cannot_train(kwargs, error, message):
    model = ScalarMLP(2, [2, 1], seed=0)
    before = [p.value for p in model.parameters()]
    with pytest.raises(error, match=re.escape(message)):
        fit_scalar(model, X, Y, progress=False, **kwargs)
    assert [p.value for p in model.parameters()] == before      # refused before any step


def test_fit_refuses_empty_and_mismatched_data():
    model = ScalarMLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="no training examples"):
        fit_scalar(model, [], [], progress=False)
    with pytest.raises(ValueError, match="3 examples but 2 labels"):
        fit_scalar(model, X[:3], Y[:2], progress=False)


def test_fit_accepts_zero_final_rate_and_zero_epochs():
    model = ScalarMLP(2, [2, 1], seed=0)
    assert fit_scalar(model, X, Y, epochs=0, progress=False) == []
    assert len(fit_scalar(model, X, Y, epochs=1, batch_size=4, lr=0.1, lr_end=0.0, progress=False)) == 2


# ---- draw_graph: the Tensor protocol (a stand-in object), and expand ---------------------------------------------------
class FakeTensor:
    "The graph-node protocol of a Tensor, nothing else."
    def __init__(self, shape, parents=(), op="", name=None, grad=None):
        self.shape, self.dtype, self.parents, self.op, self.name, self.grad = shape, np.dtype("float64"), parents, op, name, grad


def test_objects_with_shape_and_dtype_draw_as_tensors():
    W, x = FakeTensor((3, 2), name="W"), FakeTensor((2,), name="x")
    Wx = FakeTensor((3,), (W, x), op="matmul", grad=np.ones(3))
    assert node_label(W) == "{ W | (3, 2) float64 }"
    assert node_label(Wx) == "{ matmul | (3,) float64 | grad (3,) }"
    assert node_label(FakeTensor((), grad=np.array(2.5))) == "{ () float64 | grad 2.5 }"
    out = FakeTensor((3,), (Wx, FakeTensor((3,), name="b")), op="+", name="out", grad=np.ones(3))
    g = draw_graph(out, expand=True)                  # expand leaves non-scalar nodes alone
    assert "matmul | (3,) float64 | grad (3,)" in g.source.replace("\\", "")
    assert g.source.count("->") == 4


def test_expand_draws_each_product_of_a_dot_node():
    ws = [Variable(0.5, name="w0"), Variable(-2.0, name="w1")]
    xs = [Variable(3.0, name="x0"), Variable(4.0, name="x1")]
    z = var_dot(ws, xs, Variable(1.0, name="b"))
    src = draw_graph(z, expand=True).source
    assert src.count("style=dashed") == 2 and "{ * | 1.5 }" in src and "{ * | -8 }" in src
    assert src.count("->") == 2 * 2 + 2 + 1
    assert draw_graph(z).source.count("->") == 5
    assert draw_graph(z.tanh(), expand=True).source.count("->") == 8     # the dot node below the root is expanded too


def test_expand_with_a_capped_graph_marks_cut_inputs():
    z = var_dot([Variable(1.0), Variable(2.0)], [Variable(3.0), Variable(4.0)], 0.0)
    src = draw_graph(z, max_nodes=2, expand=True).source     # the dot node and w0 are drawn
    assert src.count("…") == 4 and "showing 2 of 6 nodes" in src   # x0, w1, x1 and the bias are cut
    src = draw_graph(z, max_nodes=1, expand=True).source     # at most 1 product per node, too
    assert src.count("…") == 3 and "and 1 more product" in src


# ---- the drawings stored in notebooks 00-03 are readable on the page -------------------------------------------------
COLUMN_PX = 1000    # the width of the page's output column (docs CSS: a 1040 px notebook, minus padding)


def drawings(nb_path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            svg = out.get("data", {}).get("image/svg+xml")
            if svg: yield i, "".join(svg)


@pytest.mark.parametrize("name", ["00_variable", "01_graph", "02_backprop", "03_mlp"])
def test_stored_drawings_have_labels_of_at_least_10px(name):
    "An SVG wider than the column is scaled down to fit; its smallest text must still be >= 10 px tall."
    found = 0
    for i, svg in drawings(ROOT / "nbs" / f"{name}.ipynb"):
        width_px = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1)) * 4 / 3
        smallest_pt = min(float(s) for s in re.findall(r'font-size="([\d.]+)"', svg))
        px = smallest_pt * 4 / 3 * min(1.0, COLUMN_PX / width_px)
        assert px >= 10, f"{name} cell {i}: a {width_px:.0f} px wide drawing shrinks its labels to {px:.1f} px"
        found += 1
    assert found >= 2, f"{name}: expected drawings in the stored outputs"


# ---- pickling keeps no state between saves: shared deep subgraphs, saves that fail, saves inside saves ----------------
class Unsaveable:
    "An object that refuses to be pickled or deep-copied."
    def __reduce__(self): raise TypeError("Unsaveable: refuses to be saved")


def shared_chain(n=5_000):
    "Two outputs a = 2y and b = 3y sharing the chain y = x + x + ... (n additions)."
    x, y = deep_chain(n)
    return x, y, y * 2.0, y * 3.0


ROUNDTRIPS = [lambda obj: pickle.loads(pickle.dumps(obj)), copy.deepcopy,
              lambda obj: pickle.loads(pickle.dumps(obj, protocol=0)), lambda obj: pickle.loads(pickle._dumps(obj))]
ROUNDTRIP_IDS = ["pickle", "deepcopy", "pickle-protocol-0", "python-pickler"]


@pytest.mark.parametrize("roundtrip", ROUNDTRIPS, ids=ROUNDTRIP_IDS)
def test_outputs_sharing_a_deep_subgraph_pickle_again_and_again(roundtrip):
    x, y, a, b = shared_chain()
    a2, b2 = roundtrip([a, b])
    assert a2.parents[0] is b2.parents[0] and (a2.value, b2.value) == (a.value, b.value)    # shared stays shared
    assert walk_to_leaf(a2.parents[0], a2.parents[0].parents[1])[1] == 5_000
    for obj in (y, a, b, y.parents[0].parents[0], [b, a], x):    # each again, in any order: nothing left over
        roundtrip(obj)
    y2 = roundtrip(y)
    assert walk_to_leaf(y2, y2.parents[1])[1] == 5_000 and get_gradient(y2)[y2.parents[1]] == 5_001


@pytest.mark.parametrize("roundtrip", ROUNDTRIPS, ids=ROUNDTRIP_IDS)
def test_pickling_works_after_a_failed_pickle(roundtrip):
    x, y, a, b = shared_chain()
    bad = y
    for _ in range(4_990): bad = bad.parents[0]        # a node 10 steps above the leaf
    bad.name = Unsaveable()
    with pytest.raises(TypeError, match="Unsaveable"):
        roundtrip(a)                                     # fails early: most of a's ancestors were not saved yet
    bad.name = "ok"
    mid = y.parents[0].parents[0]
    for obj in (mid, y, a, [a, b]):                      # every node the failed save had listed
        roundtrip(obj)
    a2 = roundtrip(a)
    assert a2.value == a.value and walk_to_leaf(a2.parents[0], a2.parents[0].parents[1])[1] == 5_000


class PicklesAGraph:
    "A name whose own pickling saves another deep graph (a pickle inside a pickle)."
    def __init__(self, graph): self.graph = graph
    def __reduce__(self): return (pickle.loads, (pickle.dumps(self.graph),))


def test_pickling_is_reentrant():
    x, y, a, b = shared_chain()
    _, other = deep_chain(3_000)
    y.parents[0].name = PicklesAGraph(other)                 # met while a's ancestors are being saved
    a2 = pickle.loads(pickle.dumps(a))
    other2 = a2.parents[0].parents[0].name
    assert walk_to_leaf(other2, other2.parents[1])[1] == 3_000
    assert walk_to_leaf(a2.parents[0], a2.parents[0].parents[1])[1] == 5_000
    pickle.dumps([y, b])                                     # and nothing is left over


# ---- backward(), zero_grad() and pickling come from chapter 02, whatever module is imported --------------------------
def run_fresh(code):
    "Run `code` in a fresh interpreter (the package from this checkout); return its stdout."
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_only_the_variable_module_gives_backward_and_deep_pickling():
    out = run_fresh(
        "import copy, pickle\n"
        "from scratchgrad.variable import Variable\n"
        "a, b = Variable(3.0), Variable(4.0)\n"
        "f = (a + b) * (a * b)\n"
        "f.backward()\n"
        "assert (a.grad, b.grad, f.grad) == (40.0, 33.0, 1.0)\n"
        "f.zero_grad()\n"
        "assert a.grad is None and f.grad is None\n"
        "y = a\n"
        "for _ in range(20_000): y = y + a\n"
        "for y2 in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)): assert y2.value == y.value\n"
        "print(Variable.backward.__module__, Variable.__reduce__.__module__)")
    assert out == "scratchgrad.backprop scratchgrad.backprop"


def test_chapter_00_defines_no_method_that_needs_chapter_02():
    "The class body of chapter 00 knows no reverse pass and no graph walk: chapter 02 attaches them."
    source = (ROOT / "scratchgrad" / "variable.py").read_text(encoding="utf-8")
    for name in ("def backward", "def zero_grad", "__reduce__", "__setstate__", "topo_ordered_nodes", "backprop"):
        assert name not in source, f"scratchgrad/variable.py mentions {name!r}: that belongs to chapter 02"


def test_chapter_02_attaches_the_methods_and_says_why():
    nb = json.loads((ROOT / "nbs" / "02_backprop.ipynb").read_text(encoding="utf-8"))
    cells = [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]
    code = "\n".join(src for kind, src in cells if kind == "code")
    prose = "\n".join(src for kind, src in cells if kind == "markdown")
    for line in ("Variable.backward = backward", "Variable.zero_grad = zero_grad", "Variable.__reduce__ = "):
        assert line in code
    assert "chapter 0 comes first and cannot use a reverse pass" in prose
    heading = lambda text: next(i for i, (kind, src) in enumerate(cells) if kind == "markdown" and text in src)
    assert heading("## Graphs are freed") < heading("## Copying and pickling deep graphs") < heading("## Summary")


# ---- numbers in the prose of notebooks 00-03 come from the page: no quoted timings or sizes ----------------------------
MEASURED = re.compile(r"(\d[\d,.]*)\s*(seconds?|ms|µs|KB|MB|GB|minutes?|hours?|%)(?![\w])")


@pytest.mark.parametrize("name", ["00_variable", "01_graph", "02_backprop", "03_mlp"])
def test_prose_quotes_no_timing_or_size_and_each_percentage_is_asserted(name):
    "Timings and sizes vary with the machine: a cell prints them. A percentage in prose must be asserted by a cell."
    nb = json.loads((ROOT / "nbs" / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown": continue
        prose = re.sub(r"\$[^$]*\$", "", "".join(cell["source"]))        # math is not a measurement
        for number, unit in MEASURED.findall(prose):
            assert unit == "%", f"{name} cell {i}: '{number} {unit}' quoted in prose; print it from a cell instead"
            fraction = f"{float(number.replace(',', '')) / 100:g}"
            assert re.search(rf"\b{re.escape(fraction)}\b", code), f"{name} cell {i}: {number}% is not asserted by any cell"


# ---- chapter 00 reads core first: backpropagation before hardening ----------------------------------------------------
def chapter_00():
    nb = json.loads((ROOT / "nbs" / "00_variable.ipynb").read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def test_chapter_00_backpropagates_before_its_hardening_part():
    cells = chapter_00()
    heading = lambda text: next(i for i, (kind, src) in enumerate(cells) if kind == "markdown" and text in src)
    first_backward = next(i for i, (kind, src) in enumerate(cells) if kind == "code" and "plain_backward(pf)" in src)
    hardening = heading("## Hardening")
    assert first_backward < 25 < hardening < heading("### Copying a node") < heading("## Summary")
    for i, (kind, src) in enumerate(cells[:hardening]):   # no edge-case tests before the hardening part
        if kind != "code" or src.startswith("#| export"): continue
        for edge in ("Variable(math.nan)", "math.inf", "pickle.", "OverflowError", "division by zero", "expected a real number"):
            assert edge not in src, f"cell {i} tests {edge!r} before the hardening part"


def test_chapter_00_says_what_one_pass_of_each_mode_gives():
    text = "\n".join(src for kind, src in chapter_00() if kind == "markdown")
    assert "One pass for **every** input" not in text
    assert "needs $n$ passes" in text and "One backward pass gives the derivative with" in text
