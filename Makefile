# Two commands a fresh machine needs (see README): `make demo` and `make test`.
# The set-up is shared: a virtual environment in .venv with torch 2.13.0 (pinned by constraints.txt) from
# TORCH_INDEX, then the package with its dev extras. Installing the package builds the JupyterLab
# extension with npm (hatch-jupyter-builder) when it is not built yet.

# Where torch comes from: PyTorch's CPU-only wheel index by default (about 200 MB instead of the multi-GB
# CUDA build that the plain PyPI wheel pulls on Linux). It is added to pip's other sources, and its
# "2.13.0+cpu" outranks PyPI's "2.13.0"; a machine without internet uses a CPU wheel pip finds locally.
# GPU users: `make setup TORCH_INDEX=https://download.pytorch.org/whl/cu128` (a CUDA build), or
# `make setup TORCH_INDEX=` to use pip's own sources only (a torch 2.13.0 already in .venv is kept).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-tutorials test-slow test-ext chromium lint wheel-check clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt labextension/package-lock.json
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -c constraints.txt torch==2.13.0 $(if $(TORCH_INDEX),--retries 1 --extra-index-url $(TORCH_INDEX))
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/nas-workbench demo --fresh

# Browser tests drive Debian's chromium (never a downloaded browser); install it when missing and root.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "chromium is missing: browser tests will be skipped (and fail in CI)"

test-ext: setup
	cd labextension && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm test

test: setup chromium test-ext
	$(PY) -m pytest -m "not slow and not tutorials" --durations=20

# The eight tutorials executed top to bottom in their fast mode (about 5 minutes on 2 cores); CI runs them
# after `make test`, so the default suite stays well inside its 15 minutes.
test-tutorials: setup chromium
	$(PY) -m pytest -m "tutorials" --durations=8

test-slow: setup
	$(PY) -m pytest -m slow

# Lint: ruff (rules and formatting), the import contracts of pyproject.toml (the layering and the torch-free
# core, `lint-imports`), mypy on the whole package, and the extension's prettier check.
lint: setup
	$(VENV)/bin/ruff check nas_workbench tests benchmarks
	$(VENV)/bin/ruff format --check nas_workbench tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy nas_workbench
	cd labextension && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run lint

# The wheel carries the prebuilt extension and the server extension's config (no npm step for users).
wheel-check: setup
	rm -rf dist && $(PIP) wheel . --no-deps -w dist -q
	$(PY) .ci/check_wheel.py dist

clean:
	rm -rf $(VENV) build dist runs .pytest_cache labextension/node_modules labextension/lib nas_workbench/labextension
