"""Check that every page runs top to bottom from its *visible* code cells alone, in a fresh namespace.

Usage: python tools/check_visible.py [nbs/03_mlp.ipynb ...]   (default: every notebook in nbs/)

A reader copies the code a page shows and runs it. So every import and helper that visible code uses must itself be
visible: hidden cells (`#| hide`, `#| echo: false`, `#| include: false`) and show_doc calls are left out, exactly as
tools/build_docs.py leaves them off the page. Cells nbdev_test would skip are skipped too (`#| eval: false`, `#| slow`),
and `IN_TEST` is set as nbdev_test sets it, so demos stay small. Each notebook runs in its own subprocess, with a timeout.
Exit status 1 if a notebook fails; each failure names the cell and the error (typically a NameError for a hidden import).
"""
import argparse, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_docs import directives, is_code_shown, strip_directives  # noqa: E402

TIMEOUT = 600   # seconds per notebook


def visible_code(nb):
    "The sources of the code cells a reader sees on the page and would run: (cell index, source) pairs."
    out = []
    for i, cell in enumerate(nb.cells):
        if not is_code_shown(cell): continue
        d = directives(cell.source)
        if d.get('eval') == 'false' or 'slow' in d or 'notest' in d: continue
        out.append((i, strip_directives(cell.source)))
    return out


def run_visible(fn: Path) -> str | None:
    "Run `fn`'s visible code in a fresh IPython shell (in this process); return an error report, or None if all ran."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    shell = CaptureShell(fn)
    with working_directory(fn.parent):
        for i, src in visible_code(read_nb(fn)):
            shell.run(src)
            if shell.exc is not None:
                return f'cell {i} raised {type(shell.exc).__name__}: {shell.exc}\n    ' + src.splitlines()[0][:100]
    return None


def check(fn: Path, timeout=TIMEOUT):
    "Run one notebook's visible code in a subprocess; return (ok, seconds, message)."
    env = dict(os.environ, IN_TEST='1', PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    t0 = time.time()
    try:
        r = subprocess.run([sys.executable, __file__, '--one', str(fn)], env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.time() - t0, f'did not finish within {timeout}s'
    msg = (r.stdout.strip() or r.stderr.strip()[-2000:]) if r.returncode else ''
    return r.returncode == 0, time.time() - t0, msg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*')
    ap.add_argument('--one', help=argparse.SUPPRESS)   # internal: run one notebook in this process
    a = ap.parse_args()
    if a.one:
        err = run_visible(Path(a.one).resolve())
        if err: print(err); sys.exit(1)
        return
    fns = [Path(p).resolve() for p in a.notebooks] or sorted((ROOT / 'nbs').glob('*.ipynb'))
    failed = 0
    for fn in fns:
        ok, dt, msg = check(fn)
        print(f'check_visible: {fn.name}: {"ok" if ok else "FAILED"} ({dt:.1f}s)' + ('' if ok else f'\n  {msg}'))
        failed += not ok
    if failed:
        sys.exit(f'check_visible: {failed} page(s) do not run from their visible cells: make their imports visible')


if __name__ == '__main__': main()
