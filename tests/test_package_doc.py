"""The package says what it is: `scratchgrad.__doc__` is a description of the package (nbdev writes `__version__` at the
top of `__init__.py`, so chapter 07 sets `__doc__` explicitly)."""
import subprocess
import sys
from pathlib import Path

import scratchgrad

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_has_a_docstring_that_says_what_it_is():
    assert scratchgrad.__doc__ and 'automatic differentiation' in scratchgrad.__doc__
    assert 'front door' not in scratchgrad.__doc__          # the package, not chapter 07


def test_help_shows_it_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, '-c', 'import pydoc, scratchgrad; print(pydoc.render_doc(scratchgrad))'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'automatic differentiation from scratch' in done.stdout
