"""After set-up the notebooks run as notebooks: `.venv` has JupyterLab and a `python3` kernel that imports scratchgrad."""
import hashlib, json, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NB = ROOT / 'nbs' / 'index.ipynb'


def jupyter(*args, **kw):
    return subprocess.run([str(BIN / 'jupyter'), *args], capture_output=True, text=True, cwd=ROOT, **kw)


def test_venv_has_a_python3_kernel_and_jupyterlab():
    specs = json.loads(jupyter('kernelspec', 'list', '--json').stdout)['kernelspecs']
    assert 'python3' in specs, f'no python3 kernel in {sorted(specs)}: `ipykernel` belongs in dev_requirements'
    assert jupyter('lab', '--version').returncode == 0, 'no JupyterLab: `jupyterlab` belongs in dev_requirements'


def test_a_notebook_executes_through_nbconvert(tmp_path):
    "The README's way to run a notebook headless; the notebook itself is left untouched."
    before = hashlib.sha256(NB.read_bytes()).hexdigest()
    r = jupyter('nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=python3',
                '--ExecutePreprocessor.timeout=300', '--output-dir', str(tmp_path), str(NB), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert hashlib.sha256(NB.read_bytes()).hexdigest() == before, 'nbconvert modified the notebook in nbs/'
    out = json.loads((tmp_path / NB.name).read_text())
    code = [c for c in out['cells'] if c['cell_type'] == 'code']
    assert all(c['execution_count'] for c in code), 'some code cells did not run'
    errors = [o for c in code for o in c['outputs'] if o['output_type'] == 'error']
    assert not errors, errors
    assert any('image/svg+xml' in o.get('data', {}) for c in code for o in c['outputs']), 'the graph was not drawn'
