"""The coding exercises of chapters 05c-07 and what their pages say.

Each exercise check lives in its notebook (not in the package); these tests run the notebook's own cells up to the
check, then feed it the untouched stub, right answers and wrong ones: the stub is "not written yet", a wrong attempt is
"wrong" and names what failed. The rest checks the pages: answer cells are tagged `#| answer`, display equations fit the
content column, no stray heading mark, and no measured number in the prose that no cell computes."""
import json, os, re, warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
MINE = ['05c_losses', '05d_optim', '05e_train', '06a_numpy', '06b_autograd', '07_reveal']


def cells(name):
    return json.loads((NBS / f'{name}.ipynb').read_text(encoding='utf-8'))['cells']


def source(cell): return ''.join(cell['source'])


def markdown(name): return [source(c) for c in cells(name) if c['cell_type'] == 'markdown']


def run_until(name, needle):
    "Run the notebook's code cells in order (not hidden, slow or answer cells) up to the one containing `needle`."
    import matplotlib; matplotlib.use('Agg')
    ns, here = {'__name__': '__main__'}, os.getcwd()
    os.chdir(NBS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            for c in cells(name):
                src = source(c)
                if c['cell_type'] != 'code' or re.match(r'#\| *(hide|slow|answer)', src): continue
                exec(compile(src, f'{name}.ipynb', 'exec'), ns)
                if needle in src: return ns
    finally: os.chdir(here)
    raise AssertionError(f'{name}: no code cell contains {needle!r}')


def answer_cell(name, needle):
    "The source of the `#| answer` cell of `name` that contains `needle`."
    found = [source(c) for c in cells(name) if source(c).startswith('#| answer') and needle in source(c)]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- 05d: RMSprop's _update

@pytest.fixture(scope='module')
def rmsprop():
    return run_until('05d_optim', 'def check_rmsprop')


def _rmsprop_variant(ns, update):
    return type('Attempt', (ns['RMSprop'],), {'_update': update})


def _right(self, i, p, g):
    s = self.s[i]
    s *= self.alpha; s += (1 - self.alpha) * g * g
    p.array -= (self.lr * g / (np.sqrt(s) + self.eps)).astype(p.dtype, copy=False)


def test_rmsprop_check_on_the_stub(rmsprop):
    ok, msg = rmsprop['check_rmsprop'](rmsprop['RMSprop'])
    assert not ok and msg == 'RMSprop: not written yet (_update raises NotImplementedError)'


def test_rmsprop_check_accepts_right_answers(rmsprop):
    ok, msg = rmsprop['check_rmsprop'](_rmsprop_variant(rmsprop, _right))
    assert ok and msg.startswith('RMSprop: right'), msg
    def out_of_place(self, i, p, g):                     # new arrays rather than in-place updates: also right
        self.s[i] = self.alpha * self.s[i] + (1 - self.alpha) * g ** 2
        p.array -= self.lr * g / (self.s[i] ** 0.5 + self.eps)
    assert rmsprop['check_rmsprop'](_rmsprop_variant(rmsprop, out_of_place))[0]
    ns = dict(rmsprop); exec(answer_cell('05d_optim', 'class RMSpropAnswer'), ns)     # the page's own answer
    assert ns['check_rmsprop'](ns['RMSpropAnswer'])[0]


def _wrong(ns, update):
    ok, msg = ns['check_rmsprop'](_rmsprop_variant(ns, update))
    assert not ok and msg.startswith('RMSprop: wrong') and 'not written yet' not in msg, msg
    return msg


def test_rmsprop_check_names_the_parameter_and_the_step(rmsprop):
    def no_decay(self, i, p, g):                         # forgets (1 - alpha): wrong from the first step
        self.s[i] = self.alpha * self.s[i] + g * g
        p.array -= self.lr * g / (np.sqrt(self.s[i]) + self.eps)
    assert 'parameter 0 (shape (3,), float64) after step 1' in _wrong(rmsprop, no_decay)

    def forgets_the_average(self, i, p, g):              # s is not carried over: right at step 1, wrong at step 2
        s = (1 - self.alpha) * g * g
        p.array -= self.lr * g / (np.sqrt(s) + self.eps)
    assert 'parameter 0 (shape (3,), float64) after step 2' in _wrong(rmsprop, forgets_the_average)

    def first_parameter_only(self, i, p, g):
        if i == 0: _right(self, i, p, g)
    assert 'parameter 1 (shape (2, 2), float64) after step 1' in _wrong(rmsprop, first_parameter_only)

    def float64_result(self, i, p, g):                   # replaces the float32 parameter's array with float64
        self.s[i] = self.alpha * self.s[i] + (1 - self.alpha) * g * g
        p.array = (p.array - self.lr * g / (np.sqrt(self.s[i]) + self.eps)).astype(np.float64)
    assert 'parameter 2 (shape (2,), float32) after step 1 became float64' in _wrong(rmsprop, float64_result)

    def sqrt_of_s_plus_eps(self, i, p, g):               # eps inside the root: not the formula, off where g is small
        self.s[i] = self.alpha * self.s[i] + (1 - self.alpha) * g * g
        p.array -= self.lr * g / np.sqrt(self.s[i] + self.eps)
    assert ('parameter 0 (shape (3,), float64) after step 1 is off by up to 1.1e-08 (a small difference: is eps added '
            'after the square root?)') in _wrong(rmsprop, sqrt_of_s_plus_eps)

    def raises(self, i, p, g): raise ValueError('oops')
    assert 'step 1 raised ValueError: oops' in _wrong(rmsprop, raises)


def test_the_momentum_exercise_measures_what_its_answer_says():
    ns = run_until('05d_optim', 'def check_rmsprop')
    exec(answer_cell('05d_optim', 'def step_after'), ns)
    assert abs(ns['plain'] - 0.1) < 1e-12 and abs(ns['heavy'] - 1.0) < 1e-6    # "1.0 g where line 2 takes 0.1 g"
    answer = next(t for t in markdown('05d_optim') if '**Exercise 1.**' in t)
    assert '$1.0\\, g$' in answer and '$0.1\\, g$' in answer and '$\\eta = 0.1$ and $\\mu = 0.9$' in answer


# ---------------------------------------------------------------- 06b: directional_derivative

@pytest.fixture(scope='module')
def dd():
    return run_until('06b_autograd', 'def check_directional_derivative')


def test_directional_derivative_check_on_the_stub(dd):
    ok, msg = dd['check_directional_derivative'](dd['directional_derivative'])
    assert not ok and msg == 'directional_derivative: not written yet (it raises NotImplementedError)'


def test_directional_derivative_check_accepts_right_answers(dd):
    jvp, jacobian = dd['jvp'], dd['jacobian']
    for right in [lambda f, x, v: jvp(f)(x, v)[1], lambda f, x, v: jacobian(f)(x) @ v]:
        ok, msg = dd['check_directional_derivative'](right)
        assert ok and msg.startswith('directional_derivative: right'), msg
    ns = dict(dd); exec(answer_cell('06b_autograd', 'directional_derivative_answer'), ns)
    assert ns['check_directional_derivative'](ns['directional_derivative_answer'])[0]


@pytest.mark.parametrize('attempt, expected', [
    (lambda ns: lambda f, x, v: np.dot(ns['grad'](f)(x), v),
     'on np.tanh (a vector) it raised TypeError: grad_of_tanh_wrt_argnum_0: grad needs the function to return a single'),
    (lambda ns: lambda f, x, v, h=1e-6: (f(x + h * v) - f(x - h * v)) / (2 * h),
     'on the quadratic form (a number) it is off by'),
    (lambda ns: lambda f, x, v: None, 'on the quadratic form (a number) it returned None (a missing return?)'),
    (lambda ns: lambda f, x, v: ns['jvp'](f)(x, v)[0], 'on the quadratic form (a number) it is off by'),
    (lambda ns: lambda f, x, v: ns['jvp'](f)(x, v), 'the result has shape (2,), f(x) has ()'),
    (lambda ns: lambda f, x, v: ns['jvp'](f)(x, v)[1] if np.ndim(x) == 1 and len(x) == 4 else 0.0 * v,
     'on trajectory (50 points) the result has shape (2,)'),
])
def test_directional_derivative_check_says_wrong_and_what(dd, attempt, expected):
    ok, msg = dd['check_directional_derivative'](attempt(dd))
    assert not ok and msg.startswith('directional_derivative: wrong') and expected in msg, msg
    assert 'not written yet' not in msg


def test_finite_differences_are_called_what_they_are(dd):
    msg = dd['check_directional_derivative'](lambda f, x, v, h=1e-5: (f(x + h * v) - f(x - h * v)) / (2 * h))[1]
    assert 'finite differences?' in msg, msg


# ---------------------------------------------------------------- the pages

@pytest.mark.parametrize('name', MINE)
def test_answer_cells_are_tagged(name):
    "The code cell right after a collapsed answer checks that answer: it is an `#| answer` cell (hidden in lab/)."
    cs = cells(name)
    for k, c in enumerate(cs[:-1]):
        if c['cell_type'] == 'markdown' and '<summary>Answer</summary>' in source(c) and cs[k + 1]['cell_type'] == 'code':
            assert source(cs[k + 1]).startswith('#| answer'), (name, k + 1, source(cs[k + 1])[:80])


@pytest.mark.parametrize('name', MINE)
def test_each_exercise_has_an_answer(name):
    text = '\n'.join(markdown(name))
    assert text.count('**Exercise') <= text.count('<summary>Answer</summary>'), name


@pytest.mark.parametrize('name', MINE)
def test_no_stray_heading_mark(name):
    "A '#' glued to a word turns a paragraph into a giant heading (05d's first paragraph once did)."
    for text in markdown(name):
        in_code = False
        for line in text.splitlines():
            if line.startswith('```'): in_code = not in_code
            assert in_code or not re.match(r'#+[^#\s]', line), (name, line[:60])


_FUNS = {'log', 'exp', 'sin', 'cos', 'tanh', 'max', 'min', 'sign', 'lim', 'arg'}


def _group(s, i):
    depth = 0
    for j in range(i, len(s)):
        depth += {'{': 1, '}': -1}.get(s[j], 0)
        if depth == 0: return s[i + 1:j], j + 1
    raise ValueError(f'unbalanced braces in {s!r}')


def _arg(s, i):
    "The argument starting at s[i]: a brace group, a command (with its name) or one character; and the index after."
    if s[i] == '{': return _group(s, i)
    n = len(re.match(r'\\([A-Za-z]+|.)', s[i:], re.S).group(0)) if s[i] == '\\' else 1
    return s[i:i + n], i + n


def tex_width(s: str) -> float:
    "A rough width of displayed TeX `s`, in glyphs: fractions as their wider part, scripts at 0.7, spacing by size."
    w, i = 0.0, 0
    while i < len(s):
        if s[i] == '\\':
            name = re.match(r'\\([A-Za-z]+|.)', s[i:], re.S).group(1); i += len(name) + 1
            if name in ('frac', 'dfrac', 'tfrac'):
                a, i = _arg(s, i); b, i = _arg(s, i); w += max(tex_width(a), tex_width(b)) + 0.5
            elif name in ('quad', 'qquad'): w += 2 if name == 'quad' else 4
            elif name in _FUNS: w += len(name)
            elif name not in (',', ';', '!', ' ', 'left', 'right', 'operatorname', 'mathrm', 'mathbb', 'mathrel',
                              'hat', 'bar', 'dot', 'text', 'big', 'Big', 'lVert', 'rVert', 'sqrt'): w += 1
            elif name == 'sqrt': w += 1
        elif s[i] in '^_':
            a, i = _arg(s, i + 1); w += 0.7 * tex_width(a)
        else:
            w += s[i] not in '{} \n\t&'; i += 1
    return w


def test_tex_width_measures():
    assert tex_width(r'\frac{m_t}{1-\beta_1^t}') < tex_width(r'm_t - 1 - \beta_1 t') and tex_width(r'a \qquad b') == 6


@pytest.mark.parametrize('name', MINE)
def test_display_equations_fit_the_content_column(name):
    "A display equation wider than about 50 glyphs is cut off in the ~760 px column (05d's Adam update was ~74)."
    for text in markdown(name):
        for m in re.finditer(r'\$\$(.+?)\$\$', text, re.S):
            assert tex_width(m.group(1)) <= 50, (name, ' '.join(m.group(1).split())[:100], tex_width(m.group(1)))


MEASURED = re.compile(r'(?<![\w.])\d[\d,]*(\.\d+)?\s?(%|x\b|×|µs|ms\b|seconds?\b|times (faster|slower|smaller|larger|more))')
THRESHOLDS = {'05e_train': {'5%', '2.5%', '1%'}}     # bars the page asserts, not measurements


@pytest.mark.parametrize('name', MINE)
def test_no_measured_number_in_prose(name):
    "Timings, ratios and accuracies belong in a cell's output, which the docs build recomputes; prose refers to them."
    for text in markdown(name):
        prose = re.sub(r'\$[^$]*\$', '', re.sub(r'```.*?```', '', text, flags=re.S))
        found = {m.group(0) for m in MEASURED.finditer(prose)} - THRESHOLDS.get(name, set())
        assert not found, (name, found)


def test_momentum_is_a_sum_not_an_average():
    text = '\n'.join(markdown('05d_optim'))
    assert 'momentum averages' not in text and 'geometric **sum** of past gradients, not an average' in text


def test_cross_entropy_prose_names_the_code():
    from scratchgrad.tensor import PRIMITIVES, _cross_entropy_fwd, _cross_entropy_vjp
    text = '\n'.join(markdown('05c_losses'))
    assert '`_cross_entropy_fwd`' in text and '`_cross_entropy_vjp`' in text
    assert "computed by the engine's `logsumexp`" not in text                 # the forward does not call it
    assert PRIMITIVES['cross_entropy'].forward is _cross_entropy_fwd
    assert PRIMITIVES['cross_entropy'].plain_vjp is _cross_entropy_vjp


def test_exponent_gradient_is_nan_below_zero_as_the_page_says():
    from scratchgrad.autograd import grad
    text = '\n'.join(markdown('06b_autograd'))
    assert 'so it is **NaN** there' in text and 'as 0 where $x \\le 0$' not in text
    assert np.isnan(grad(np.power, 1)(-2.0, 2.0)) and grad(np.power, 1)(0.0, 2.0) == 0.0


def test_autodidact_is_credited_for_reverse_mode_only():
    for name in ('06b_autograd', '07_reveal'):
        text = ' '.join('\n'.join(markdown(name)).split())
        assert 'Wengert' in text, name
        for m in re.finditer(r'autodidact', text):
            assert 'forward mode' not in text[m.start():m.start() + 200] or 'reverse mode' in text[m.start():m.start() + 200], \
                (name, text[m.start():m.start() + 200])


def test_the_short_script_runs_in_its_own_process_on_the_page():
    "Run inside the notebook, the script drew from a random generator the cells above had used: 3.38%, not its 2.82%."
    sources = [source(c) for c in cells('07_reveal') if c['cell_type'] == 'code']
    runs = [s for s in sources if 'subprocess.run([sys.executable, str(script)]' in s]
    assert len(runs) == 1 and 'cwd=tempfile.mkdtemp()' in runs[0] and 'print(run.stdout' in runs[0]
    assert not any('run_path' in s for s in sources)
