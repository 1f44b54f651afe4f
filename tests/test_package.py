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


def test_metadata_names_the_documentation_and_a_real_contact(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('METADATA'))).decode()
    urls = dict(l.split(':', 1)[1].strip().split(', ', 1) for l in meta.splitlines() if l.startswith('Project-URL:'))
    assert urls['Documentation'].startswith('https://') and urls['Issues'].endswith('/issues'), urls
    assert '.invalid' not in meta
    assert any(l.startswith('Provides-Extra: examples') for l in meta.splitlines())


def test_the_readme_pip_path_runs_the_twenty_line_example_in_a_fresh_venv(wheel, tmp_path):
    "The README's install with the `examples` extra, then the README's example (examples/train_digits.py), as a pip user."
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    example = (ROOT / 'examples' / 'train_digits.py').read_text(encoding='utf-8')
    assert example.strip() in readme and 'scratchgrad[examples]' in readme
    venv.create(tmp_path / 'env', with_pip=True)
    py = tmp_path / 'env' / 'bin' / 'python'
    r = subprocess.run([str(py), '-m', 'pip', 'install', '-q', f'{wheel}[examples]'], capture_output=True, text=True)
    if r.returncode != 0 and 'Could not find a version' in r.stderr + r.stdout:
        pytest.skip(f'the package index is unreachable: {r.stderr.strip()[-300:]}')
    assert r.returncode == 0, r.stderr[-2000:]
    out = subprocess.run([str(py), str(ROOT / 'examples' / 'train_digits.py')], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'test error after 10 epochs' in out.stdout and "tanh'(0.5) = 0.786448" in out.stdout, out.stdout
