# Two entry points (README): `make demo` runs the main job on the bundled site, `make test` runs
# the tests. Both create or reuse .venv and install the locked dependencies first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast unit check lint bench lock clean

# Every package mypy checks (settings in pyproject.toml; strict on latinno, parsers, warehouse).
MYPY_PACKAGES := latinno parsers warehouse flows

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing locked dependencies into $(VENV) ..."
	@# pip's log goes to a file and is shown only when the install fails.
	@$(PY) -m pip install --disable-pip-version-check -r requirements.lock > $(VENV)/install.log 2>&1 \
		|| (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --disable-pip-version-check --no-deps -e . >> $(VENV)/install.log 2>&1 \
		|| (cat $(VENV)/install.log; exit 1)
	@touch $(STAMP)

demo: $(STAMP)
	@$(VENV)/bin/latinno demo

# The suite on every core (pytest-xdist): each worker is a session with its own Prefect server,
# and a module's tests stay on one worker (its module fixtures are built once). Modules go out
# in the order tests/conftest.py gives (those with slow tests first), not by their test count.
WORKERS ?= auto
XDIST := -n $(WORKERS) --dist loadfile --no-loadscope-reorder

test: check
	@$(PY) -m pytest -q $(XDIST)

# The edit loop: in-process tests only (no slow suites, no command started as a process).
unit: $(STAMP)
	@$(PY) -m pytest -q $(XDIST) -m "not slow and not process"

test-fast: $(STAMP)
	@$(PY) -m pytest -q $(XDIST) -m "not slow"

# Seconds: the linter, the formatter's check and the type check, nothing run.
check: lint
	@$(PY) -m mypy $(MYPY_PACKAGES)

lint: $(STAMP)
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .

bench: $(STAMP)
	@for b in bench_parse bench_load bench_startup fetch_overhead bench_hostile_memory bench_refresh bench_report; do \
		$(PY) bench/$$b.py || exit 1; done

# uv from the PATH, else the one the dev dependencies put into .venv.
UV ?= $(shell command -v uv 2>/dev/null || echo $(VENV)/bin/uv)

lock:
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) data exports .pytest_cache .ruff_cache
