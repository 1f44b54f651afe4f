"""Render the notebooks' stored outputs into the static tutorial site `docs/` and the README, offline and without Quarto.

Usage: python tools/build_docs.py [--out DIR] [--readme PATH]

Nothing is executed here: run `python tools/run_nbs.py` first to refresh the outputs (`make docs` does both).
The build is deterministic, so rebuilding from the same notebooks leaves `docs/` byte-identical (a test checks this).

Why not nbdev's own docs path: `nbdev_docs`/`nbdev_preview` need Quarto, which cannot be installed offline, and nbdev's
notebook processing replaces `#| export` cells by API summaries, while a from-scratch tutorial must show its code.
So we process the cells ourselves (nbdev's directives: hide, echo, output, include, export...), then let nbconvert's
HTML exporter render them with MathJax served from `docs/mathjax/` (math works offline).

The site is a book: the chapters are the notebooks of `nbs/`, in file-name order, each titled by its H1 and subtitle (no
chapter list is written down here). Every page gets a sidebar of chapters (behind a menu button on a phone), a table of
contents of its H2/H3 headings (folded under the title on narrow screens), links to download its notebook
(`docs/nbs/`, without the repository-only `nbdev_export()` cell) and to its source on GitHub (settings.ini's `git_url`
and `branch`), and offline full-text search: MiniSearch (vendored in tools/site/vendor) over `search-index.js`, built
here from the rendered pages, with their TeX math as plain text. `tools/site/` holds the hand-written CSS and JS; they
are copied to `docs/assets/`.
"""
import argparse, copy, html, json, re, shutil, sys, unicodedata, zipfile
from configparser import ConfigParser
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / 'tools' / 'site'
MATHJAX_WHEEL = 'jupyter-server-mathjax==0.2.6'   # MathJax 2.7.9's static files, repackaged on PyPI
MATHJAX_URL = 'mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe'
# MathJax's HTML-CSS output, with the STIX-Web fonts of docs/mathjax. It declares a "MathJax_Blank" @font-face at
# url('about:blank'), which a browser refuses (a console error on every page with math, loudest from file://): a local()
# source fails just as quietly as MathJax expects. Long displayed formulas break at their column's width (a phone's).
MATHJAX_FONTS = ('<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS":{availableFonts:["STIX-Web"],'
                 'preferredFont:"STIX-Web",webFont:"STIX-Web",imageFont:null,linebreaks:{automatic:true},'
                 'styles:{"@font-face":{src:"local(\'MathJax_Blank\')"}}}});</script>')
DIRECTIVE = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
SHOW_DOC = re.compile(r'^\s*show_doc\(.*\)\s*$')
# show_doc writes Quarto's link attributes, `[source](url){target="_blank" ...}`, which plain markdown prints as text.
QUARTO_LINK = re.compile(r'\[([^\]]+)\]\((https?://[^)\s]+)\)\{[^}\n]*\}')


def settings():
    cp = ConfigParser(delimiters=['=']); cp.read(ROOT / 'settings.ini')
    return cp['DEFAULT']


def repo_url():
    "The repository on GitHub (settings.ini's `git_url`, e.g. https://github.com/scratchgrad/scratchgrad)."
    return settings()['git_url'].rstrip('/')


def source_url(fn: Path):
    "Where a reader sees `fn` (a notebook of nbs/, or CONTRIBUTING.md) on GitHub, on settings.ini's `branch`."
    return f"{repo_url()}/blob/{settings()['branch']}/{fn.relative_to(ROOT).as_posix()}"


def directives(src):
    "nbdev directives (`#| name: value`) at the top of a cell, as a dict."
    out = {}
    for line in src.splitlines():
        m = DIRECTIVE.match(line)
        if not m:
            if line.strip(): break
            continue
        out[m.group(1).lower()] = m.group(2).lower()
    return out


def strip_directives(src):
    lines = src.splitlines()
    while lines and (DIRECTIVE.match(lines[0]) or not lines[0].strip()): lines.pop(0)
    return '\n'.join(lines)


def page_name(fn: Path):
    "`00_variable.ipynb` -> `variable.html` (nbdev's naming: the number prefix is dropped)."
    return 'index.html' if fn.stem == 'index' else re.sub(r'^\d+[a-z]?_', '', fn.stem) + '.html'


def title_of(nb, fn):
    for c in nb.cells:
        if c.cell_type == 'markdown':
            m = re.search(r'^#\s+(.+)$', c.source, re.M)
            if m: return m.group(1).strip()
    return fn.stem


def subtitle_of(nb):
    "The `> one-line subtitle` that follows the H1 title (nbdev's anatomy), or ''."
    for c in nb.cells:
        if c.cell_type == 'markdown' and re.search(r'^#\s', c.source, re.M):
            m = re.search(r'^>\s*(.+)$', c.source, re.M)
            return m.group(1).strip() if m else ''
    return ''


def is_code_shown(cell) -> bool:
    "Does the page show this code cell's source? (What a reader can copy; tools/check_visible.py runs exactly these.)"
    if cell.cell_type != 'code' or not cell.source.strip(): return False
    d = directives(cell.source)
    if d.keys() & {'default_exp', 'hide'} or d.get('include') == 'false' or d.get('echo') == 'false': return False
    if 'nbdev_export(' in cell.source: return False
    code = [l for l in strip_directives(cell.source).splitlines() if l.strip()]
    return not all(SHOW_DOC.match(l) for l in code)   # a show_doc cell shows its documentation, not its call


def fix_markdown_outputs(cell):
    "Turn show_doc's Quarto-style source links into plain HTML links, so no raw `{target=...}` reaches the page."
    for o in cell.get('outputs', []):
        md = o.get('data', {}).get('text/markdown')
        if md: o['data']['text/markdown'] = QUARTO_LINK.sub(
            lambda m: f'<a class="sg-source" href="{m.group(2)}" target="_blank" rel="noopener">{m.group(1)}</a>', md)


def process_code_cell(cell, i, module, lib):
    "The cells that stand for code cell `i` on the page: [], [cell] or [export tag, cell]."
    d = directives(cell.source)
    if 'default_exp' in d or 'hide' in d or d.get('include') == 'false' or 'nbdev_export(' in cell.source: return []
    if d.get('output') == 'false': cell.outputs = []
    fix_markdown_outputs(cell)
    shown = is_code_shown(cell)
    cell.source = strip_directives(cell.source)
    if not shown:
        cell.metadata.setdefault('transient', {})['remove_source'] = True
        if not cell.outputs: return []
    cell.metadata.pop('tags', None)
    if 'answer' in d: cell.metadata['tags'] = ['sg-answer']   # `#| answer`: site.js folds its code away
    out = []
    if module and d.keys() & {'export', 'exports'}:
        tag = f'<div class="sg-export">exported to <code>{lib}.{module}</code></div>'
        out.append(nbformat.v4.new_markdown_cell(tag, id=f'cell-{i}-tag'))
    if cell.source.strip() or cell.outputs: out.append(cell)
    return out


def process(nb):
    "Apply nbdev's cell directives to a copy of `nb`, the way nbdev's docs would show it."
    nb = copy.deepcopy(nb)
    module = next((directives(c.source)['default_exp'] for c in nb.cells
                   if c.cell_type == 'code' and 'default_exp' in directives(c.source)), None)
    lib = settings()['lib_name']
    cells = []
    for i, cell in enumerate(nb.cells):
        cell.id = f'cell-{i}'   # stable ids: reproducible HTML
        cells += [cell] if cell.cell_type != 'code' else process_code_cell(cell, i, module, lib)
    # nbdev's anatomy puts `default_exp` and the imports before the H1 title; a page starts with its title.
    first_h1 = next((k for k, c in enumerate(cells) if c.cell_type == 'markdown' and re.match(r'\s*#\s', c.source)), 0)
    cells.insert(0, cells.pop(first_h1))
    nb.cells = cells
    nb.metadata['language_info'] = {'name': 'python', 'pygments_lexer': 'ipython3'}
    return nb


def ensure_mathjax(out: Path):
    "Copy MathJax 2.7.9 (HTML-CSS output, STIX-Web fonts) into `out/mathjax` once; later builds reuse it."
    dest = out / 'mathjax'
    if (dest / 'MathJax.js').exists(): return
    committed = ROOT / 'docs' / 'mathjax'
    if (committed / 'MathJax.js').exists():
        shutil.copytree(committed, dest); return
    import subprocess, tempfile
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '-q', '-d', tmp, MATHJAX_WHEEL], check=True)
        whl = next(Path(tmp).glob('*.whl'))
        with zipfile.ZipFile(whl) as z: z.extractall(tmp)
        src = next(Path(tmp).rglob('MathJax.js')).parent
        skip = ('localization', 'a11y', 'SVG', 'NativeMML', 'PreviewHTML', 'CommonHTML', 'unpacked')
        def ignore(d, names): return [n for n in names if n in skip or n.endswith('.md')]
        shutil.copytree(src, dest, ignore=ignore)


# ---- the pages of the book -------------------------------------------------------------------------------------------

@dataclass
class Page:
    fn: Path        # the notebook (or markdown file) it is rendered from
    nb: object      # the notebook, as read
    name: str       # e.g. `tensor.html`
    number: str     # e.g. `04`, '' for pages outside the chapters
    title: str      # the H1
    subtitle: str   # the `> ...` line under it


def notebooks():
    "The home page, then every numbered notebook of nbs/ (settings.ini's `nbs_path`) in file-name order."
    nbs = ROOT / settings().get('nbs_path', 'nbs')   # nbdev's default
    return [nbs / 'index.ipynb'] + sorted(nbs.glob('[0-9]*.ipynb'))


def markdown_notebook(fn: Path):
    "A one-cell notebook holding a markdown file, so that it renders like a chapter (CONTRIBUTING.md)."
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(fn.read_text(encoding='utf-8'), id='md')])


def pages():
    "Every page of the site: the notebooks, then CONTRIBUTING.md. Two notebooks may not map to one page name."
    out = []
    for fn in notebooks():
        nb = nbformat.read(fn, as_version=4)
        number = re.match(r'^(\d+[a-z]?)_', fn.stem)
        out.append(Page(fn, nb, page_name(fn), number.group(1) if number else '', title_of(nb, fn), subtitle_of(nb)))
    contributing = ROOT / 'CONTRIBUTING.md'
    nb = markdown_notebook(contributing)
    out.append(Page(contributing, nb, 'contributing.html', '', title_of(nb, contributing), ''))
    names = [p.name for p in out]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash: raise ValueError(f'build_docs: several notebooks would render to {clash}: rename one of them '
                               f'(a page is named after the notebook without its number prefix)')
    return out


HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)(?:<a class="anchor-link"[^>]*>.*?</a>)?</h\1>', re.S)


def headings(body: str):
    "The page's H2 and H3 headings, in order, as (level, id, text)."
    return [(int(lv), hid, html.unescape(re.sub(r'<[^>]+>', '', txt)).strip()) for lv, hid, txt in HEADING.findall(body)]


def toc_items(body: str, levels=(2, 3)):
    return ''.join(f'<li class="sg-toc-h{lv}"><a href="#{html.escape(hid)}">{html.escape(txt)}</a></li>'
                   for lv, hid, txt in headings(body) if lv in levels)


def toc_html(body: str):
    "The contents column of a wide window (site.css hides it below 1100 px, where `inline_toc_html` takes over)."
    items = toc_items(body)
    if not items: return '<aside class="sg-toc"></aside>'
    return '<aside class="sg-toc"><div class="sg-side-h">On this page</div><ul>' + items + '</ul></aside>'


def inline_toc_html(body: str):
    "The page's H2 sections under its title, folded (a <details>): what a phone or a narrow window shows instead."
    items = toc_items(body, levels=(2,))
    return f'<details class="sg-toc-inline"><summary>On this page</summary><ul>{items}</ul></details>' if items else ''


NB_DIR = 'nbs'   # docs/nbs/ holds the notebooks a reader downloads


def learner_notebook(nb) -> str:
    """The notebook a reader downloads: the chapter as in nbs/, with its outputs, minus the cells that only work inside
    the repository (`nbdev_export()` writes the package from settings.ini, which a downloaded notebook does not have)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (c.cell_type == 'code' and 'nbdev_export(' in c.source)]
    return nbformat.writes(nb) + '\n'


def notebook_links_html(page: Page):
    "Download the chapter's notebook (docs/nbs/) and see its source on GitHub (settings.ini's git_url and branch)."
    links = []
    if page.fn.suffix == '.ipynb':
        links.append(f'<a class="sg-download" href="{NB_DIR}/{html.escape(page.fn.name)}" download '
                     f'title="The chapter as a Jupyter notebook, with its outputs">Download notebook</a>')
    links.append(f'<a class="sg-github" href="{html.escape(source_url(page.fn))}">Source on GitHub</a>')
    return '<div class="sg-nb-links">' + ''.join(links) + '</div>'


def after_title(main: str, extra: str):
    "Insert `extra` right after the page's H1 and the `> subtitle` under it (at the top of a page without an H1)."
    m = re.search(r'</h1>\s*(?:<blockquote>.*?</blockquote>)?', main, re.S)
    return main[:m.end()] + extra + main[m.end():] if m else extra + main


def inline_markdown(text: str) -> str:
    "Escape `text` for HTML, keeping its `code spans` (titles and subtitles name functions)."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text))


def sidebar_html(book, here: Page):
    def item(p):
        num = f'<span class="sg-num">{p.number}</span> ' if p.number else ''
        cls = ' class="sg-here"' if p is here else ''
        sub = f'<div class="sg-sub">{inline_markdown(p.subtitle)}</div>' if p is here and p.subtitle else ''
        tip = html.escape(p.subtitle.replace('`', ''))
        return f'<li{cls}><a href="{p.name}" title="{tip}">{num}{inline_markdown(p.title)}</a>{sub}</li>'
    chapters = [p for p in book if p.number or p.name == 'index.html']
    others = [p for p in book if p not in chapters]
    return ('<nav id="sg-sidebar" class="sg-sidebar" aria-label="Chapters"><div class="sg-side-h">Chapters</div><ol>'
            + ''.join(item(p) for p in chapters) + '</ol><div class="sg-side-h">Project</div><ul>'
            + ''.join(item(p) for p in others) + f'<li><a href="{html.escape(repo_url())}">Repository</a></li></ul></nav>')


def topbar_html():
    "The top bar: the chapters button (shown on narrow screens, where the sidebar folds away), the title, search."
    return ('<header class="sg-top"><button class="sg-menu" type="button" aria-controls="sg-sidebar" aria-expanded="false"'
            ' aria-label="Chapters" title="Chapters"><span class="sg-menu-icon" aria-hidden="true"></span></button>'
            '<a class="sg-brand" href="index.html">scratchgrad</a>'
            '<form class="sg-search" role="search" onsubmit="return false">'
            '<input id="sg-q" name="q" type="search" placeholder="Search the book" autocomplete="off" aria-label="Search">'
            '<div id="sg-results" class="sg-results tex2jax_ignore" hidden></div></form></header>')


def pager_html(book, here: Page):
    i = book.index(here)
    link = lambda p, text: f'<a href="{p.name}">{text}</a>'
    prev = link(book[i - 1], f'&larr; {html.escape(book[i - 1].title)}') if i > 0 else '<span></span>'
    nxt = link(book[i + 1], f'{html.escape(book[i + 1].title)} &rarr;') if i + 1 < len(book) else '<span></span>'
    return f'<div class="sg-pager">{prev}{nxt}</div>'


SCRIPTS = ('<script>window.SG_ASSETS="assets/";</script><script src="assets/site.js"></script>')
# Set before the page paints: with JavaScript the narrow layout folds the chapter list behind the menu button; without
# it, site.css shows the list after the page instead (the button would do nothing).
JS_FLAG = "<script>document.documentElement.classList.add('sg-js');</script>"


def frame(body: str, book, here: Page):
    "Wrap nbconvert's `<main>` in the book's layout: top bar, sidebar, the page with its pager, its table of contents."
    head = JS_FLAG + '<link rel="stylesheet" href="assets/site.css">' + MATHJAX_FONTS
    body = body.replace('</head>', head + '</head>', 1)
    start, end = body.index('<main>'), body.rindex('</main>') + len('</main>')
    main = body[start + len('<main>'):end - len('</main>')]
    page = after_title(main, notebook_links_html(here) + inline_toc_html(main))
    layout = (topbar_html() + '<div class="sg-layout">' + sidebar_html(book, here)
              + '<main class="sg-main">' + page + pager_html(book, here) + '</main>' + toc_html(main) + '</div>' + SCRIPTS)
    return body[:start] + layout + body[end:]


def shared_css(body: str, state: dict):
    "The lab template inlines ~300 KB of CSS in every page: keep one copy in docs/nbconvert.css instead."
    styles = re.findall(r'<style type="text/css">.*?</style>', body, flags=re.S)
    css = '\n'.join(s[len('<style type="text/css">'):-len('</style>')] for s in styles)
    state.setdefault('css', css)
    if styles and css == state['css']:
        body = body.replace(styles[0], '<link rel="stylesheet" href="nbconvert.css">', 1)
        for s in styles[1:]: body = body.replace(s, '', 1)
    return body


def mark_graphs(body: str):
    "Tag Graphviz drawings (SVG images) `sg-graph`: site.css keeps them at their natural size, readable."
    return re.sub(r'<img alt="No description has been provided for this image" (?=src="data:image/svg\+xml)',
                  '<img class="sg-graph" alt="a Graphviz drawing" ', body)


# ---- search ----------------------------------------------------------------------------------------------------------

# The search index holds plain text: what a reader reads in a result, and words to match. MathJax typesets the page's
# `$...$` in the browser, but the index would keep the TeX source (`$\\bar x$`, `\\frac{..}{..}`); `plain_math` turns
# it into a plain-text approximation (x̄, (a)/(b), ∂f/∂x, ℝⁿ).
TEX_SYMBOLS = dict(
    alpha='α', beta='β', gamma='γ', delta='δ', epsilon='ε', varepsilon='ε', zeta='ζ', eta='η', theta='θ', vartheta='ϑ',
    iota='ι', kappa='κ', lambda_='λ', mu='μ', nu='ν', xi='ξ', pi='π', rho='ρ', sigma='σ', tau='τ', upsilon='υ',
    phi='φ', varphi='φ', chi='χ', psi='ψ', omega='ω', Gamma='Γ', Delta='Δ', Theta='Θ', Lambda='Λ', Xi='Ξ', Pi='Π',
    Sigma='Σ', Phi='Φ', Psi='Ψ', Omega='Ω', partial='∂', nabla='∇', cdot='·', cdots='⋯', ldots='…', dots='…',
    times='×', div='÷', pm='±', mp='∓', to='→', rightarrow='→', leftarrow='←', Rightarrow='⇒', Leftrightarrow='⇔',
    mapsto='↦', le='≤', leq='≤', ge='≥', geq='≥', ne='≠', neq='≠', ll='≪', gg='≫', approx='≈', sim='∼', equiv='≡',
    propto='∝', in_='∈', notin='∉', subset='⊂', subseteq='⊆', cup='∪', cap='∩', forall='∀', exists='∃', infty='∞',
    sum='Σ', prod='∏', int='∫', top='ᵀ', prime='′', circ='∘', odot='⊙', otimes='⊗', oplus='⊕', langle='⟨', rangle='⟩',
    lfloor='⌊', rfloor='⌋', lceil='⌈', rceil='⌉', ell='ℓ', mid='|', vert='|', Vert='‖', lvert='|', rvert='|',
    lVert='‖', rVert='‖', emptyset='∅', neg='¬', land='∧', lor='∨', star='⋆', ast='∗', bullet='•')
TEX_SYMBOLS.update({'lambda': 'λ', 'in': '∈', '{': '{', '}': '}', '|': '‖', '%': '%', '$': '$', '#': '#', '&': '&',
                    '_': '_', ',': ' ', ';': ' ', ':': ' ', '!': '', ' ': ' ', 'quad': ' ', 'qquad': ' ', '\\': '; '})
TEX_TIGHT = {'partial', 'nabla', 'sum', 'prod', 'int', 'neg'} | {k for k, v in TEX_SYMBOLS.items() if 'α' <= v <= 'ω' or 'Α' <= v <= 'Ω'}
TEX_DROP = {'left', 'right', 'big', 'Big', 'bigg', 'Bigg', 'bigl', 'bigr', 'Bigl', 'Bigr', 'biggl', 'biggr', 'displaystyle',
            'textstyle', 'limits', 'nolimits', 'nonumber', 'notag'}
TEX_ARG = {'text', 'textrm', 'textit', 'textbf', 'texttt', 'mathrm', 'mathbf', 'mathit', 'mathsf', 'mathtt', 'mathcal',
           'mathscr', 'mathfrak', 'operatorname', 'boldsymbol', 'bm', 'mathrel', 'mathop', 'mathbin', 'mathord', 'mbox',
           'hbox', 'underbrace', 'overbrace', 'underline', 'color', 'label'}
TEX_ACCENTS = dict(bar='\u0304', overline='\u0305', hat='\u0302', widehat='\u0302', tilde='\u0303', widetilde='\u0303',
                   dot='\u0307', ddot='\u0308', vec='\u20d7')
TEX_BB = dict(R='ℝ', N='ℕ', Z='ℤ', Q='ℚ', C='ℂ', E='𝔼', P='ℙ')
TEX_SUP = dict(zip('0123456789+-=()niT', '⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ'), **{'ᵀ': 'ᵀ', '′': '′', '−': '⁻'})
TEX_SUB = dict(zip('0123456789+-=()aeijklmnoprstuvx', '₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ'))
TEX_TOKEN = re.compile(r'\\([A-Za-z]+)\s*|\\(.)|(\s+)|(.)', re.S)
MATH = re.compile(r'\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$])\$([^$]+?)\$', re.S)


class _Tex:
    "A small reader of TeX math that writes plain text (see `tex_to_text`)."
    def __init__(self, src): self.toks, self.i = [m for m in TEX_TOKEN.finditer(src)], 0

    def peek(self): return self.toks[self.i] if self.i < len(self.toks) else None

    def group(self) -> str:
        "The next argument: a {braced group} or one token, as text."
        while self.peek() and self.peek().group(3): self.i += 1   # spaces before an argument
        t = self.peek()
        if t is None: return ''
        if t.group(4) == '{':
            self.i += 1; return self.until('}')
        return self.token()

    def until(self, close=None) -> str:
        out = []
        while (t := self.peek()) is not None:
            if close and t.group(4) == close: self.i += 1; break
            out.append(self.token())
        return ''.join(out)

    def token(self) -> str:
        t = self.toks[self.i]; self.i += 1
        name, sym, space, ch = t.groups()
        if name:
            text, nxt = self.command(name), self.peek()
            if name in TEX_TIGHT: return text                       # \\partial f -> ∂f, \\sigma x -> σx
            word = text[-1:].isalpha() and name not in TEX_SYMBOLS   # \\tanh x -> tanh x, \\log\\sigma -> log σ
            spaced = t.group(0)[-1].isspace() or (word and nxt is not None and (nxt.group(1) or (nxt.group(4) or '').isalnum()))
            return text + (' ' if spaced else '')
        if space: return ' '
        if sym is not None: return TEX_SYMBOLS.get(sym, sym)
        if ch == '{': return self.until('}')
        if ch in '}&': return ''
        if ch in '^_': return self.script(ch)
        return ch

    def script(self, ch) -> str:
        raw = self.group()
        arg, table, after = raw.strip(), TEX_SUP if ch == '^' else TEX_SUB, ' ' if raw.endswith(' ') else ''
        if arg and all(c in table for c in arg): return ''.join(table[c] for c in arg) + after
        return ch + (arg if len(arg) == 1 else f'({arg})') + after

    def command(self, name) -> str:
        if name in TEX_DROP: return ''
        if name in ('frac', 'dfrac', 'tfrac'):
            a, b = self.group().strip(), self.group().strip()
            wrap = lambda x: f'({x})' if re.search(r'[\s+\-=/<>,±·×−]', x) else x
            return f'{wrap(a)}/{wrap(b)}'
        if name == 'sqrt':
            if self.peek() is not None and self.peek().group(4) == '[': self.i += 1; self.until(']')
            arg = self.group().strip()
            return '√' + (arg if len(arg) == 1 else f'({arg})')
        if name in ('begin', 'end'): self.group(); return ' '
        if name == 'mathbb': arg = self.group().strip(); return TEX_BB.get(arg, arg)
        if name in TEX_ACCENTS: arg = self.group().strip(); return arg + TEX_ACCENTS[name] if arg else ''
        if name in TEX_ARG: return self.group()
        return TEX_SYMBOLS.get(name, name)   # \log, \tanh, \max...: the function's name


def tex_to_text(tex: str) -> str:
    "A plain-text approximation of TeX math: `\\frac{\\partial f}{\\partial x}` -> `(∂f)/(∂x)`, `\\bar x` -> `x̄`."
    return unicodedata.normalize('NFC', re.sub(r'\s+', ' ', _Tex(tex).until()).strip())   # y + macron -> ȳ


def plain_math(text: str) -> str:
    "Replace every `$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]` of prose by its plain text (`tex_to_text`)."
    return MATH.sub(lambda m: tex_to_text(next(g for g in m.groups() if g is not None)), text)


class _Sections(HTMLParser):
    """Splits a page's main content into sections at its H1/H2/H3 headings, keeping their text (prose, code, outputs).
    Each section's text is a list of (text, is_code) runs: math is read as TeX in prose only (code keeps its `$` and `\\`)."""
    SKIP = {'script', 'style'}
    BLOCK = {'p', 'div', 'li', 'pre', 'td', 'th', 'tr', 'br', 'h1', 'h2', 'h3', 'h4', 'blockquote', 'summary'}
    CODE = {'pre', 'code'}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections, self.skip, self.in_heading, self.code = [['', '', []]], 0, False, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.BLOCK: self.sections[-1][2].append((' ', False))
        if tag in self.CODE: self.code += 1
        if tag in self.SKIP or (tag == 'a' and a.get('class') == 'anchor-link'): self.skip += 1
        elif tag in ('h1', 'h2', 'h3') and a.get('id'):
            self.sections.append([a['id'], '', []]); self.in_heading = True

    def handle_endtag(self, tag):
        if tag in self.BLOCK: self.sections[-1][2].append((' ', False))
        if tag in self.CODE: self.code = max(0, self.code - 1)
        if tag in self.SKIP or (tag == 'a' and self.skip): self.skip = max(0, self.skip - 1)
        elif tag in ('h1', 'h2', 'h3'): self.in_heading = False

    def handle_data(self, data):
        if self.skip: return
        if self.in_heading: self.sections[-1][1] += data
        else: self.sections[-1][2].append((data, self.code > 0))


def plain_text(parts) -> str:
    "A section's runs of (text, is_code) as one line of text, with the prose's math in plain text (`plain_math`)."
    out, prose = [], []
    for text, is_code in parts + [('', True)]:
        if not is_code: prose.append(text); continue
        out += [plain_math(''.join(prose)), text]; prose = []
    return re.sub(r'\s+', ' ', ''.join(out)).strip()


def search_docs(page: Page, main: str):
    "One search document per section of a page: its URL, page title, section title and text (math as plain text)."
    parser = _Sections(); parser.feed(main)
    docs = []
    for k, (anchor, title, parts) in enumerate(parser.sections):   # numbered: two headings may share an anchor
        text, title = plain_text(parts), plain_math(title).strip()
        if not (title or text): continue
        url = page.name + (f'#{anchor}' if anchor and title != page.title else '')
        docs.append(dict(id=f'{page.name}:{k}', url=url, page=page.title, section=title, text=text))
    return docs


def write_search_index(out: Path, docs):
    "A script, not JSON: browsers refuse to fetch JSON from file:// pages, and the book must work opened from disk."
    data = json.dumps(docs, ensure_ascii=False, sort_keys=True, separators=(',', ':'))
    (out / 'assets' / 'search-index.js').write_text(f'window.SG_SEARCH_DOCS = {data};\n', encoding='utf-8')


def write_notebooks(out: Path, book):
    "docs/nbs/: each page's notebook, to download (`learner_notebook`); notebooks no longer in the book are removed."
    dest = out / NB_DIR
    dest.mkdir(parents=True, exist_ok=True)
    written = {p.fn.name for p in book if p.fn.suffix == '.ipynb'}
    for p in book:
        if p.fn.suffix == '.ipynb': (dest / p.fn.name).write_text(learner_notebook(p.nb), encoding='utf-8')
    for stale in {f.name for f in dest.glob('*.ipynb')} - written: (dest / stale).unlink()


def copy_assets(out: Path):
    "Copy tools/site (site.css, site.js, the vendored MiniSearch and its licence) to docs/assets."
    dest = out / 'assets'
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(SITE, dest, ignore=shutil.ignore_patterns('README.md'))


# ---- the build -------------------------------------------------------------------------------------------------------

def build_site(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    ensure_mathjax(out)
    copy_assets(out)
    exporter = HTMLExporter(template_name='scratchgrad', extra_template_basedirs=[str(ROOT / 'tools' / 'templates')],
                            mathjax_url=MATHJAX_URL, exclude_input_prompt=True, exclude_output_prompt=True)
    book, css, docs = pages(), {}, []
    for page in book:
        body, _ = exporter.from_notebook_node(process(page.nb), resources={'metadata': {'name': page.title}})
        body = mark_graphs(body)
        body = shared_css(body, css)
        docs += search_docs(page, body[body.index('<main>'):body.rindex('</main>')])
        (out / page.name).write_text(frame(body, book, page), encoding='utf-8')
    (out / 'nbconvert.css').write_text(css.get('css', ''), encoding='utf-8')
    (out / '.nojekyll').write_text('')
    write_search_index(out, docs)
    write_notebooks(out, book)
    written = [p.name for p in book]
    for stale in set(p.name for p in out.glob('*.html')) - set(written): (out / stale).unlink()
    return written


def build_readme(readme: Path):
    "README.md from `nbs/index.ipynb`: its markdown and outputs, with absolute links to the published docs."
    cfg = settings()
    base = f"https://{cfg['user']}.github.io/{cfg['repo']}/"
    nb = process(nbformat.read(notebooks()[0], as_version=4))
    for c in nb.cells:
        if c.cell_type == 'markdown':
            c.source = re.sub(r'\]\((?!https?://|#)([\w.-]+\.html)\)', lambda m: f']({base}{m.group(1)})', c.source)
    img_dir = 'docs/readme_files'
    body, res = MarkdownExporter().from_notebook_node(nb, resources={'output_files_dir': img_dir})
    shutil.rmtree(readme.parent / img_dir, ignore_errors=True)
    for name, data in sorted(res.get('outputs', {}).items()):
        p = readme.parent / name; p.parent.mkdir(parents=True, exist_ok=True); p.write_bytes(data)
    header = '<!-- Generated from nbs/index.ipynb by `make docs` (tools/build_docs.py): do not edit. -->\n\n'
    readme.write_text(header + body.strip() + '\n', encoding='utf-8')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT / 'docs'))
    ap.add_argument('--readme', default=str(ROOT / 'README.md'))
    a = ap.parse_args()
    written = build_site(Path(a.out))
    build_readme(Path(a.readme))
    print(f'build_docs: rendered {len(written)} pages into {Path(a.out).resolve()} (open index.html there)')


if __name__ == '__main__': main()
