# Two commands on a fresh clone: `make run` serves the API, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-postgres lint bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## serve on 127.0.0.1:8000 with SQLite; first start makes the schema and an admin
	$(BIN)/hero-api serve --host 127.0.0.1 --port 8000

test: $(STAMP)  ## the whole suite on SQLite (TEST_DATABASE=postgresql for PostgreSQL)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

test-postgres: $(STAMP)
	TEST_DATABASE=postgresql $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check api core models cli tests bench
	$(BIN)/ruff format --check api core models cli tests bench
	$(BIN)/mypy api core models cli

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
