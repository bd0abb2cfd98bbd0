# Two commands a fresh machine needs (see README): `make demo` and `make test`.
# The set-up is shared: a virtual environment in .venv with CPU torch 2.13.0 (pinned by constraints.txt,
# so no resolver ever pulls a multi-GB CUDA build) and the package with its dev extras.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-slow lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/nas-workbench demo --fresh

test: setup
	$(PY) -m pytest -m "not slow"

test-slow: setup
	$(PY) -m pytest -m slow

lint: setup
	$(VENV)/bin/ruff check nas_workbench tests benchmarks
	$(VENV)/bin/ruff format --check nas_workbench tests benchmarks

clean:
	rm -rf $(VENV) build dist runs .pytest_cache
