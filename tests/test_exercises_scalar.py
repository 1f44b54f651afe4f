"""The coding exercises of chapters 01-03: every check says right to a right answer, wrong (naming what failed) to a
wrong one, and "not written yet" only to the untouched stub; and every code cell holding an answer is `#| answer`.

The checks, stubs and answers are taken from the notebooks themselves (the cells are run in a namespace with the
chapter's imports), so these tests follow the pages as they are written.
"""
import ast, json, math, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["01_graph", "02_backprop", "03_mlp"]


def cells(name):
    return json.loads((ROOT / "nbs" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def source(cell): return "".join(cell["source"])


def is_answer(cell): return cell["cell_type"] == "code" and source(cell).startswith("#| answer")


def namespace(name, *markers, extra=""):
    "Run the chapter's import cells, then (in page order) each code cell containing one of `markers`."
    ns = {}
    exec(extra, ns)
    for cell in cells(name):
        src = source(cell)
        if cell["cell_type"] != "code" or "nbdev_export()" in src: continue
        if "import " in src and src.lstrip().startswith(("#| export\nimport", "#| export\nfrom", "import", "from")) \
                or any(m in src for m in markers):
            exec(src, ns)
    return ns


def details_answer(name, fn_name):
    "The code block of the collapsed <details> answer that defines `fn_name`."
    for cell in cells(name):
        src = source(cell)
        if cell["cell_type"] == "markdown" and "<summary>Answer</summary>" in src and f"def {fn_name}(" in src:
            return re.search(r"```python\n(.*?)```", src, re.S).group(1)
    raise AssertionError(f"{name}: no collapsed answer defines {fn_name}")


def answer_function(name, ns, fn_name):
    "The function `fn_name` as the collapsed markdown answer writes it, run in the chapter's namespace."
    local = dict(ns)
    exec(details_answer(name, fn_name), local)
    return local[fn_name]


def verdict(result):
    ok, message = result
    assert isinstance(ok, bool) and isinstance(message, str), result
    return ok, message


# ---- 01: count_nodes ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ch01():
    return namespace("01_graph", "def count_nodes(", "def check_count_nodes(", "def count_nodes_answer(",
                     extra="from scratchgrad.graph import _bfs")


def test_count_nodes_stub_is_not_written_yet(ch01):
    ok, message = verdict(ch01["check_count_nodes"](ch01["count_nodes"]))
    assert not ok and "not written yet" in message and "wrong" not in message


@pytest.mark.parametrize("where", ["details", "answer cell"])
def test_count_nodes_answers_are_right(ch01, where):
    fn = answer_function("01_graph", ch01, "count_nodes") if where == "details" else ch01["count_nodes_answer"]
    ok, message = verdict(ch01["check_count_nodes"](fn))
    assert ok and message.startswith("count_nodes: right") and "RecursionError" in message


def no_return(node, seen=None):
    if seen is None: seen = set()
    seen.add(id(node))
    for parent in node.parents:
        if id(parent) not in seen: no_return(parent, seen)


def counts_paths(node, seen=None):         # a list: a and b are counted once per path
    if seen is None: seen = []
    seen.append(id(node))
    for parent in node.parents: counts_paths(parent, seen)
    return len(seen)


@pytest.mark.parametrize("attempt, says", [
    (no_return, "returns None for f's graph"),
    (counts_paths, "returns 7 for f's graph, which has 5 nodes"),
    (lambda node: node.children, "raised AttributeError"),
    ("bfs", "does not recurse"),
])
def test_count_nodes_wrong_attempts_are_wrong_and_named(ch01, attempt, says):
    if attempt == "bfs": attempt = lambda node: ch01["_bfs"](node, 10**9)[1]   # the right count, without recursion
    ok, message = verdict(ch01["check_count_nodes"](attempt))
    assert not ok and "wrong" in message and "not written yet" not in message and says in message, message


# ---- 02: the neuron by hand ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ch02():
    return namespace("02_backprop", "o = n.tanh()", "by_hand = {", "def check_by_hand(", "answer = {",
                     "def var_softplus(", "def check_softplus(", "def var_softplus_answer(",
                     extra="from scratchgrad.backprop import get_gradient, numerical_gradient, relative_error, topo_ordered_nodes")


def test_by_hand_stub_is_not_written_yet(ch02):
    ok, message = verdict(ch02["check_by_hand"](ch02["by_hand"]))
    assert not ok and "not written yet" in message and "wrong" not in message


def test_by_hand_answer_is_right(ch02):
    ok, message = verdict(ch02["check_by_hand"](ch02["answer"]))
    assert ok and "right" in message


@pytest.mark.parametrize("change, says", [
    ({"w1": -1.0}, "w1 (you wrote -1.0)"),
    ({"w1": math.nan}, "w1 (you wrote nan)"),
    ({"x2": "0.5x"}, "x2"),
    ({"o": 2.0, **{k: None for k in ("n", "s", "b", "x1w1", "x2w2", "x1", "w1", "x2", "w2")}}, "o (you wrote 2.0)"),
    ({"bias": 0.5}, "unknown names ['bias']"),
])
def test_by_hand_wrong_numbers_are_wrong_and_named(ch02, change, says):
    ok, message = verdict(ch02["check_by_hand"]({**ch02["answer"], **change}))
    assert not ok and "wrong" in message and "not written yet" not in message and says in message, message


def test_by_hand_half_done_is_neither_wrong_nor_not_written(ch02):
    ok, message = verdict(ch02["check_by_hand"]({**ch02["answer"], "x2": None, "w2": None}))
    assert not ok and "not finished" in message and "x2, w2" in message
    assert "wrong" not in message and "not written yet" not in message


# ---- 02: softplus as one node ----------------------------------------------------------------------------------------
def test_softplus_stub_is_not_written_yet(ch02):
    ok, message = verdict(ch02["check_softplus"](ch02["var_softplus"]))
    assert not ok and "not written yet" in message and "wrong" not in message


@pytest.mark.parametrize("where", ["details", "answer cell"])
def test_softplus_answers_are_right_and_do_not_overflow(ch02, where):
    fn = answer_function("02_backprop", ch02, "var_softplus") if where == "details" else ch02["var_softplus_answer"]
    ok, message = verdict(ch02["check_softplus"](fn))
    assert ok and "right" in message
    Variable = ch02["Variable"]
    for x, value, slope in [(800.0, 800.0, 1.0), (-800.0, 0.0, 0.0), (1000.0, 1000.0, 1.0), (-1000.0, 0.0, 0.0)]:
        out = fn(Variable(x))
        assert (out.value, out.partials) == (value, (slope,))


def softplus_attempts(ns):
    "Wrong attempts, each with the words the check must say."
    V, m = ns["Variable"], math
    sig = lambda x: 1 / (1 + m.exp(-x)) if x >= 0 else m.exp(x) / (1 + m.exp(x))
    stable = lambda x: max(x, 0.0) + m.log1p(m.exp(-abs(x)))
    return {
        "composite": (lambda a: (a.exp() + 1).log(), "chain of 3 operations (exp, +, log)"),
        "naive value": (lambda a: V(m.log1p(m.exp(a.value)), [(a, sig(a.value))], op="softplus"),
                        "at a = 800 it raised OverflowError"),
        "naive gradient": (lambda a: V(stable(a.value), [(a, 1 / (1 + m.exp(-a.value)))], op="softplus"),
                           "at a = -800 it raised OverflowError"),
        "gradient is the value": (lambda a: V(stable(a.value), [(a, stable(a.value))], op="softplus"),
                                  "at a = -3 the local gradient is"),
        "relu value": (lambda a: V(max(a.value, 0.0), [(a, sig(a.value))], op="softplus"), "at a = -3 the value is 0.0"),
        "nan at 4": (lambda a: V(m.nan if a.value == 4.0 else stable(a.value), [(a, sig(a.value))]),
                     "at a = 4 the value is nan"),
        "a float": (lambda a: stable(a.value), "returns a float, not a Variable"),
        "parent is a copy": (lambda a: V(stable(a.value), [(V(a.value), sig(a.value))]), "must be the input a itself"),
        "Variable partial": (lambda a: V(stable(a.value), [(a, a.sigmoid())]), "raised TypeError"),
    }


@pytest.mark.parametrize("attempt", ["composite", "naive value", "naive gradient", "gradient is the value", "relu value",
                                     "nan at 4", "a float", "parent is a copy", "Variable partial"])
def test_softplus_wrong_attempts_are_wrong_and_named(ch02, attempt):
    fn, says = softplus_attempts(ch02)[attempt]
    ok, message = verdict(ch02["check_softplus"](fn))
    assert not ok and "wrong" in message and "not written yet" not in message and says in message, message


# ---- 03: set_all_weights -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ch03():
    return namespace("03_mlp", "X, y = make_moons(", "def set_all_weights(", "def check_symmetry(",
                     "def set_all_weights_answer(", extra="from scratchgrad.mlp import ScalarMLP, fit_scalar")


def test_set_all_weights_stub_is_not_written_yet(ch03):
    ok, message = verdict(ch03["check_symmetry"](ch03["set_all_weights"]))
    assert not ok and "not written yet" in message and "wrong" not in message


@pytest.mark.parametrize("where", ["details", "answer cell"])
def test_set_all_weights_answers_are_right_and_stay_symmetric(ch03, where):
    fn = answer_function("03_mlp", ch03, "set_all_weights") if where == "details" else ch03["set_all_weights_answer"]
    ok, message = verdict(ch03["check_symmetry"](fn))
    assert ok and "right" in message and "still identical" in message


def first_layer_only(model, value):
    for neuron in model.layers[0].neurons:
        for w in neuron.weights: w.value = value


def biases_too(model, value):
    for layer in model.layers:
        for neuron in layer.neurons:
            for p in neuron.parameters(): p.value = value


@pytest.mark.parametrize("attempt, says", [
    (lambda model, value: None, "layer 0, neuron 0, weight 0 is"),
    (first_layer_only, "layer 1, neuron 0, weight 0 is"),
    (biases_too, "layer 0, neuron 0: the bias is 0.5, not 0"),
    (lambda model, value: model.neurons, "raised AttributeError"),
])
def test_set_all_weights_wrong_attempts_are_wrong_and_named(ch03, attempt, says):
    ok, message = verdict(ch03["check_symmetry"](attempt))
    assert not ok and "wrong" in message and "not written yet" not in message and says in message, message


# ---- every chapter: an exercise with a stub, a check, a collapsed answer; answers only in `#| answer` cells ------------
@pytest.mark.parametrize("name", CHAPTERS)
def test_each_chapter_has_a_coding_exercise_with_stub_check_and_collapsed_answer(name):
    cs = cells(name)
    assert any(c["cell_type"] == "code" and "raise NotImplementedError" in source(c) for c in cs), "no stub"
    assert any(c["cell_type"] == "code" and re.search(r"^def check_\w+\(", source(c), re.M) for c in cs), "no check"
    assert any(c["cell_type"] == "markdown" and "<details><summary>Answer</summary>" in source(c) for c in cs)
    assert any(is_answer(c) for c in cs), "no `#| answer` cell"


def stored_names(tree):
    "Every name a cell binds: assignments, loop targets, function and class names, arguments, imports."
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store): names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)): names.add(node.name)
        elif isinstance(node, ast.arg): names.add(node.arg)
        elif isinstance(node, ast.alias): names.add((node.asname or node.name).split(".")[0])
    return names


def top_level_names(tree):
    "The names a cell defines for later cells: its top-level functions, classes and assignments."
    names = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)): names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


@pytest.mark.parametrize("name", ["00_variable"] + CHAPTERS)
def test_only_answer_cells_use_what_an_answer_cell_defines(name):
    "A cell that uses an answer's name (say var_softplus_answer) would show the answer in plain view."
    cs = [c for c in cells(name) if c["cell_type"] == "code"]
    answer_names = set()
    for c in filter(is_answer, cs):
        answer_names |= top_level_names(ast.parse(source(c))) - {"ok", "message"}
    assert answer_names, f"{name}: no `#| answer` cell"
    for c in cs:
        if is_answer(c) or source(c).startswith("#| hide"): continue
        tree = ast.parse(source(c))
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        leaked = (loaded - stored_names(tree)) & answer_names
        assert not leaked, f"{name}: a cell that is not `#| answer` uses {sorted(leaked)}:\n{source(c)[:300]}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_a_cell_defining_an_answer_is_an_answer_cell(name):
    "The function a collapsed answer writes may be defined again only by the stub or by an `#| answer` cell."
    cs = cells(name)
    wanted = set()
    for c in cs:
        if c["cell_type"] == "markdown" and "<summary>Answer</summary>" in source(c):
            for block in re.findall(r"```python\n(.*?)```", source(c), re.S):
                wanted |= {f for f in top_level_names(ast.parse(block))}
    assert wanted, f"{name}: no collapsed answer with code"
    wanted |= {f + "_answer" for f in wanted} | {"answer"}
    for c in cs:
        if c["cell_type"] != "code" or is_answer(c) or "raise NotImplementedError" in source(c): continue
        defined = top_level_names(ast.parse(source(c))) & wanted
        assert not defined, f"{name}: a visible cell defines {sorted(defined)}, which shows the answer: mark it `#| answer`"


def test_answer_cells_are_not_exported():
    import scratchgrad.backprop, scratchgrad.graph, scratchgrad.mlp
    assert not hasattr(scratchgrad.graph, "count_nodes_answer")
    assert not hasattr(scratchgrad.backprop, "var_softplus_answer") and not hasattr(scratchgrad.backprop, "var_softplus")
    assert not hasattr(scratchgrad.mlp, "set_all_weights_answer")
