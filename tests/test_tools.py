"""The project's own tools behave on a bad environment."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import run_nbs  # noqa: E402


def test_run_nbs_refuses_to_store_outputs_without_dot(tmp_path):
    "Without Graphviz's `dot`, a graph cell would store a traceback instead of its SVG: the runner must refuse."
    env = dict(os.environ, PATH=str(tmp_path))   # a PATH with no `dot` on it
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'run_nbs.py'), 'nbs/index.ipynb'], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "Graphviz's `dot` binary is missing" in r.stderr and 'apt-get install graphviz' in r.stderr


def test_makefile_names_a_too_old_python(tmp_path):
    "With a Python older than 3.10 (or none at all), `make` stops with a message naming it, before doing anything."
    fake = tmp_path / 'python-old'
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 3.8.0"; fi\nexit 1\n'); fake.chmod(0o755)
    r = subprocess.run(['make', '-s', f'VENV={tmp_path}/venv', f'PYTHON={fake}', f'{tmp_path}/venv/bin/python'],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0
    assert 'needs Python >= 3.10' in r.stdout and 'Python 3.8.0' in r.stdout
    assert not (tmp_path / 'venv').exists()


def test_run_nbs_keeps_its_fingerprint_in_the_notebook_and_nbdev_clean_keeps_it_too(tmp_path):
    "The fingerprint travels with the committed notebook (not a local cache), so a fresh clone knows what is current."
    fn = tmp_path / 'index.ipynb'
    shutil.copy(ROOT / 'nbs' / 'index.ipynb', fn)
    nb = json.loads(fn.read_text()); nb['metadata'].pop('scratchgrad', None); fn.write_text(json.dumps(nb))
    assert run_nbs.stored_key(run_nbs.read_nb(fn)) is None
    run_nbs.run_nb(fn)
    subprocess.run([str(Path(sys.executable).parent / 'nbdev_clean'), '--fname', str(fn)], cwd=ROOT, check=True,
                   capture_output=True)
    nb = run_nbs.read_nb(fn)
    assert run_nbs.stored_key(nb) == run_nbs.source_key(nb)
    nb.cells[-1].source += '\n'   # any change to a cell makes the stored outputs stale
    assert run_nbs.stored_key(nb) != run_nbs.source_key(nb)


MAKE = shutil.which('make')


def fake_path(tmp_path, apt_rc):
    "A PATH with the few tools the Makefile's `dot` step uses, no Graphviz, and an apt-get that chatters like debconf."
    bin_ = tmp_path / 'bin'; bin_.mkdir(parents=True)
    for tool in ('mktemp', 'tail', 'rm', 'id', 'env', 'cat'):
        (bin_ / tool).symlink_to(shutil.which(tool))
    (bin_ / 'apt-get').write_text('#!/bin/sh\necho "debconf: delaying package configuration, since apt-utils is not installed"\n'
                                  f'echo "Setting up graphviz ..."\nexit {apt_rc}\n')
    (bin_ / 'apt-get').chmod(0o755)
    return str(bin_)


@pytest.mark.skipif(os.geteuid() != 0, reason='the apt path of the Makefile runs apt-get directly only as root')
def test_make_installs_system_packages_quietly(tmp_path):
    "apt's chatter goes to a log: one line says what is installed and why; on failure the log is shown."
    env = dict(os.environ, PATH=fake_path(tmp_path, 0))
    r = subprocess.run([MAKE, '-s', 'dot'], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "setup: installing Graphviz with apt-get (its 'dot' program draws the computation graphs)"
    env = dict(os.environ, PATH=fake_path(tmp_path / 'failing', 1))
    r = subprocess.run([MAKE, '-s', 'dot'], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode != 0 and 'debconf' in r.stdout and "'apt-get install graphviz' failed" in r.stdout


def test_run_nbs_check_compares_stored_outputs_with_a_run_in_its_own_process(tmp_path):
    "A stored output that a fresh process would not print (here: a leaked name) is reported; a true one passes."
    nbs = tmp_path / 'nbs'; nbs.mkdir()
    def notebook(stored):
        return {'cells': [{'cell_type': 'code', 'metadata': {}, 'execution_count': 1, 'id': 'a1',
                           'source': "print(sorted(k for k in globals() if k.startswith('leak')))",
                           'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': stored}]}],
                'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (nbs / 'good.ipynb').write_text(json.dumps(notebook('[]\n')))
    (nbs / 'leaky.ipynb').write_text(json.dumps(notebook("['leaked']\n")))   # as if another notebook ran first
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'run_nbs.py'), '--check', str(nbs / 'good.ipynb'),
                        str(nbs / 'leaky.ipynb')], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'good.ipynb: stored outputs equal a fresh run' in r.stdout
    assert 'leaky.ipynb: code cells [0] (counted without skipped cells) differ' in r.stdout


def test_make_lab_copies_each_notebook_once_with_the_projects_kernel(tmp_path, monkeypatch):
    "A learner's copy: every notebook, the scratchgrad kernel selected, and a copy the learner changed is never replaced."
    sys.path.insert(0, str(ROOT / 'tools'))
    import make_lab
    monkeypatch.setattr(make_lab, 'LAB', tmp_path / 'lab')
    assert make_lab.copy_notebooks() == len(list((ROOT / 'nbs').glob('*.ipynb')))
    mine = tmp_path / 'lab' / '00_variable.ipynb'
    assert json.loads(mine.read_text())['metadata']['kernelspec']['name'] == 'scratchgrad'
    mine.write_text('{"my": "answers"}')
    assert make_lab.copy_notebooks() == 0 and mine.read_text() == '{"my": "answers"}'
    assert 'lab/' in (ROOT / '.gitignore').read_text().split()
    answers = [c for f in (tmp_path / 'lab').glob('*.ipynb') if f != mine for c in json.loads(f.read_text())['cells']
               if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| answer')]
    assert answers and all(c['metadata']['jupyter']['source_hidden'] for c in answers)
