"""Execute notebooks in-process and store their outputs (no Jupyter kernel needed).

Usage: python tools/run_nbs.py [--force] [nbs/00_variable.ipynb ...]   (default: every notebook in nbs/)

A notebook is skipped when its cell sources and the package's code are unchanged since its outputs were stored: each run
writes that fingerprint into the notebook's own metadata (`scratchgrad.run_key`, kept by nbdev_clean through settings.ini's
`allowed_metadata_keys`). It travels with the committed notebook, so `make docs` in a fresh clone re-executes nothing and
leaves `git status` clean (printed timings would otherwise change). `--force` runs everything, and so does naming notebooks.

The skip rules are nbdev_test's: cells tagged `#| eval: false` and `nbdev_export()` cells are not run.
Unlike nbdev_test, `IN_TEST` is *not* set, so notebooks show their full demos, and `#| slow` cells run too.
Refuses to run without Graphviz's `dot`: a graph cell would otherwise store a traceback instead of its SVG.
"""
import hashlib, os, shutil, sys, time
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


def run_nb(fn: Path) -> float:
    "Run notebook `fn` top to bottom, write it back with fresh outputs and its fingerprint; return the seconds taken."
    nb = read_nb(fn)
    shell = CaptureShell(fn)
    t0 = time.time()
    with working_directory(fn.parent):
        shell.run_all(nb, exc_stop=True, preproc=_skip)
    nb.metadata['scratchgrad'] = {'run_key': source_key(nb)}
    write_nb(nb, fn)
    return time.time() - t0


def main(args):
    paths = [a for a in args if a != '--force']
    force = '--force' in args or bool(paths)
    if shutil.which('dot') is None:
        sys.exit("run_nbs: Graphviz's `dot` binary is missing, so graph outputs would be stored as tracebacks.\n"
                 "Install it first: `sudo apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS).")
    os.environ.pop('IN_TEST', None)
    sys.path.insert(0, str(ROOT))
    fns = [Path(p).resolve() for p in paths] or sorted((ROOT / 'nbs').glob('*.ipynb'))
    kept = []
    for fn in fns:
        nb = read_nb(fn)
        if not force and stored_key(nb) == source_key(nb):
            kept.append(fn.name); continue
        print(f'running {fn.name} ...', end=' ', flush=True)
        try: dt = run_nb(fn)
        except Exception as e:
            print('FAILED')
            sys.exit(f'run_nbs: {fn.name} raised {type(e).__name__}: {e}')
        print(f'{dt:.1f}s')
    if kept: print(f'run_nbs: {len(kept)} notebook(s) unchanged since their outputs were stored, not re-run')


if __name__ == '__main__': main(sys.argv[1:])
