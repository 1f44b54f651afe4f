"""The sdist and the wheel: built with `python -m build`, they ship the LICENSE, the wheel installs with only the runtime
requirements and imports without nbdev."""
import configparser, re, subprocess, sys, tarfile, tempfile, venv, zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT / 'settings.ini')
CFG = cfg['DEFAULT']


@pytest.fixture(scope='module')
def dist():
    "The sdist and the wheel built from it, as `python -m build` (and the release workflow) makes them."
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, '-m', 'build', '--outdir', tmp, str(ROOT)], check=True, capture_output=True)
        yield next(Path(tmp).glob('*.tar.gz')), next(Path(tmp).glob('*.whl'))


@pytest.fixture(scope='module')
def wheel(dist): return dist[1]


def test_license_is_apache2_and_shipped_in_both_archives(dist):
    sdist, whl = dist
    text = (ROOT / 'LICENSE').read_text()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text and 'END OF TERMS AND CONDITIONS' in text
    with tarfile.open(sdist) as t:
        in_sdist = [m for m in t.getnames() if m.endswith('/LICENSE')]
        assert in_sdist, f'{sdist.name} lacks LICENSE (MANIFEST.in)'
        assert t.extractfile(in_sdist[0]).read().decode() == text
    with zipfile.ZipFile(whl) as z:
        in_wheel = [n for n in z.namelist() if '.dist-info/' in n and n.endswith('LICENSE')]
        assert in_wheel, f'{whl.name} lacks LICENSE in its .dist-info'
        assert z.read(in_wheel[0]).decode() == text


def test_development_status_is_honest(wheel):
    "settings.ini's `status` is the classifier's own number; the project is Alpha."
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('METADATA'))).decode()
    status = [l for l in meta.splitlines() if l.startswith('Classifier: Development Status')]
    assert status == [f"Classifier: Development Status :: {CFG['status']} - Alpha"], status


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


def test_release_workflow_publishes_on_version_tags_with_trusted_publishing():
    wf = (ROOT / '.github' / 'workflows' / 'release.yaml').read_text()
    assert re.search(r"tags:\s*\[\s*'v\*'\s*\]", wf), 'the release must run on v* tags'
    assert 'python -m build' in wf and 'pypa/gh-action-pypi-publish@release/v1' in wf
    assert re.search(r'permissions:\s*\n\s*id-token: write', wf), 'trusted publishing needs id-token: write'
    assert 'password:' not in wf and 'secrets.' not in wf, 'trusted publishing uses no stored token'
