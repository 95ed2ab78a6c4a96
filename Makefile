# Two commands do all the set-up on a fresh Linux machine with Python 3.11:
#   make pipeline   create .venv, install, run notebooks 01-05 (PARAMS=params/smoke.yaml for a quick run)
#   make test       create .venv, install, run the whole test suite (in parallel, one worker a core)
#   make variants   run the chain for every params/variants/*.yaml, then reports/compare/compare.html
#   make video      notebook 06 alone: video flicker, references and --reference auto, measured
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PARAMS ?= params/default.yaml
PYTEST_ARGS ?=
# The tests run in parallel (pytest-xdist): one worker per CPU core, at most 4, since each worker
# runs TensorFlow with threads of its own. On 2 cores this took the fast tests from 581 s to 341 s
# and four training tests from 195 s to 147 s (side by side, 2026-11-30). TEST_WORKERS=0 runs them
# in this process, one after the other.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(4, len(os.sched_getaffinity(0))))")

.PHONY: setup pipeline variants video test test-fast bench lint format clean-runs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

pipeline: setup
	$(VENV)/bin/colorlib pipeline --params $(PARAMS)

variants: setup
	$(VENV)/bin/colorlib variants

video: setup
	$(VENV)/bin/colorlib pipeline --params params/pretrained.yaml --start-at 06

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/bench.py

lint: setup
	$(VENV)/bin/ruff check colorlib tests benchmarks notebooks
	$(VENV)/bin/ruff format --check colorlib tests benchmarks notebooks

format: setup
	$(VENV)/bin/ruff format colorlib tests benchmarks notebooks
	$(VENV)/bin/ruff check --fix colorlib tests benchmarks notebooks
