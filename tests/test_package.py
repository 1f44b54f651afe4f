"""The wheel: built with `python -m build`, installs with only the runtime requirements, and imports without nbdev."""
import configparser, subprocess, sys, tempfile, venv, zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT / 'settings.ini')
CFG = cfg['DEFAULT']


@pytest.fixture(scope='module')
def wheel():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, '-m', 'build', '--wheel', '--outdir', tmp, str(ROOT)], check=True,
                       capture_output=True)
        yield next(Path(tmp).glob('*.whl'))


def test_wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith('METADATA'))).decode()
    assert f"Version: {CFG['version']}" in meta
    runtime = [l.split(':', 1)[1].strip() for l in meta.splitlines()
               if l.startswith('Requires-Dist:') and 'extra ==' not in l]
    assert sorted(runtime) == sorted(CFG['requirements'].split())
    mods = {Path(n).stem for n in names if n.startswith('scratchgrad/') and n.endswith('.py')}
    assert {Path(p).stem for p in (ROOT / 'scratchgrad').glob('*.py')} <= mods
    assert not any(n.startswith(('nbs/', 'docs/', 'tests/')) for n in names)


def test_wheel_installs_and_imports_without_nbdev(wheel):
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        py = Path(tmp) / 'bin' / 'python'
        subprocess.run([str(py), '-m', 'pip', 'install', '-q', str(wheel)], check=True, capture_output=True)
        code = ("import importlib, pkgutil, scratchgrad; print(scratchgrad.__version__)\n"
                "for m in pkgutil.iter_modules(scratchgrad.__path__):\n"
                "    importlib.import_module('scratchgrad.' + m.name)\n"
                "import importlib.util as u; assert u.find_spec('nbdev') is None and u.find_spec('IPython') is None")
        out = subprocess.run([str(py), '-c', code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == CFG['version']
