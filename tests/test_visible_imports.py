"""Every page runs top to bottom from its visible code cells, in a fresh namespace (tools/check_visible.py):
a reader who copies the code a page shows gets no NameError."""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import check_visible  # noqa: E402

NBS = sorted((ROOT / 'nbs').glob('*.ipynb'))
# Pages whose imports still sit in hidden cells; their owners are making them visible on their own branches right now.
# Skipped until their owner's branch lands: the integrator empties this list at merge (index.ipynb must always pass).
SKIPPED_UNTIL_THEIR_OWNERS_BRANCH_LANDS = set()


@pytest.mark.parametrize('fn', NBS, ids=lambda p: p.stem)
def test_page_runs_from_its_visible_cells(fn):
    if fn.stem in SKIPPED_UNTIL_THEIR_OWNERS_BRANCH_LANDS: pytest.skip("until its owner's branch lands")
    ok, seconds, msg = check_visible.check(fn)
    assert ok, f'{fn.name} does not run from its visible cells alone ({seconds:.0f}s): {msg}'


def test_skip_list_names_real_notebooks():
    assert SKIPPED_UNTIL_THEIR_OWNERS_BRANCH_LANDS <= {fn.stem for fn in NBS}
    assert 'index' not in SKIPPED_UNTIL_THEIR_OWNERS_BRANCH_LANDS


def write_nb(path, *cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) if not c.startswith('# ') else
                                         nbformat.v4.new_markdown_cell(c) for c in cells])
    nbformat.write(nb, path)
    return path


def test_checker_catches_a_hidden_import(tmp_path):
    fn = write_nb(tmp_path / 'x.ipynb', '# Title', '#| hide\nimport math', 'math.sqrt(4)')
    ok, _, msg = check_visible.check(fn, timeout=120)
    assert not ok and 'NameError' in msg and 'math' in msg and 'cell 2' in msg


def test_checker_runs_what_the_page_shows_and_skips_the_rest(tmp_path):
    "Visible imports pass; hidden, eval:false, slow and show_doc cells are not run; IN_TEST is set."
    fn = write_nb(tmp_path / 'y.ipynb', '# Title', '#| hide\nraise RuntimeError("hidden cells must not run")',
                  'import os, math', '#| eval: false\nraise RuntimeError("eval: false")',
                  '#| slow\nraise RuntimeError("slow")', 'show_doc(math.sqrt)', 'assert os.environ.get("IN_TEST")',
                  '#| export\nx = math.sqrt(4)', 'assert x == 2')
    ok, _, msg = check_visible.check(fn, timeout=120)
    assert ok, msg
