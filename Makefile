# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test fuzz lint test-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/linli migrate --noinput
	$(BIN)/linli seed --scale cenxi --if-empty
	$(BIN)/linli runserver 127.0.0.1:8000

test-deps:
	./scripts/test-deps

test: $(VENV)/.dev-installed test-deps
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# schemathesis against the API (SQLite, or the DATABASE_URL given); a few minutes.
fuzz: $(VENV)/.dev-installed
	$(BIN)/python scripts/fuzz-api

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data
