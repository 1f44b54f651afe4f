"""Prepare a learner's copy of the notebooks for `make lab`: lab/ (untracked), with the project's kernel selected.

Doing the exercises changes a notebook; in nbs/ that would make `make test` fail ("notebooks are not clean") and mix
your answers into the book. So `make lab` opens copies in lab/ instead. A notebook is copied only if lab/ has no copy
of it yet, so your work is never overwritten (delete a file in lab/ to get a fresh copy of it). Each copy names the
kernel `scratchgrad` (this virtualenv's Python, installed here as a Jupyter kernel), so JupyterLab starts it without
asking "Select Kernel". Code cells marked `#| answer` (they contain an exercise's answer) start with their source
collapsed, as the site shows them, so the answer is not in plain view while you work on the exercise.
"""
import json, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB, KERNEL = ROOT / 'lab', {'name': 'scratchgrad', 'display_name': 'Python 3 (scratchgrad)', 'language': 'python'}


def install_kernel():
    "Register this Python as the Jupyter kernel `scratchgrad` inside the virtualenv (sys.prefix)."
    subprocess.run([sys.executable, '-m', 'ipykernel', 'install', '--sys-prefix', '--name', KERNEL['name'],
                    '--display-name', KERNEL['display_name']], check=True, capture_output=True)


def copy_notebooks() -> int:
    "Copy each notebook of nbs/ that lab/ lacks, selecting the kernel; return how many were copied."
    LAB.mkdir(exist_ok=True)
    new = 0
    for fn in sorted((ROOT / 'nbs').glob('*.ipynb')):
        dest = LAB / fn.name
        if dest.exists(): continue
        nb = json.loads(fn.read_text(encoding='utf-8'))
        nb['metadata']['kernelspec'] = KERNEL
        for c in nb['cells']:
            if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| answer'):
                c['metadata'].setdefault('jupyter', {})['source_hidden'] = True
        dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        new += 1
    return new


if __name__ == '__main__':
    install_kernel()
    n = copy_notebooks()
    kept = len(list(LAB.glob('*.ipynb'))) - n
    print(f"lab: {n} notebook(s) copied to lab/" + (f", {kept} of your copies kept as they are" if kept else '')
          + "; kernel 'scratchgrad' selected")
