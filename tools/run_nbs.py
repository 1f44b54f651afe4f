"""Execute notebooks, each in a process of its own, and store their outputs (no Jupyter kernel needed).

Usage: python tools/run_nbs.py [--force] [nbs/00_variable.ipynb ...]   (default: every notebook in nbs/)
       python tools/run_nbs.py --check [nbs/...]   (run each into a temporary copy; compare with the stored outputs)

Each notebook runs in a fresh Python process, as a reader's kernel would: nothing defined or registered by one notebook
(a primitive added in an exercise, a switched setting) can leak into the outputs of another.

A notebook is skipped when its cell sources and the package's code are unchanged since its outputs were stored: each run
writes that fingerprint into the notebook's own metadata (`scratchgrad.run_key`, kept by nbdev_clean through settings.ini's
`allowed_metadata_keys`). It travels with the committed notebook, so `make docs` in a fresh clone re-executes nothing and
leaves `git status` clean (printed timings would otherwise change). `--force` runs everything, and so does naming notebooks.

The skip rules are nbdev_test's: cells tagged `#| eval: false` and `nbdev_export()` cells are not run.
Unlike nbdev_test, `IN_TEST` is *not* set, so notebooks show their full demos, and `#| slow` cells run too.
Refuses to run without Graphviz's `dot`: a graph cell would otherwise store a traceback instead of its SVG.
"""
import hashlib, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory

ROOT = Path(__file__).resolve().parents[1]


def _skip(cell):
    "True for cells nbdev_test would not run either."
    if cell.cell_type != 'code': return True
    if 'nbdev_export' + '(' in cell.source: return True
    for line in cell.source.splitlines():
        s = line.strip().replace(' ', '')
        if s.startswith('#|eval:false') or s.startswith('#|eval:False'): return True
    return False


def source_key(nb) -> str:
    "Fingerprint of what determines a notebook's outputs: its cell sources and the package's code."
    h = hashlib.sha256()
    for c in nb.cells: h.update(c.cell_type.encode() + b'\0' + c.source.encode() + b'\0')
    for p in sorted((ROOT / 'scratchgrad').glob('*.py')):
        if p.name != '_modidx.py': h.update(p.name.encode() + b'\0' + p.read_bytes())
    return h.hexdigest()[:32]


def stored_key(nb) -> str | None:
    "The fingerprint saved in the notebook when its outputs were stored (None if never run by this tool)."
    return nb.metadata.get('scratchgrad', {}).get('run_key')


def run_nb(fn: Path, out: Path | None = None) -> float:
    "Run notebook `fn` top to bottom, write it to `out` with fresh outputs and its fingerprint; return the seconds taken."
    nb = read_nb(fn)
    shell = CaptureShell(fn)
    t0 = time.time()
    with working_directory(fn.parent):
        shell.run_all(nb, exc_stop=True, preproc=_skip)
    nb.metadata['scratchgrad'] = {'run_key': source_key(nb)}
    write_nb(nb, out or fn)
    return time.time() - t0


def run_in_own_process(fn: Path, out: Path | None = None):
    "Run notebook `fn` in a fresh Python process; store the result in `fn` itself, or in `out`."
    cmd = [sys.executable, __file__, '--one', str(fn)] + ([str(out)] if out else [])
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


VOLATILE = '# (output varies from run to run)'   # a cell with this line: timings; its text is not compared


def _text(t) -> str: return ''.join(t) if isinstance(t, list) else t


def comparable(nb) -> list:
    "Per code cell: the text of its outputs (plain text and streams), and the kinds of its rich outputs."
    cells = []
    for c in nb.cells:
        if c.cell_type != 'code' or _skip(c): continue
        if VOLATILE in c.source: cells.append('(volatile)'); continue
        parts = []
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream': parts.append(_text(o.get('text', '')))
            elif 'data' in o: parts.append(_text(o['data'].get('text/plain', '')) if set(o['data']) == {'text/plain'}
                                           else ' '.join(sorted(o['data'])))
        cells.append(''.join(parts))
    return cells


def differences(fn: Path, tmp: Path) -> str:
    "Run `fn` in its own process into folder `tmp`; '' if every stored output equals the fresh one, else what differs."
    out = tmp / fn.name
    r = run_in_own_process(fn, out)
    if r.returncode: return f'{fn.name} raised:\n{r.stderr[-2000:]}'
    old, new = comparable(read_nb(fn)), comparable(read_nb(out))
    if len(old) != len(new): return f'{fn.name}: {len(old)} stored code cells, {len(new)} in the fresh run'
    diff = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    if not diff: return ''
    return (f'{fn.name}: code cells {diff} (counted without skipped cells) differ from a fresh run in their own process; '
            f'first:\n  stored: {old[diff[0]][:300]!r}\n  fresh:  {new[diff[0]][:300]!r}\n'
            f'  (re-run it with `python tools/run_nbs.py {fn.relative_to(ROOT) if fn.is_relative_to(ROOT) else fn}`, '
            f'or mark a timing cell with the line {VOLATILE!r})')


def check(fns) -> int:
    "Run each notebook in its own process into a temporary copy; report those whose outputs differ from the stored ones."
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fn in fns:
            msg = differences(fn, Path(tmp))
            bad += bool(msg)
            print(f'check: {msg}' if msg else f'check: {fn.name}: stored outputs equal a fresh run')
    return bad


def main(args):
    if shutil.which('dot') is None:
        sys.exit("run_nbs: Graphviz's `dot` binary is missing, so graph outputs would be stored as tracebacks.\n"
                 "Install it first: `sudo apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS).")
    os.environ.pop('IN_TEST', None)
    if args[:1] == ['--one']:                      # (the child process: run one notebook, store its outputs)
        sys.path.insert(0, str(ROOT))
        fn = Path(args[1]).resolve()
        dt = run_nb(fn, Path(args[2]) if len(args) > 2 else fn)
        return print(f'{dt:.1f}s')
    paths = [a for a in args if not a.startswith('--')]
    fns = [Path(p).resolve() for p in paths] or sorted((ROOT / 'nbs').glob('*.ipynb'))
    if '--check' in args: sys.exit(1 if check(fns) else 0)
    force = '--force' in args or bool(paths)
    kept = []
    for fn in fns:
        nb = read_nb(fn)
        if not force and stored_key(nb) == source_key(nb):
            kept.append(fn.name); continue
        print(f'running {fn.name} ...', end=' ', flush=True)
        r = run_in_own_process(fn)
        if r.returncode:
            print('FAILED')
            sys.exit(f'run_nbs: {fn.name} raised:\n{r.stderr[-3000:]}')
        print(r.stdout.strip().splitlines()[-1])
    if kept: print(f'run_nbs: {len(kept)} notebook(s) unchanged since their outputs were stored, not re-run')


if __name__ == '__main__': main(sys.argv[1:])
