"""The rendered tutorial: every notebook has its page, pages show their graphs, plots and math, and builds are reproducible."""
import filecmp, re, shutil, subprocess, sys, tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs  # noqa: E402

NBS = build_docs.notebooks()


def outputs(nb, mime):
    return [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if mime in o.get('data', {})]


@pytest.fixture(scope='module')
def rebuilt():
    "A fresh build of the site and README from the stored outputs, in a temporary folder."
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_docs.build_site(tmp / 'docs')
        build_docs.build_readme(tmp / 'README.md')
        yield tmp


def test_every_notebook_has_a_page():
    for fn in NBS:
        assert (ROOT / 'docs' / build_docs.page_name(fn)).exists(), f'{fn.name} has no page: run `make docs`'


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_stored_outputs_are_real(fn):
    "Graph outputs are SVG drawn by dot (not tracebacks); no cell stored an error."
    nb = nbformat.read(fn, as_version=4)
    for c in nb.cells:
        for o in c.get('outputs', []) if c.cell_type == 'code' else []:
            assert o.output_type != 'error', f'{fn.name}: a stored output is an error: {o.get("ename")}'
            if o.output_type == 'stream' and o.name == 'stderr':
                assert 'ExecutableNotFound' not in o.text and 'Traceback' not in o.text, f'{fn.name}: stored traceback'
    for o in outputs(nb, 'image/svg+xml'):
        svg = o['data']['image/svg+xml']
        assert '<svg' in svg and 'class="graph"' in svg, f'{fn.name}: an SVG output is not a Graphviz drawing'


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_page_shows_graphs_plots_and_math(fn):
    nb = nbformat.read(fn, as_version=4)
    page = (ROOT / 'docs' / build_docs.page_name(fn)).read_text(encoding='utf-8')
    n_svg, n_png = len(outputs(nb, 'image/svg+xml')), len(outputs(nb, 'image/png'))
    assert page.count('src="data:image/svg+xml;base64,') >= n_svg, f'{fn.name}: the page lacks some of its {n_svg} graphs'
    assert page.count('src="data:image/png;base64,') >= n_png, f'{fn.name}: the page lacks some of its {n_png} plots'
    has_math = any(c.cell_type == 'markdown' and re.search(r'\$[^$\n]+\$', c.source) for c in nb.cells)
    if has_math:
        assert build_docs.MATHJAX_URL.replace('&', '&amp;') in page or build_docs.MATHJAX_URL in page
        assert (ROOT / 'docs' / 'mathjax' / 'MathJax.js').exists(), 'MathJax is not served from docs/mathjax'
    if fn.stem[:2] in ('01', '02', '04'): assert n_svg > 0, f'{fn.name} should draw computation graphs'
    if fn.stem[:2] in ('03', '05'): assert n_png > 0, f'{fn.name} should show plots'


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_page_loads_nothing_from_the_network(fn):
    "The site must work offline: no script, stylesheet or image is fetched from another host."
    page = (ROOT / 'docs' / build_docs.page_name(fn)).read_text(encoding='utf-8')
    remote = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(https?://[^"]+)"', page)
    remote += re.findall(r'import\(?\s*["\'](https?://[^"\']+)', page)
    assert not remote, f'{fn.name}: the page loads {remote}'


def test_rebuild_leaves_docs_unchanged(rebuilt):
    "Rebuilding from the committed notebooks must give the committed docs/ and README.md, byte for byte."
    stale = []
    for p in sorted((rebuilt / 'docs').rglob('*')):
        rel = p.relative_to(rebuilt / 'docs')
        if rel.parts[0] == 'mathjax' or p.is_dir(): continue
        q = ROOT / 'docs' / rel
        if not q.exists() or not filecmp.cmp(p, q, shallow=False): stale.append(str(rel))
    assert not stale, f'docs/ is stale or not reproducible ({", ".join(stale)}): run `make docs` and commit'
    assert (rebuilt / 'README.md').read_text() == (ROOT / 'README.md').read_text(), \
        'README.md is stale: it is generated from nbs/index.ipynb by `make docs`'


@pytest.mark.skipif(shutil.which('chromium') is None, reason='chromium is not installed (apt-get install chromium)')
@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_math_is_typeset_in_a_browser(fn):
    "Headless Chromium loads the page offline; MathJax must have typeset its math (no raw `$...$` left)."
    nb = nbformat.read(fn, as_version=4)
    if not any(c.cell_type == 'markdown' and re.search(r'\$[^$\n]+\$', c.source) for c in nb.cells):
        pytest.skip('no math on this page')
    page = ROOT / 'docs' / build_docs.page_name(fn)
    with tempfile.TemporaryDirectory() as ud:
        dom = subprocess.run(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                              '--disable-background-networking', '--disable-component-update', '--disable-sync',
                              '--disable-quic', f'--user-data-dir={ud}', '--virtual-time-budget=15000', '--dump-dom',
                              page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'class="MathJax' in dom, f'{page.name}: MathJax typeset nothing'
    assert 'class="MathJax_Error"' not in dom, f'{page.name}: MathJax reported an error'
