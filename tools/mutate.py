"""Mutation testing of scratchgrad's core: plant one known defect at a time and check that the tests notice.

Each mutant is `(name, module, old snippet, new snippet, what it breaks)`. The snippet must occur exactly once in
`scratchgrad/<module>.py` and the mutated module must still compile, or the run stops (so the list stays honest as the
code changes). Each mutant is applied to a fresh copy of `scratchgrad/`, `tests/` and `pytest.ini` in a temporary folder
(the real files are never touched), then `python -m pytest -x -q -p no:cacheprovider <tests>` runs there with
`PYTHONPATH=<copy>`. Failing tests: killed. All passing: survived. Too slow: timeout (counted as killed, shown apart).
By default a mutant runs only the test files of its module (TESTS below, plus tests/test_core_mutants.py): seconds, not
minutes. `--all-tests` runs the whole suite, except tests/test_docs.py (it clones the repository), on a copy of the whole
worktree. First the unmutated copy must pass the same tests (a suite that already fails would kill every mutant and
prove nothing). Hypothesis runs with a fixed seed, so a run is repeatable.

Why a curated list rather than a generator such as mutmut: each mutant here models a defect someone could really write
(a flipped sign in a VJP, a check that no longer compares, a lost accumulation, a write that is no longer atomic), and
says which. A generated set changes every operator and constant: many of its mutants are equivalent (cannot change
behaviour, e.g. in error messages or dead branches) and each survivor must be triaged by hand, and it needs the whole
suite per mutant (~140 s here) because it does not know which tests concern which code.
Equivalent mutants (`equivalent=True`, with the reason in their description) are run but left out of the score; if one
is killed, the run says so: it was not equivalent.

    python tools/mutate.py                     # every mutant, 1 job; exit 1 if the score is below --min-score (95)
    python tools/mutate.py --jobs 2 --only gradcheck_never_compares
    python tools/mutate.py --all-tests --deselect tests/test_footprint.py   # other options go to pytest
"""
import argparse, os, shutil, signal, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]

class Mutant(NamedTuple):
    name: str; module: str; old: str; new: str; what: str; equivalent: bool = False

M = Mutant
MUTANTS = [
    # engine: recording, grad mode, unbroadcast, order, accumulation, release, read-only holds, VJPs, .grad ownership
    M('apply_ignores_grad_mode', 'engine', "record = needs_grad and _state.grad_enabled", "record = needs_grad",
      "no_grad() still records a graph"),
    M('switch_not_restored', 'engine', "setattr(_state, self.field, saved.pop(i)[1])", "saved.pop(i)",
      "a no_grad()/detect_anomaly() block leaves its mode on"),
    M('switch_shared_stack', 'engine', "while saved[i][0] is not self: i -= 1", "pass",
      "a switch restores the top entry, another switch's value, when blocks end out of order"),
    M('set_grad_enabled_call_ignored', 'engine', "self._before, _state.grad_enabled = _state.grad_enabled, self.mode",
      "self._before = _state.grad_enabled", "set_grad_enabled(False) as a plain call does nothing"),
    M('views_not_held', 'engine', "elif p.array.base is not None:", "elif False:",
      "a parameter read through a view (x @ W.T) is not held read-only"),
    M('integers_recorded', 'engine', "and out.dtype.kind in 'fc'", "",
      "a cast to an integer passes the gradient through"),
    M('np_array_shares', 'engine', "return self.array.copy() if copy else self.array", "return self.array",
      "np.array(t) returns the Tensor's own buffer: a snapshot moves with the next update"),
    M('pickle_keeps_requires_grad', 'engine', "self.requires_grad and not computed", "self.requires_grad",
      "a copied computed Tensor becomes a new parameter"),
    M('defprim_accepts_any', 'engine', "if _definition(old.forward) != _definition(forward):", "if False:",
      "a different forward under a taken name silently replaces a primitive"),
    M('defprim_drops_faster_vjp', 'engine', "if old.vjp is not old.plain_vjp: prim.vjp = old.vjp", "pass",
      "re-running a defprim uninstalls chapter 04d's faster VJP (which VJP runs depends on run order)"),
    M('anomaly_op_stuck', 'engine', "finally: state.backward_op = None", "finally: pass",
      "after a VJP raises, forward anomalies are reported as inside that VJP"),
    M('unbroadcast_lead_axis', 'ops', "axes = tuple(range(lead))", "axes = tuple(range(1, lead))",
      "unbroadcast forgets to sum the first added leading axis"),
    M('unbroadcast_stretched_axes', 'ops', "if n == 1 and gshape[lead + i] != 1])", "if False])",
      "unbroadcast does not sum over the size-1 axes broadcasting stretched"),
    M('toposort_reversed', 'engine', "order.append(node)   # (else a stale copy", "order.insert(0, node)   # (",
      "interior nodes come before their parents: VJPs run before their cotangent is complete"),
    M('toposort_stale_copy', 'engine', "if not listed: state[node] = True;", "state[node] = True;",
      "a node pushed twice is listed twice: its VJP runs on a partial cotangent"),
    M('backprop_no_accumulate', 'engine', "grads[p] = c if p not in grads else grads[p] + c", "grads[p] = c",
      "a reused node keeps only the last path's cotangent"),
    M('graph_never_released', 'engine', "if not (create_graph if retain_graph is None else retain_graph):",
      "if False:", "the graph is kept after backward (memory; no error on a second pass)"),
    M('released_graph_not_refused', 'engine', "if is_leaf and node.op: raise", "if False: raise",
      "a second pass through a released graph silently stops at the cut"),
    M('hold_not_read_only', 'engine', "t.array.setflags(write=False)", "pass",
      "an in-place write to a leaf the graph still needs goes through (wrong gradient)"),
    M('hold_never_unlocked', 'engine', "if t._users == 0 and t._writeable: t.array.setflags(write=True)", "pass",
      "parameters stay read-only after their graph is gone"),
    M('hold_count_lost', 'engine', "t._users += 1", "t._users = 1",
      "with two graphs reading a leaf, the first released makes it writeable"),
    M('add_vjp_sign', 'ops', "def _add_vjp(g, out, a, b):\n    return (unbroadcast(g,",
      "def _add_vjp(g, out, a, b):\n    return (unbroadcast(-g,", "add's VJP flips the sign for a"),
    M('sub_vjp_sign', 'ops', "unbroadcast(-g, b.shape)", "unbroadcast(g, b.shape)", "sub's VJP forgets the minus"),
    M('mul_vjp_swap', 'ops', "unbroadcast(g * b, a.shape)", "unbroadcast(g * a, a.shape)",
      "mul's VJP multiplies by the wrong operand"),
    M('div_vjp_sign', 'ops', "unbroadcast(-g * out / b, b.shape)", "unbroadcast(g * out / b, b.shape)",
      "div's VJP for the denominator loses its minus"),
    M('pow_vjp_base', 'ops', "a ** (b - 1 + (b.array == 0))", "a ** (b + (b.array == 0))",
      "the power rule without the - 1"),
    M('pow_vjp_exponent', 'ops', "g * out * (log(safe) + nan_below)", "g * (log(safe) + nan_below)",
      "d(a**b)/db without the factor a**b"),
    M('exp_vjp', 'ops', "np.exp, lambda g, out, x: (g * out,)", "np.exp, lambda g, out, x: (g * x,)",
      "exp's VJP multiplies by x instead of exp(x)"),
    M('log_vjp', 'ops', "lambda g, out, x: (g / x,)", "lambda g, out, x: (g * x,)", "log's VJP multiplies by x"),
    M('relu_kink', 'ops', "(g * np.sign(out.array),)", "(g * (out.array >= 0),)",
      "relu'(0) becomes 1 (documented: 0), and a NaN's slope vanishes"),
    M('matmul_vjp_no_transpose', 'ops', "g2 @ _mT(b2)", "g2 @ b2",
      "matmul's VJP (vectors, stacks) forgets to transpose b"),
    M('sum_vjp_axes', 'ops', "if axis is not None and not keepdims: g = reshape(", "if False: g = reshape(",
      "sum's VJP does not put the summed axes back before broadcasting"),
    M('mean_count', 'ops', "[shape[a] for a in axes])", "[shape[a] for a in axes[:1]])",
      "a mean over several axes divides by the length of the first only"),
    M('transpose_vjp_inverse', 'ops', "[int(i) for i in np.argsort(axes)]", "[int(i) for i in axes]",
      "transpose's VJP applies the permutation instead of its inverse"),
    M('astype_vjp_precision', 'ops', "(astype(g, x.dtype),)", "(astype(g, np.float16),)",
      "astype's VJP rounds the cotangent through float16"),
    M('own_shares_memory', 'engine', "if a.base is None and a.flags.writeable and id(a) not in taken:", "if True:",
      "two .grads (or a .grad and the caller's grad=) share one array"),
    M('backward_overwrites_grad', 'engine', "leaf.grad = g if leaf.grad is None else leaf.grad + g", "leaf.grad = g",
      "backward() overwrites .grad instead of accumulating"),
    M('backward_always_records', 'engine', "with _GradMode(create_graph):", "with _GradMode(True):",
      "every backward pass is recorded (create_graph ignored: memory, .grad requires grad)"),
    M('fit_skips_shape_check', 'engine', "if c.array.shape != p.array.shape:", "if False:",
      "a VJP returning a wrongly shaped cotangent is not caught"),
    M('anomaly_not_checked', 'engine', "if _state.anomaly: _check_finite(prim, out, inputs)", "pass",
      "detect_anomaly() detects nothing"),
    M('anomaly_backward_unnamed', 'engine', "if state.anomaly: state.backward_op = prim.name", "pass",
      "an anomaly in the backward pass does not name the VJP"),
    # tensor: the gradient checker, the VJPs of chapter 04c
    M('gradcheck_never_compares', 'tensor', "or not np.allclose(a.array", "or False and np.allclose(a.array",
      "gradcheck accepts any gradient of the right shape"),
    M('gradcheck_loose', 'tensor', "np.allclose(a.array, num, rtol=rtol, atol=atol)",
      "np.allclose(a.array, num, rtol=1.0, atol=atol)", "gradcheck passes a VJP off by a factor of 2"),
    M('gradcheck_no_order_2', 'tensor', "if order > 1:", "if False:", "gradcheck(order=2) checks only order 1"),
    M('numeric_grad_step', 'tensor', "g[j] = (up - down) / (2 * eps)", "g[j] = (up - down) / eps",
      "finite differences twice too large"),
    M('sigmoid_vjp', 'tensor', "(g * out * (1 - out),)", "(g * out,)", "sigmoid' = s instead of s (1 - s)"),
    M('softplus_vjp', 'tensor', "(g * sigmoid(x),)", "(g * sigmoid(-x),)", "softplus' = sigmoid(-x)"),
    M('tanh_vjp', 'tensor', "(g - (g * out) * out,)", "(g - (g * out),)", "tanh' = 1 - t instead of 1 - t^2"),
    M('minimum_is_maximum', 'tensor', "defprim('minimum', np.minimum, _pick_vjp(np.less),",
      "defprim('minimum', np.minimum, _pick_vjp(np.greater),", "minimum's gradient goes to the larger input"),
    M('min_negation_trick', 'tensor', "np.minimum.reduce(x, axis=axis, keepdims=keepdims)",
      "-np.maximum.reduce(-x, axis=axis, keepdims=keepdims)", "min as -max(-x): wrong for unsigned integers"),
    M('log_softmax_nan_rows', 'tensor', "return shifted - np.where(lse == -np.inf, 0, lse)", "return shifted - lse",
      "log_softmax of a row of -inf is NaN"),
    M('logsumexp_empty_axis', 'tensor', "keepdims=True, initial=-np.inf)", "keepdims=True)",
      "logsumexp over an empty axis raises instead of giving -inf"),
    M('target_gradient_dropped', 'tensor', "t = target if isinstance(target, Tensor) else _leaf(np.asarray(target))",
      "t = _leaf(np.asarray(_data(target)))", "a target that requires a gradient gets none (mse, BCE)"),
    M('max_tie_split', 'tensor', "(hits / hits.sum(axis=axis, keepdims=True))", "(hits)",
      "max gives every tied entry the full gradient"),
    M('logsumexp_vjp', 'tensor', "(reshape(g, kshape) * exp(x - lse),)", "(reshape(g, kshape) * exp(x),)",
      "logsumexp's VJP is exp(x), not softmax"),
    M('where_vjp_swap', 'tensor', "where(cond.array, g, zero)", "where(cond.array, zero, g)",
      "where sends a's cotangent to the entries it did not pick"),
    M('ce_vjp_mean', 'tensor', "if reduction == 'mean': g = g * (1.0 / builtins.max(len(y.array), 1))", "pass",
      "cross_entropy's differentiable VJP (create_graph) forgets the 1/N of the mean"),
    M('ce_vjp_onehot', 'tensor', "(exp(log_softmax(z, axis=1)) - onehot) * g", "(exp(log_softmax(z, axis=1)) + onehot) * g",
      "cross_entropy's differentiable VJP adds the one-hot"),
    # fast: chapter 04d's VJPs
    M('fast_matmul_b', 'fast', "apply('matmul_tn', a, g) if b.requires_grad", "apply('matmul_tn', g, a) if b.requires_grad",
      "the 2-D matmul VJP for b multiplies in the wrong order"),
    M('fast_matmul_nt_sign', 'fast', "return (apply('matmul', g, b) if a.requires_grad",
      "return (-apply('matmul', g, b) if a.requires_grad", "matmul_nt's VJP flips the sign for a"),
    M('fast_ce_onehot', 'fast', "d[np.arange(len(d)), y.array] -= 1", "d[np.arange(len(d)), y.array] += 1",
      "the fast cross-entropy VJP adds the one-hot"),
    M('fast_ce_mean', 'fast', "elif reduction == 'mean' and len(d): d *= 1 / len(d)", "pass",
      "the fast cross-entropy VJP forgets the 1/N of the mean"),
    M('fast_ce_create_graph', 'fast', "if is_grad_enabled():", "if False:",
      "with create_graph the cross-entropy's VJP is a constant: wrong second derivatives"),
    # backprop: the scalar reverse pass and its checker
    M('check_gradient_never_fails', 'backprop', "if not err < rtol:", "if False:", "check_gradient accepts any gradient"),
    M('check_gradient_first_input_only', 'backprop', "for i, err in enumerate(errors):", "for i, err in enumerate(errors[:1]):",
      "check_gradient looks only at the first input"),
    M('check_gradient_misses_nan', 'backprop', "if not err < rtol:", "if err >= rtol:",
      "check_gradient passes a NaN gradient (nan >= rtol is False)"),
    M('topo_duplicates', 'backprop', "if node not in finished:", "if True:",
      "a node reached twice is listed twice: its partials are propagated twice"),
    M('get_gradient_no_accumulate', 'backprop', "grads[parent] = get(parent, 0.0) + partial * g",
      "grads[parent] = partial * g", "paths into a reused node do not add up"),
    M('scalar_backward_overwrites', 'backprop', "node.grad = g if node.grad is None else node.grad + g",
      "node.grad = g", "Variable.backward() overwrites .grad"),
    # variable: local gradients
    M('var_mul_swap', 'variable', '(y, x), "*")', '(x, y), "*")', "mul's partials swapped"),
    M('var_div_sign', 'variable', "(1.0 / y, -q / y)", "(1.0 / y, q / y)", "d(a/b)/db loses its minus"),
    M('var_tanh', 'variable', "(1.0 - t * t,)", "(1.0 - t,)", "tanh' = 1 - t"),
    M('var_sigmoid', 'variable', "(s * (1.0 - s),)", "(s,)", "sigmoid' = s"),
    M('var_pow_exponent', 'variable', "d_exponent = out * math.log(x)", "d_exponent = math.log(x)",
      "d(a**b)/db without the factor a**b"),
    M('var_power_rule', 'variable', "n * _pow(x, n - 1.0)", "n * _pow(x, n)", "the power rule without the - 1"),
    M('var_relu_kink', 'variable', 'if x > 0.0: return _node(x, (a,), (1.0,), "relu")',
      'if x >= 0.0: return _node(x, (a,), (1.0,), "relu")', "relu'(0) becomes 1"),
    M('var_relu_nan_is_zero', 'variable', 'if x <= 0.0: return _node(0.0, (a,), (0.0,), "relu")',
      'if not x > 0.0: return _node(0.0, (a,), (0.0,), "relu")', "relu(nan) is 0: a NaN vanishes"),
    M('var_dot_swap', 'variable', "xv + wv + (1.0,)", "wv + xv + (1.0,)", "var_dot's partials of w and x swapped"),
    # files: atomic writes (save and write_idx go through write_atomically)
    M('save_not_atomic', 'files', "        with open(tmp, 'xb') as f:", "        with open(path, 'wb') as f:",
      "save/write_idx write over the old file in place: a crash leaves half a file"),
    M('save_litter', 'files', "tmp.unlink(missing_ok=True)", "pass", "a failed save/write_idx leaves its temporary file"),
    M('save_into_a_folder', 'files', "or Path(raw).is_dir():", "and False:",
      "save('ckpts/') writes ckpts.npz beside the folder"),
    M('no_fsync_before_rename', 'files', "f.flush(); os.fsync(f.fileno())    # the bytes", "f.flush()    # the bytes",
      "a power cut after the rename can leave an empty file"),
    # checkpoint: all-or-nothing load
    M('load_skips_shape_check', 'checkpoint', "if shape != t.shape: problems", "if False: problems",
      "load accepts (broadcasts) a parameter of another shape"),
    M('load_not_all_or_nothing', 'checkpoint', "    _check_writeable({n: t for n, t in targets.items() if n in state})\n", "",
      "a read-only target is found only after the ones before it were overwritten"),
    M('load_reads_before_checking', 'checkpoint',
      "        _refuse(model, _name_problems(targets, names))                 # the table of contents: no entry read yet",
      "        _ = {n: _read_entry(zf, n, path) for n in names}", "load reads every entry (a huge one too) before refusing"),
    M('shared_names_dropped', 'checkpoint', "return {name: t.array.copy() for name, t in model.named_tensors(remove_duplicate=False)}",
      "return {name: t.array.copy() for name, t in model.named_tensors()}",
      "Sequential(l, ReLU(), l) saves only 0.*, not 2.* as PyTorch"),
    M('load_skips_dtype_check', 'checkpoint', "elif dtype != t.dtype:", "elif False:",
      "load silently casts float64 parameters into a float32 model"),
    # nn: parameter discovery
    M('shared_listed_twice', 'nn', "keep(v) and not (remove_duplicate and id(v) in seen):", "keep(v):",
      "a shared parameter is listed (and updated) twice"),
    M('lists_not_searched', 'nn', "if isinstance(value, (list, tuple)):", "if False:",
      "parameters inside a list attribute are not found"),
    M('cycles_loop_forever', 'nn', "if id(m) in (seen if remove_duplicate else path): continue", "pass",
      "a child that refers to its parent makes parameters() loop forever"),
    M('sequential_subclass_attrs_lost', 'nn',
      "        yield from ((n, v) for n, v in super()._members() if n.split('.')[0] != 'layers')\n", "",
      "a Sequential subclass's own layers are not trained, saved or put in eval mode"),
    M('dropout_captures_generator', 'nn', "keep = _rng(self.generator).random(x.shape)",
      "keep = self.__dict__.setdefault('_kept', _rng(self.generator)).random(x.shape)",
      "a Dropout keeps the generator of its first call: manual_seed no longer resets it"),
    M('constants_are_parameters', 'nn', "return isinstance(v, Tensor) and v.requires_grad", "return isinstance(v, Tensor)",
      "constant Tensors count as parameters"),
    # autograd: the functional API
    M('nested_not_recorded', 'autograd', "nested = level > 1   # an enclosing", "nested = False   # an enclosing",
      "grad(grad(f)) sees a constant inner gradient"),
    M('jacobian_transposed', 'autograd', "_assemble(rows, 0, s)", "_assemble(rows, -1, s)",
      "reverse-mode jacobian stacks rows as columns"),
    M('dtype_of_unused_argument', 'autograd', "return _like_arg(np.zeros(_shape(arg)) if g is None else _leave(g, level), arg)",
      "return np.zeros(_shape(arg)) if g is None else _like_arg(_leave(g, level), arg)",
      "grad with respect to an unused float32 argument returns float64 zeros"),
    # one registration per primitive (issue 20): defprim's method, snp's lookup by name, snp's numpy twins
    M('defprim_makes_no_method', 'engine', "if method: setattr(Tensor, name, fn)", "pass",
      "defprim(..., method=True) makes no Tensor method"),
    M('snp_misses_new_primitives', 'numpy', "if name in PRIMITIVES: return primitive(name)", "pass",
      "a primitive added with defprim is not reachable as snp.<name>"),
    M('snp_twin_wrong_primitive', 'numpy', "subtract = _numpy_twin('subtract', 'sub', 2,", "subtract = _numpy_twin('subtract', 'add', 2,",
      "snp.subtract runs the primitive add"),
    M('hvp_ignores_v', 'autograd', "snp.sum(snp.multiply(grad_f(*a, **kwargs), v))", "snp.sum(grad_f(*a, **kwargs))",
      "hvp returns H @ ones instead of H @ v"),
]

assert len({m.name for m in MUTANTS}) == len(MUTANTS), 'two mutants share a name'

_ENGINE = ['tensor_engine', 'tensor_ops', 'tensor_safety', 'tensor_hypothesis', 'tensor_memory', 'threads', 'fast_paths',
           'autograd_api', 'autograd_numpy']
TESTS = {   # module -> the test files (tests/test_<name>.py) that concern it
    'engine': _ENGINE + ['engine_edges', 'one_registration'], 'ops': _ENGINE + ['engine_edges'], 'tensor': _ENGINE + ['nn_losses', 'engine_edges'],
    'fast': _ENGINE + ['nn_losses'],
    'backprop': ['scalar_grad', 'scalar_semantics'], 'variable': ['scalar_grad', 'scalar_semantics'],
    'files': ['checkpoint', 'data_idx'], 'checkpoint': ['checkpoint', 'module_state'], 'nn': ['nn_module', 'checkpoint', 'nn_optim', 'module_state'],
    'autograd': ['autograd_api', 'autograd_numpy', 'functional_edges'],
    'numpy': ['autograd_numpy', 'functional_edges', 'one_registration'],
}
EXTRA = 'tests/test_core_mutants.py'   # tests written to kill mutants: run for every module

def tests_for(modules, all_tests) -> list:
    if all_tests: return ['tests', '--ignore=tests/test_docs.py']   # it clones the repository: a copy has no .git
    files = dict.fromkeys(f'tests/test_{t}.py' for m in modules for t in TESTS[m])
    return ([EXTRA] if (ROOT / EXTRA).exists() else []) + list(files)   # (EXTRA first: it is fast and pointed)

def mutated_source(m) -> str:
    "The module's text with the mutant applied; exits if the snippet is not there exactly once or does not compile."
    path = ROOT / 'scratchgrad' / f'{m.module}.py'
    src = path.read_text()
    if src.count(m.old) != 1:
        sys.exit(f"mutate: mutant '{m.name}': its snippet occurs {src.count(m.old)} times in {path.relative_to(ROOT)} "
                 f"(it must occur exactly once; update the mutant to the current code):\n{m.old}")
    new = src.replace(m.old, m.new)
    try: compile(new, str(path), 'exec')
    except SyntaxError as e: sys.exit(f"mutate: mutant '{m.name}' does not compile ({e}); fix the mutant")
    return new

def copy_tree(dest: Path, all_tests: bool):
    "Copy what the tests need into `dest`: the whole worktree for --all-tests (docs, notebooks, tools...)."
    skip = shutil.ignore_patterns('.git', '.venv', 'build', '*.egg-info', '__pycache__', '.hypothesis', '_proc')
    if all_tests: shutil.copytree(ROOT, dest, ignore=skip, dirs_exist_ok=True); return
    for d in ('scratchgrad', 'tests'): shutil.copytree(ROOT / d, dest / d, ignore=skip)
    shutil.copy2(ROOT / 'pytest.ini', dest / 'pytest.ini')

def run_pytest(dest: Path, tests, timeout, extra) -> tuple:
    "('survived' if the tests pass, 'killed' if one fails, 'timeout' if slower than `timeout` seconds; pytest's output)."
    env = dict(os.environ, PYTHONPATH=str(dest), PYTHONDONTWRITEBYTECODE='1')
    cmd = [sys.executable, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider', '--hypothesis-seed=0', *extra, *tests]
    p = subprocess.Popen(cmd, cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)   # its own process group: a timeout kills pytest's children too
    try: out = p.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        return 'timeout', p.communicate()[0]
    except BaseException:                          # Ctrl-C: don't leave pytest running in its own session
        os.killpg(p.pid, signal.SIGKILL); raise
    return ('survived' if p.returncode == 0 else 'killed'), out

def run_mutant(m, args, extra):
    src, t0 = mutated_source(m), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f'mutant-{m.name}-') as tmp:
        dest = Path(tmp)
        copy_tree(dest, args.all_tests)
        (dest / 'scratchgrad' / f'{m.module}.py').write_text(src)
        status = run_pytest(dest, tests_for([m.module], args.all_tests), args.timeout, extra)[0]
    return m, status, time.perf_counter() - t0

def baseline(mutants, args, extra):
    "The unmutated copy must import from the copy and pass the tests the mutants will run."
    with tempfile.TemporaryDirectory(prefix='mutant-baseline-') as tmp:
        dest = Path(tmp)
        copy_tree(dest, args.all_tests)
        where = subprocess.run([sys.executable, '-c', 'import scratchgrad; print(scratchgrad.__file__)'], cwd=dest,
                               env=dict(os.environ, PYTHONPATH=str(dest)), capture_output=True, text=True).stdout.strip()
        if not where.startswith(str(dest)): sys.exit(f"mutate: the copy imports scratchgrad from {where!r}, not from {dest}")
        tests = tests_for(sorted({m.module for m in mutants}), args.all_tests)
        status, out = run_pytest(dest, tests, args.timeout * 10, extra)
        if status != 'survived':
            sys.exit(f"{out[-3000:]}\nmutate: the unmutated code fails (or times out on) {' '.join(tests)}; fix that "
                     "first (or --deselect a test that fails for reasons of its environment)")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--jobs', type=int, default=1, help='mutants run in parallel')
    ap.add_argument('--only', action='append', help='run only this mutant (repeatable)')
    ap.add_argument('--all-tests', action='store_true', help='run the whole suite for every mutant (slow)')
    ap.add_argument('--timeout', type=float, default=120, help='seconds per mutant; a timeout counts as killed')
    ap.add_argument('--min-score', type=float, default=95, help='exit 1 below this score (percent)')
    ap.add_argument('--list', action='store_true', help='list the mutants and exit')
    args, extra = ap.parse_known_args()
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.only and len(mutants) != len(set(args.only)):
        sys.exit(f"mutate: unknown mutant(s) {sorted(set(args.only) - {m.name for m in MUTANTS})}")
    for m in mutants: mutated_source(m)                 # every snippet checked before anything runs
    if args.list:
        for m in mutants: print(f"{m.module + '/' + m.name:42} {m.what}")
        return
    t0, counts = time.perf_counter(), dict(killed=0, survived=0, timeout=0)
    baseline(mutants, args, extra)
    print(f"baseline passes ({time.perf_counter() - t0:.0f} s); {len(mutants)} mutants, {args.jobs} job(s)", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for m, status, secs in pool.map(lambda m: run_mutant(m, args, extra), mutants):
            label = ('equiv-' if m.equivalent else '') + status
            print(f"{label:15} {secs:5.1f}s  {m.module + '/' + m.name:42} {m.what}", flush=True)
            if m.equivalent and status != 'survived': print(f"  ^ marked equivalent but {status}: it is not equivalent")
            if not m.equivalent: counts[status] += 1
    n, killed = sum(counts.values()), counts['killed'] + counts['timeout']
    score = 100.0 * killed / n if n else 100.0
    n_eq = sum(m.equivalent for m in mutants)
    print(f"mutants: {n}, killed: {killed}, survived: {counts['survived']}, score: {score:.1f}% "
          f"({counts['timeout']} killed by timeout; {n_eq} equivalent not counted; {time.perf_counter() - t0:.0f} s)")
    sys.exit(0 if score >= args.min_score else 1)

if __name__ == '__main__':
    main()
