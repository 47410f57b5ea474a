# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= goalpost-demo.sqlite
DEMO := GOALPOST_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/goalpost

.PHONY: install serve demo test lint bench pg clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Set up, tell the demo (last quarter and this one to today) into the embedded SQLite store, issue a demo token, serve.
serve: $(STAMP)
	rm -f $(DEMO_DB)
	$(DEMO) db init
	$(DEMO) demo
	$(DEMO) scores
	@token=$$($(DEMO) tokens issue --actor demo-admin --role admin | tail -n 1); \
	  echo; echo "Demo admin token: $$token"; \
	  echo "Try:  curl -H 'Authorization: Bearer $$token' http://127.0.0.1:8000/v1/cycles"; \
	  echo "Docs: http://127.0.0.1:8000/docs"; echo
	$(DEMO) serve --host 127.0.0.1 --port 8000

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
	@# The domain builds on the library's aggregates, never on its persistence (ADR 29).
	@! grep -rnE 'eventsourcing\.(persistence|application|postgres|sqlite)' domain/ \
	  || (echo "domain/ imports the library's persistence" && false)

bench: $(STAMP) pg
	$(BIN)/python -m bench.ledger

clean:
	rm -rf $(VENV) $(DEMO_DB) .pytest_cache .mypy_cache .ruff_cache
