"""Fail if the package is out of sync with the notebooks, or if a notebook is not clean.

Works on a dirty tree too: it compares file contents before and after `nbdev_export` / `nbdev_clean`.
"""
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snapshot(paths):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def changed(before, after):
    return sorted(str(p.relative_to(ROOT)) for p in set(before) | set(after) if before.get(p) != after.get(p))


def check(cmd, files, what, fix):
    before = snapshot(files())
    subprocess.run([str(BIN / cmd)], cwd=ROOT, check=True, capture_output=True)
    diff = changed(before, snapshot(files()))
    if diff:
        print(f'check_sync: {what}: `{cmd}` changed ' + ', '.join(diff))
        print(f'check_sync: {fix}')
        return False
    return True


pkg = lambda: list((ROOT / 'scratchgrad').glob('*.py')) + [ROOT / 'pyproject.toml']
nbs = lambda: list((ROOT / 'nbs').glob('*.ipynb'))
ok = check('nbdev_export', pkg, 'the package is out of sync with the notebooks',
           'edit the notebook, not scratchgrad/*.py; run nbdev_export and commit the result')
ok &= check('nbdev_clean', nbs, 'notebooks are not clean (metadata, execution counts, cell ids)',
            'run nbdev_clean and commit the result')
if not ok: sys.exit(1)
print('check_sync: package in sync with nbs/, notebooks clean')
