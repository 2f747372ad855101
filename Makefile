# make run   — set up, migrate, load the demo festival and serve it at http://127.0.0.1:8000
# make test  — set up and run every test (browser tests included)
# make check — formatting, lint and type checks

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast test-browser check system-packages demo clean

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-packages:
	./scripts/install-system-packages

run: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/festival migrate
	$(BIN)/festival demo
	$(BIN)/festival serve --host $(HOST) --port $(PORT)

# Two test processes: every test has its own app and database, so they run side by side.
TEST_WORKERS ?= 2

# The whole suite runs twice: on SQLite, then on PostgreSQL (a throwaway cluster the
# tests start and remove themselves).
test: $(PY_STAMP) $(NODE_STAMP) system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --engine sqlite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --engine postgresql

test-fast: $(PY_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not browser and not slow"

test-browser: $(PY_STAMP) $(NODE_STAMP) system-packages
	$(BIN)/python -m pytest -m browser

check: $(PY_STAMP)
	$(BIN)/ruff format --check festival media tests benchmarks
	$(BIN)/ruff check festival media tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
