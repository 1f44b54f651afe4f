# scratchgrad: two commands do all the set-up on a fresh Debian/Ubuntu machine (Python 3.10+, root or sudo for Graphviz).
#   make test   set up, then check export/clean sync, run every notebook (nbdev_test) and pytest tests/
#   make docs   set up, then execute every notebook, store outputs, render docs/ and README.md
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help install setup dot chromium test docs check-sync nbtest pytest bench clean-venv

help:
	@echo "make test   set up .venv, then export/clean checks, nbdev_test, pytest"
	@echo "make docs   set up .venv, then execute notebooks and render docs/ + README.md"
	@echo "make bench  run the benchmarks in benchmarks/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null || \
	  { echo "make: scratchgrad needs Python >= 3.10, but '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing). Run: make PYTHON=python3.11 ..."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "make: could not create $(VENV) with $(PYTHON) -m venv (on Debian: apt-get install python3-venv)"; exit 1; }

# Reinstall only when the package metadata's *content* changes (nbdev_export rewrites pyproject.toml, touching its mtime).
install: $(BIN)/python
	@hash=$$(cat settings.ini setup.py pyproject.toml | sha256sum | cut -c1-16); \
	if [ "$$(cat $(STAMP) 2>/dev/null)" != "$$hash" ]; then \
	  echo "installing scratchgrad and its dev extras into $(VENV) ..."; \
	  $(BIN)/python -m pip install -q -U pip || { echo "make: 'pip install -U pip' failed (no network to PyPI?)"; exit 1; }; \
	  $(BIN)/python -m pip install -q -e ".[dev]" || { echo "make: 'pip install -e .[dev]' failed: see pip's message above"; exit 1; }; \
	  echo "$$hash" > $(STAMP); \
	fi

dot:
	@command -v dot >/dev/null && exit 0; \
	if command -v apt-get >/dev/null; then \
	  echo "installing Graphviz (the 'dot' binary) with apt-get ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "make: Graphviz's 'dot' is missing; run as root: apt-get install -y graphviz"; exit 1; fi; \
	  ($$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq graphviz >/dev/null) || { echo "make: 'apt-get install graphviz' failed"; exit 1; }; \
	else \
	  echo "make: Graphviz's 'dot' is missing. Install it: 'brew install graphviz' (macOS), 'dnf install graphviz' (Fedora), 'conda install graphviz', or see https://graphviz.org/download/"; exit 1; \
	fi

# Headless Chromium checks that pages show typeset math; optional (its test skips without it), installed when apt can.
chromium:
	@command -v chromium >/dev/null && exit 0; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium (used to check the rendered docs) ..."; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "make: could not install chromium; its docs check will be skipped"; \
	else echo "note: chromium not found; the rendered-math check will be skipped (apt-get install chromium)"; fi

setup: install dot

check-sync: setup
	@$(BIN)/python tools/check_sync.py

nbtest: setup
	@echo "nbdev_test: running every notebook ..."
	@$(BIN)/nbdev_test --timing || { echo "make: nbdev_test failed: the notebook named above raised (see its traceback)"; exit 1; }

pytest: setup chromium
	@$(BIN)/python tools/run_pytest.py

test: setup chromium check-sync
	@$(MAKE) --no-print-directory nbtest
	@$(BIN)/python tools/run_pytest.py --notebooks "$$(ls nbs/*.ipynb | wc -l)"

docs: setup
	@$(BIN)/python tools/run_nbs.py
	@$(BIN)/nbdev_clean
	@$(BIN)/python tools/build_docs.py

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

clean-venv:
	rm -rf $(VENV)
