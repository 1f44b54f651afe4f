"""The rendered book in a real browser: headless Chromium loads each page of docs/ offline and reports what a reader sees.

Each page is loaded once, from a copy that carries a `<base>` pointing at docs/ and a small probe script; the probe waits
for MathJax, measures the page and writes its findings as JSON into the DOM, which `--dump-dom` prints. Skips cleanly
when Chromium is missing (`make test` installs it with apt when it can).
"""
import html, json, re, shutil, subprocess, sys, tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / 'docs'
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs  # noqa: E402

CHROMIUM = shutil.which('chromium') or shutil.which('google-chrome') or shutil.which('chromium-browser')
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (apt-get install chromium)')
BOOK = build_docs.pages()
MIN_LABEL_PX = 10

PROBE = r"""<script>
window.addEventListener('load', function () {
  function probe() {
    var main = document.querySelector('main.sg-main'), col = main.getBoundingClientRect(), r = {};
    r.sidebar = Array.from(document.querySelectorAll('.sg-sidebar a')).map(function (a) { return a.href; });
    r.toc = Array.from(document.querySelectorAll('.sg-toc a')).map(function (a) { return a.getAttribute('href'); });
    r.ids = Array.from(document.querySelectorAll('[id]')).map(function (e) { return e.id; });
    r.wide = Array.from(main.querySelectorAll('pre, .jp-Cell, .jp-OutputArea-output, table')).filter(function (e) {
      var b = e.getBoundingClientRect(); return b.width > 0 && (b.left < col.left - 1 || b.right > col.right + 1);
    }).map(function (e) {
      var b = e.getBoundingClientRect();
      return e.tagName + ' ' + Math.round(b.width) + 'px: ' + (e.innerText || '').slice(0, 60);
    });
    r.clipped = Array.from(main.querySelectorAll('pre')).filter(function (p) {   // too long, and not scrollable
      if (p.scrollWidth <= p.clientWidth + 1) return false;
      for (var e = p; e && e !== main; e = e.parentElement) {
        var o = getComputedStyle(e).overflowX;
        if (o === 'auto' || o === 'scroll') return false;
        if (o === 'hidden' || o === 'clip') return true;
      }
      return true;
    }).map(function (p) { return p.scrollWidth + 'px in ' + p.clientWidth + 'px: ' + p.innerText.slice(0, 60); });
    r.pageScrollsSideways = document.documentElement.scrollWidth > window.innerWidth + 1;
    r.column = Math.round(col.width);
    r.mathjax = document.querySelectorAll('.MathJax, .MathJax_Display').length;
    r.mathErrors = document.querySelectorAll('.MathJax_Error, .merror').length;
    r.editors = document.querySelectorAll('.jp-InputArea-editor').length;
    r.copyButtons = document.querySelectorAll('.jp-InputArea-editor > button.sg-copy').length;
    r.graphs = Array.from(document.querySelectorAll('img.sg-graph')).map(function (img) {
      var svg = atob(img.src.split(',')[1]);
      var sizes = (svg.match(/font-size="([\d.]+)"/g) || []).map(function (m) { return parseFloat(m.slice(11)); });
      var vb = parseFloat(svg.match(/viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) /)[1]);
      var scale = svg.match(/class="graph" transform="scale\(([\d.]+)/);   // Graphviz's `size` shrinks inside
      var w = img.getBoundingClientRect().width;
      return {width: Math.round(w), natural: img.naturalWidth, scale: scale ? parseFloat(scale[1]) : 1,
              minLabelPx: sizes.length ? Math.min.apply(null, sizes) * (scale ? parseFloat(scale[1]) : 1) * w / vb : null};
    });
    r.text = document.body.innerText;
    r.code = Array.from(document.querySelectorAll('.jp-InputArea-editor pre')).map(function (p) { return p.innerText; });
    var out = document.createElement('pre'); out.id = 'sg-probe-result'; out.textContent = JSON.stringify(r);
    document.body.appendChild(out);
  }
  if (window.MathJax && MathJax.Hub) MathJax.Hub.Queue(probe); else probe();
});
</script>"""


def chromium_dom(url: str, width=1280, height=2000) -> str:
    "The DOM of `url` after its scripts ran, in headless Chromium with a fresh profile and no network use."
    with tempfile.TemporaryDirectory() as ud:
        r = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                            '--disable-background-networking', '--disable-component-update', '--disable-sync',
                            f'--user-data-dir={ud}', f'--window-size={width},{height}', '--virtual-time-budget=20000',
                            '--dump-dom', url], capture_output=True, text=True, timeout=180)
    return r.stdout


def probe(page: str, width=1280) -> dict:
    "Load docs/`page` with the probe script; return its findings."
    src = (DOCS / page).read_text(encoding='utf-8')
    src = src.replace('<head>', f'<head><base href="{DOCS.as_uri()}/">', 1).replace('</body>', PROBE + '</body>', 1)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / page
        copy.write_text(src, encoding='utf-8')
        dom = chromium_dom(copy.as_uri(), width=width)
    m = re.search(r'<pre id="sg-probe-result">(.*?)</pre>', dom, re.S)
    assert m, f'{page}: the probe did not report (the page raised, or never finished loading)'
    return json.loads(html.unescape(m.group(1)))


_cache = {}


def probed(page: str) -> dict:
    if page not in _cache: _cache[page] = probe(page)
    return _cache[page]


PAGES = [p.name for p in BOOK]


@pytest.mark.parametrize('page', PAGES)
def test_every_sidebar_and_toc_link_resolves(page):
    r = probed(page)
    local = [urlparse(h) for h in r['sidebar'] if h.startswith('file:')]
    listed = {Path(unquote(u.path)).name for u in local}
    assert listed == set(PAGES), f'{page}: the sidebar lists {sorted(listed)}, the book has {sorted(PAGES)}'
    for u in local: assert Path(unquote(u.path)).is_file(), f'{page}: sidebar link {u.geturl()} leads nowhere'
    missing = [h for h in r['toc'] if h.lstrip('#') not in r['ids']]
    assert not missing, f'{page}: table-of-contents links without a target: {missing}'


@pytest.mark.parametrize('page', PAGES)
def test_no_code_block_is_wider_than_its_column(page):
    r = probed(page)
    assert not r['wide'], f'{page}: {len(r["wide"])} blocks stick out of the {r["column"]}px column: {r["wide"][:5]}'
    assert not r['pageScrollsSideways'], f'{page}: the whole page scrolls sideways'
    assert not r['clipped'], f'{page}: code lines cut off instead of scrolling inside their box: {r["clipped"][:5]}'


@pytest.mark.parametrize('width', [1000, 700])
def test_narrow_windows_keep_code_inside_the_column(width):
    "On a small laptop (the contents column folds away) or a phone (the sidebar moves above the page)."
    tensor = next(p.name for p in BOOK if 'Tensor' in p.title)
    r = probe(tensor, width=width)
    assert not r['wide'] and not r['clipped'] and not r['pageScrollsSideways'], (r['wide'][:3], r['clipped'][:3])


@pytest.mark.parametrize('page', PAGES)
def test_every_code_cell_has_a_copy_button(page):
    r = probed(page)
    assert r['copyButtons'] == r['editors'], f'{page}: {r["copyButtons"]} copy buttons for {r["editors"]} code cells'


@pytest.mark.parametrize('page', PAGES)
def test_graph_labels_are_readable(page):
    "No label of a Graphviz drawing is smaller than ~10 px as rendered (wide drawings scroll instead of shrinking)."
    small = [g for g in probed(page)['graphs'] if g['minLabelPx'] is not None and g['minLabelPx'] < MIN_LABEL_PX]
    assert not small, f'{page}: drawings with labels under {MIN_LABEL_PX}px: {small}'


@pytest.mark.parametrize('page', PAGES)
def test_no_raw_markup_is_shown(page):
    "show_doc's Quarto link attributes are not printed, and its calls are hidden (their documentation is shown)."
    r = probed(page)
    assert '{target=' not in r['text'], f'{page}: the page shows raw link attributes {{target=...}}'
    calls = [c for c in r['code'] if 'show_doc(' in c]
    assert not calls, f'{page}: show_doc input cells are visible: {calls[:3]}'


@pytest.mark.parametrize('page', PAGES)
def test_math_is_typeset_in_a_browser(page):
    "MathJax loads offline and typesets the page's math: no raw `$...$` left, no MathJax error."
    p = next(p for p in BOOK if p.name == page)
    if not any(c.cell_type == 'markdown' and re.search(r'\$[^$\n]+\$', c.source) for c in p.nb.cells):
        pytest.skip('no math on this page')
    r = probed(page)
    assert r['mathjax'] > 0, f'{page}: MathJax typeset nothing'
    assert r['mathErrors'] == 0, f'{page}: MathJax reported {r["mathErrors"]} errors'


def search_hits(query: str):
    "Open the home page with `?q=query`, as a reader typing in the search box would; return (title, url) of each hit."
    dom = chromium_dom(f'{(DOCS / "index.html").as_uri()}?q={query}')
    box = re.search(r'<div id="sg-results"[^>]*>(.*?)</div></form>', dom, re.S)
    assert box, 'the search box is missing from the page'
    return [(re.sub(r'<[^>]+>', '', t), u) for u, t in
            re.findall(r'<a class="sg-hit" href="([^"]+)"><span class="sg-r-page">(.*?)</span>', box.group(1))], box.group(1)


def test_search_finds_unbroadcast_on_the_tensor_page():
    hits, _ = search_hits('unbroadcast')
    assert hits, 'searching for unbroadcast found nothing'
    titles = {p.name: p.title for p in BOOK}
    tensor = [u for t, u in hits if 'Tensor' in t and 'Tensor' in titles[u.split('#')[0]]]
    assert tensor, f'no hit on a page titled "...Tensor...": {hits}'
    assert all((DOCS / u.split('#')[0]).is_file() for _, u in hits)


def test_search_says_when_nothing_matches():
    hits, box = search_hits('qzxqzxqzx')
    assert not hits and 'No section mentions' in box
