"""The rendered tutorial: every notebook has its page, pages show their graphs, plots and math, and builds are reproducible,
also from a fresh clone. (What a browser shows is checked in test_site_browser.py.)"""
import filecmp, importlib.util, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs, run_nbs  # noqa: E402

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


# Notebooks whose committed outputs were stored before run_nbs.py kept its fingerprint in the notebook (and whose owners
# are changing them on other branches right now). The integrator's `make docs` at merge time fingerprints them:
# then empty this list.
FINGERPRINT_PENDING_UNTIL_MERGE = set()


def stale_notebooks():
    "Notebooks whose stored outputs do not carry the fingerprint of their current sources and package code."
    return [fn.stem for fn in NBS if run_nbs.stored_key(nbformat.read(fn, as_version=4)) !=
            run_nbs.source_key(nbformat.read(fn, as_version=4))]


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_stored_outputs_match_their_sources(fn):
    "Each notebook carries the fingerprint of the sources its outputs came from, so a fresh clone need not re-run it."
    if fn.stem in FINGERPRINT_PENDING_UNTIL_MERGE: pytest.skip("fingerprinted by the integrator's `make docs` at merge")
    assert fn.stem not in stale_notebooks(), \
        f'{fn.name}: its sources or the package changed since its outputs were stored: run `make docs` and commit'


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_stored_outputs_equal_a_fresh_run_in_its_own_process(fn, tmp_path):
    "What the book shows is what a reader who runs this notebook alone sees: no output depends on another notebook."
    if 'import torch' in fn.read_text() and importlib.util.find_spec('torch') is None:
        pytest.skip(f'{fn.name} compares with PyTorch, which is not installed here (its stored outputs show the comparison)')
    msg = run_nbs.differences(fn, tmp_path)
    assert msg == '', msg


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_stored_outputs_name_no_path_of_this_machine(fn):
    "A warning or traceback stored with an absolute path would differ on every other machine (and tells the reader nothing)."
    outs = json.dumps([c.get('outputs', []) for c in nbformat.read(fn, as_version=4).cells])
    for place in {str(ROOT), str(Path.home())} - {'/'}:
        assert place not in outs, f'{fn.name}: a stored output names {place} (a warning or traceback?): silence or fix it'


def _tiny_nb(tmp_path, source, stored):
    "A one-cell notebook whose stored output is `stored`."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output('stream', name='stdout', text=stored)])]
    fn = tmp_path / 'tiny.ipynb'
    nbformat.write(nb, fn)
    (tmp_path / 'runs').mkdir()
    return fn


def test_the_fresh_run_comparison_catches_a_stale_output(tmp_path):
    "The check above can fail: a stored output that a fresh run does not print is reported, with both texts."
    msg = run_nbs.differences(_tiny_nb(tmp_path, 'print(6 * 7)', '41\n'), tmp_path / 'runs')
    assert "stored: '41\\n'" in msg and "fresh:  '42\\n'" in msg


def test_the_fresh_run_comparison_skips_only_cells_marked_volatile(tmp_path):
    fn = _tiny_nb(tmp_path, f'{run_nbs.VOLATILE}\nimport time; print(time.time())', '0\n')
    assert run_nbs.differences(fn, tmp_path / 'runs') == ''


def test_pending_list_names_real_notebooks():
    "The skip list above must not outlive its notebooks (a typo would silently skip nothing)."
    assert FINGERPRINT_PENDING_UNTIL_MERGE <= {fn.stem for fn in NBS}


def git(*args, cwd):
    return subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fresh_clone(dest: Path):
    "`git clone` this repository into `dest`, then bring in the working tree's uncommitted changes (tracked or new)."
    git('clone', '-q', '--no-hardlinks', str(ROOT), str(dest), cwd=ROOT)
    files = set(git('ls-files', '-co', '--exclude-standard', '-z', cwd=ROOT).split('\0')) - {''}
    for rel in files:
        if (ROOT / rel).is_file(): (dest / rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT / rel, dest / rel)
    for rel in set(git('ls-files', '-z', cwd=dest).split('\0')) - {''} - files: (dest / rel).unlink()
    git('add', '-A', cwd=dest)
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'working tree', cwd=dest)


def test_make_docs_in_a_fresh_clone_changes_nothing(tmp_path):
    "`git clone ... && make docs` leaves `git status` clean: unchanged notebooks are not re-run, the rendering is exact."
    stale = stale_notebooks()
    if stale: pytest.skip(f'{stale} would be re-executed (their fingerprints are stale; see the test above)')
    clone = tmp_path / 'clone'
    fresh_clone(clone)
    env = dict(os.environ, PYTHONPATH=str(clone))   # this venv's packages; the clone's own scratchgrad and tools
    bin_ = Path(sys.executable).parent
    for cmd in ([sys.executable, 'tools/run_nbs.py'], [str(bin_ / 'nbdev_clean')], [sys.executable, 'tools/build_docs.py']):
        r = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f'{cmd} failed in the clone:\n{r.stdout}\n{r.stderr}'
    assert 'running' not in r.stdout
    status = git('status', '--porcelain', cwd=clone)
    assert status == '', f'`make docs` in a fresh clone changed committed files:\n{status}'


def test_index_links_every_chapter():
    "The home page's chapter table links every chapter page, and every page it links exists (add new chapters to it)."
    index = nbformat.read(ROOT / 'nbs' / 'index.ipynb', as_version=4)
    md = '\n'.join(c.source for c in index.cells if c.cell_type == 'markdown')
    linked = set(re.findall(r'\]\(([\w.-]+\.html)\)', md))
    pages = {p.name for p in build_docs.pages()}
    assert linked <= pages, f'nbs/index.ipynb links pages that do not exist: {sorted(linked - pages)}'
    chapters = {build_docs.page_name(fn) for fn in NBS if fn.stem != 'index'}
    assert chapters <= linked, f'nbs/index.ipynb does not link {sorted(chapters - linked)}: add them to its chapter table'


def test_show_doc_calls_and_quarto_link_attributes_are_not_rendered():
    for fn in NBS:
        page = (ROOT / 'docs' / build_docs.page_name(fn)).read_text(encoding='utf-8')
        assert '{target=' not in page, f'{fn.name}: raw Quarto link attributes on the page'
        assert 'class="n">show_doc</span>' not in page, f'{fn.name}: a show_doc(...) call is shown'


def test_page_names_must_not_clash(tmp_path, monkeypatch):
    "Two notebooks that would render to one page (04_tensor and 04a_tensor) stop the build with a clear error."
    nbs = tmp_path / 'nbs'; nbs.mkdir()
    for name in ('index', '04_tensor', '04a_tensor'): shutil.copy(ROOT / 'nbs' / 'index.ipynb', nbs / f'{name}.ipynb')
    shutil.copy(ROOT / 'CONTRIBUTING.md', tmp_path / 'CONTRIBUTING.md')
    monkeypatch.setattr(build_docs, 'ROOT', tmp_path)
    with pytest.raises(ValueError, match=r"tensor.html.*rename one"): build_docs.pages()


def test_search_index_covers_every_page_with_prose_and_code():
    "docs/assets/search-index.js (built by `make docs`) holds every page's sections: prose, code and headings."
    js = (ROOT / 'docs' / 'assets' / 'search-index.js').read_text(encoding='utf-8')
    prefix = 'window.SG_SEARCH_DOCS = '
    assert js.startswith(prefix)
    docs = json.loads(js[len(prefix):].rstrip().rstrip(';'))
    assert {d['url'].split('#')[0] for d in docs} == {p.name for p in build_docs.pages()}
    assert len({d['id'] for d in docs}) == len(docs), 'two search documents share an id'
    tensor = ' '.join(d['text'] for d in docs if 'Tensor' in d['page'])
    assert 'unbroadcast' in tensor and 'def ' in tensor, 'the Tensor pages\' prose or code is missing from the index'
