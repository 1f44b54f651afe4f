# scratchgrad: two commands do all the set-up on a fresh Debian/Ubuntu machine (Python 3.10+, root or sudo for Graphviz).
#   make test   set up, then check export/clean sync, run every notebook (nbdev_test) and pytest tests/
#   make docs   set up, then execute changed notebooks, store outputs, render docs/ and README.md
#   make lab    set up, then open a learner's copy of the notebooks (lab/) in JupyterLab
# Each step prints one short line; the noisy installers (pip, apt) write to a log that is printed only if they fail.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOG := $(VENV)/install.log
APT := env DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o Dpkg::Use-Pty=0

.PHONY: help install setup dot chromium test docs lab check-sync nbtest pytest bench clean-venv

help:
	@echo "make test   set up .venv, then export/clean checks, nbdev_test, pytest"
	@echo "make docs   set up .venv, then execute changed notebooks and render docs/ + README.md"
	@echo "make lab    set up .venv, then open your own copy of the notebooks (lab/) in JupyterLab"
	@echo "make bench  run the benchmarks in benchmarks/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null || \
	  { echo "make: scratchgrad needs Python >= 3.10, but '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing). Run: make PYTHON=python3.11 ..."; exit 1; }
	@echo "setup: creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) || { echo "make: could not create $(VENV) with $(PYTHON) -m venv (on Debian: apt-get install python3-venv)"; exit 1; }

# Reinstall only when the package metadata's *content* changes (nbdev_export rewrites pyproject.toml, touching its mtime).
install: $(BIN)/python
	@hash=$$(cat settings.ini setup.py pyproject.toml | sha256sum | cut -c1-16); \
	if [ "$$(cat $(STAMP) 2>/dev/null)" != "$$hash" ]; then \
	  echo "setup: installing scratchgrad and its dev extras into $(VENV) (a few minutes the first time; log: $(LOG))"; \
	  { $(BIN)/python -m pip install -U pip && $(BIN)/python -m pip install -e ".[dev]"; } > $(LOG) 2>&1 || \
	    { tail -n 40 $(LOG); echo "make: installing into $(VENV) failed (no network to PyPI?): see $(LOG)"; exit 1; }; \
	  echo "$$hash" > $(STAMP); \
	fi

dot:
	@command -v dot >/dev/null && exit 0; \
	if command -v apt-get >/dev/null; then \
	  echo "setup: installing Graphviz with apt-get (its 'dot' program draws the computation graphs)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "make: Graphviz's 'dot' is missing; run as root: apt-get install -y graphviz"; exit 1; fi; \
	  log=$$(mktemp); ($$SUDO $(APT) update && $$SUDO $(APT) install graphviz) > $$log 2>&1 || \
	    { tail -n 30 $$log; echo "make: 'apt-get install graphviz' failed (log: $$log)"; exit 1; }; rm -f $$log; \
	else \
	  echo "make: Graphviz's 'dot' is missing. Install it: 'brew install graphviz' (macOS), 'dnf install graphviz' (Fedora), 'conda install graphviz', or see https://graphviz.org/download/"; exit 1; \
	fi

# Headless Chromium opens the rendered site in tests/test_site_browser.py (sidebar links, search, code widths, math).
# Optional: those tests skip without it. Installed with apt when we are root, and we say so.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null && exit 0; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "setup: installing Chromium with apt-get, only to test the rendered docs in a headless browser (~300 MB; its tests skip without it)"; \
	  log=$$(mktemp); ($(APT) update && $(APT) install chromium) > $$log 2>&1 && rm -f $$log || \
	    echo "setup: could not install Chromium (log: $$log); the browser tests of the docs will be skipped"; \
	else echo "setup: Chromium not found; the browser tests of the docs will be skipped (apt-get install chromium)"; fi

setup: install dot

check-sync: setup
	@$(BIN)/python tools/check_sync.py

nbtest: setup
	@echo "nbdev_test: running every notebook, each in its own process ..."
	@$(BIN)/python tools/run_nbtests.py || { echo "make: nbdev_test failed: the notebook named above raised (see its traceback)"; exit 1; }

pytest: setup chromium
	@$(BIN)/python tools/run_pytest.py

test: setup chromium check-sync
	@$(MAKE) --no-print-directory nbtest
	@$(BIN)/python tools/run_pytest.py --notebooks "$$(ls nbs/*.ipynb | wc -l)"

docs: setup
	@$(BIN)/python tools/run_nbs.py
	@$(BIN)/nbdev_clean && echo "nbdev_clean: notebooks cleaned (outputs and fingerprints kept)"
	@$(BIN)/python tools/build_docs.py

# A learner works on a copy (lab/, untracked): exercises never make `make test` fail. --allow-root: the set-up is for root.
lab: setup
	@$(BIN)/python tools/make_lab.py
	@echo "lab: opening your copies in lab/ with JupyterLab (stop it with Ctrl-C)"
	@$(BIN)/jupyter lab --notebook-dir=lab $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

clean-venv:
	rm -rf $(VENV)
