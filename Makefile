# make run · make test · make bench — each works on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# make run HOST=0.0.0.0 PORT=8080 (given on the command line, never read from the environment)
HOST := 127.0.0.1
PORT := 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test bench bench-peer lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/govdata migrate
	$(BIN)/govdata seed --scale small
	@$(BIN)/govdata demo-accounts
	@echo "serving on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs), worker beside it"
	@echo "the command line: $(BIN)/govdata --help  (or: . $(BIN)/activate, then govdata)"
	$(BIN)/govdata worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/govdata serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache

bench-peer: $(STAMP)
	$(BIN)/python -m bench.ckan_peer $(PEER_ARGS)

# `make fuzz`: the long fuzzing run of the API (schemathesis, tests/surface/test_fuzz.py, every
# operation as every role, FUZZ_EXAMPLES examples each; make test runs 2), then mutation
# testing (mutmut, configured in pyproject.toml) over the ledger, tokens, catalog rules and
# datastore ingest: hours, never part of make test. MUTANTS="govdata.platform.audit*"
# narrows the mutation run; GOVDATA_TEST_DATABASE_URL fuzzes on PostgreSQL.
FUZZ_EXAMPLES := 200
.PHONY: fuzz fuzz-api mutation
fuzz: fuzz-api mutation

fuzz-api: $(STAMP)
	GOVDATA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/surface/test_fuzz.py

mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet "mutmut==3.8.1"
	$(BIN)/mutmut run $(MUTANTS); status=$$?; $(BIN)/mutmut results; exit $$status
