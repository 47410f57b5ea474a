# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= goalpost-demo.sqlite

.PHONY: install serve demo test lint bench pg clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Set up, load the demo quarter into the embedded SQLite store, and show it.
serve: $(STAMP)
	rm -f $(DEMO_DB)
	GOALPOST_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/goalpost db init
	GOALPOST_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/goalpost demo
	GOALPOST_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/goalpost scores

## Set up, make sure PostgreSQL is up, run the whole suite.
test: $(STAMP) pg
	$(BIN)/pytest -n 2 -q

pg:
	@.ci/ensure-postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP) pg
	$(BIN)/python -m bench.ledger

clean:
	rm -rf $(VENV) $(DEMO_DB) .pytest_cache .mypy_cache .ruff_cache
