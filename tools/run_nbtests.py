"""Run every notebook as a test (`nbdev_test`), each in a process of its own, two at a time.

`nbdev_test` alone runs several notebooks in one worker process, so what one notebook defines or registers (a primitive
from an exercise, a switched setting) is still there when the next one runs: a notebook could pass only because of
another. Here each notebook starts from a fresh interpreter, as in a reader's kernel.

    python tools/run_nbtests.py [nbs/04a_engine.ipynb ...]   (default: every notebook in nbs/)
"""
import subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBDEV_TEST = Path(sys.executable).parent / 'nbdev_test'


def run(fn: Path):
    "nbdev_test on one notebook, in a new process: (notebook, seconds, return code, output)."
    t0 = time.time()
    r = subprocess.run([str(NBDEV_TEST), '--path', str(fn)], cwd=ROOT, capture_output=True, text=True)
    return fn, time.time() - t0, r.returncode, r.stdout + r.stderr


def main(args):
    fns = [Path(a).resolve() for a in args] or sorted((ROOT / 'nbs').glob('*.ipynb'))
    failed = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for fn, dt, rc, out in pool.map(run, fns):
            print(f"{fn.name}: {'ok' if rc == 0 else 'FAILED'} ({dt:.0f} s)", flush=True)
            if rc: failed.append(fn.name); print(out[-4000:])
    print(f"notebooks: {len(fns) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ''))
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main(sys.argv[1:])
