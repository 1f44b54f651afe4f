"""Render the notebooks' stored outputs into the static tutorial site `docs/` and the README, offline and without Quarto.

Usage: python tools/build_docs.py [--out DIR] [--readme PATH]

Nothing is executed here: run `python tools/run_nbs.py` first to refresh the outputs (`make docs` does both).
The build is deterministic, so rebuilding from the same notebooks leaves `docs/` byte-identical (a test checks this).

Why not nbdev's own docs path: `nbdev_docs`/`nbdev_preview` need Quarto, which cannot be installed offline, and nbdev's
notebook processing replaces `#| export` cells by API summaries, while a from-scratch tutorial must show its code.
So we process the cells ourselves (nbdev's directives: hide, echo, output, include, export...), then let nbconvert's
HTML exporter render them with MathJax served from `docs/mathjax/` (math works offline).
"""
import argparse, copy, html, re, shutil, sys, zipfile, glob
from configparser import ConfigParser
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_WHEEL = 'jupyter-server-mathjax==0.2.6'   # MathJax 2.7.9's static files, repackaged on PyPI
MATHJAX_URL = 'mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe'
MATHJAX_FONTS = ('<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS":{availableFonts:["STIX-Web"],'
                 'preferredFont:"STIX-Web",webFont:"STIX-Web",imageFont:null}});</script>')
DIRECTIVE = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')


def settings():
    cp = ConfigParser(delimiters=['=']); cp.read(ROOT / 'settings.ini')
    return cp['DEFAULT']


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


def process(nb):
    "Apply nbdev's cell directives to a copy of `nb`, the way nbdev's docs would show it."
    nb = copy.deepcopy(nb)
    module = next((directives(c.source)['default_exp'] for c in nb.cells
                   if c.cell_type == 'code' and 'default_exp' in directives(c.source)), None)
    lib = settings()['lib_name']
    cells = []
    for i, cell in enumerate(nb.cells):
        cell.id = f'cell-{i}'   # stable ids: reproducible HTML
        if cell.cell_type != 'code':
            cells.append(cell); continue
        d = directives(cell.source)
        if 'default_exp' in d or 'hide' in d or d.get('include') == 'false' or 'nbdev_export(' in cell.source: continue
        if d.get('output') == 'false': cell.outputs = []
        cell.source = strip_directives(cell.source)
        if d.get('echo') == 'false':
            cell.metadata.setdefault('transient', {})['remove_source'] = True
            if not cell.outputs: continue
        cell.metadata.pop('tags', None)
        if module and d.keys() & {'export', 'exports'}:
            tag = f'<div class="sg-export">exported to <code>{lib}.{module}</code></div>'
            cells.append(nbformat.v4.new_markdown_cell(tag, id=f'cell-{i}-tag'))
        if cell.source.strip() or cell.outputs: cells.append(cell)
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


NAV_CSS = """<style>
.sg-nav{position:sticky;top:0;z-index:10;background:#1f2937;padding:.5em 1em;font:14px/1.6 system-ui,sans-serif;display:flex;flex-wrap:wrap;gap:.2em 1.1em}
.sg-nav a{color:#e5e7eb;text-decoration:none}.sg-nav a.sg-here{color:#fbbf24;font-weight:600}
.sg-pager{display:flex;justify-content:space-between;max-width:1000px;margin:2em auto;font:15px system-ui,sans-serif}
.sg-pager a{text-decoration:none}
.jp-Notebook{max-width:1040px;margin:0 auto}
.jp-RenderedMarkdown pre{background:#f5f5f5;padding:.6em .8em;border-radius:4px}
.jp-OutputArea-output img{max-width:100%;height:auto}
.sg-export{font:12px system-ui,sans-serif;color:#6b7280;margin:.8em 0 -.4em .2em}
details{border-left:3px solid #10b981;padding:.2em .8em;margin:.6em 0;background:#f0fdf4}
summary{cursor:pointer;font-weight:600}
</style>"""


def nav_html(pages, here):
    links = [f'<a href="{p}"{" class=sg-here" if p == here else ""}>{html.escape(t)}</a>' for p, t in pages]
    return '<nav class="sg-nav">' + ''.join(links) + '</nav>'


def pager_html(pages, here):
    names = [p for p, _ in pages]; i = names.index(here)
    prev = f'<a href="{pages[i-1][0]}">&larr; {html.escape(pages[i-1][1])}</a>' if i > 0 else '<span></span>'
    nxt = f'<a href="{pages[i+1][0]}">{html.escape(pages[i+1][1])} &rarr;</a>' if i + 1 < len(pages) else '<span></span>'
    return f'<div class="sg-pager">{prev}{nxt}</div>'


def notebooks():
    fns = sorted((ROOT / 'nbs').glob('[0-9]*.ipynb'))
    return [ROOT / 'nbs' / 'index.ipynb'] + fns


def build_site(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    ensure_mathjax(out)
    exporter = HTMLExporter(template_name='scratchgrad', extra_template_basedirs=[str(ROOT / 'tools' / 'templates')],
                            mathjax_url=MATHJAX_URL,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    nbs = [(fn, nbformat.read(fn, as_version=4)) for fn in notebooks()]
    pages = [(page_name(fn), 'Home' if fn.stem == 'index' else fn.stem.replace('_', ' · ', 1)) for fn, nb in nbs]
    shared_css = None
    written = []
    for (fn, nb), (page, _) in zip(nbs, pages):
        body, _ = exporter.from_notebook_node(process(nb), resources={'metadata': {'name': title_of(nb, fn)}})
        # The lab template inlines ~300 KB of CSS in every page: keep one copy in docs/nbconvert.css instead.
        styles = re.findall(r'<style type="text/css">.*?</style>', body, flags=re.S)
        css = '\n'.join(s[len('<style type="text/css">'):-len('</style>')] for s in styles)
        if shared_css is None: shared_css = css
        if styles and css == shared_css:
            body = body.replace(styles[0], '<link rel="stylesheet" href="nbconvert.css">', 1)
            for s in styles[1:]: body = body.replace(s, '', 1)
        body = body.replace('</head>', MATHJAX_FONTS + NAV_CSS + '</head>', 1)
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav_html(pages, page), body, count=1)
        body = body.replace('</body>', pager_html(pages, page) + '</body>', 1)
        (out / page).write_text(body, encoding='utf-8')
        written.append(page)
    (out / 'nbconvert.css').write_text(shared_css or '', encoding='utf-8')
    (out / '.nojekyll').write_text('')
    for stale in set(p.name for p in out.glob('*.html')) - set(written): (out / stale).unlink()
    return written


def build_readme(readme: Path):
    "README.md from `nbs/index.ipynb`: its markdown and outputs, with absolute links to the published docs."
    cfg = settings()
    base = f"https://{cfg['user']}.github.io/{cfg['repo']}/"
    nb = process(nbformat.read(ROOT / 'nbs' / 'index.ipynb', as_version=4))
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
    pages = build_site(Path(a.out))
    build_readme(Path(a.readme))
    print('rendered:', ' '.join(pages))
    print(f'open {Path(a.out).resolve() / "index.html"}')


if __name__ == '__main__': main()
