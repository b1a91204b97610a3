# yunzhang: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest()[:12])')

.PHONY: setup demo serve test lint check-services clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)
	bash scripts/ensure-packages.sh runtime

## Set up, migrate ./var/yunzhang.db, seed the demo enterprise and people, serve on 127.0.0.1:8000.
demo: setup
	YUNZHANG_ENV=development $(BIN)/yunzhang demo

## Set up, install the Debian packages the tests use, start (or install) PostgreSQL and Redis, check import layers and types, run the suite
## on SQLite and PostgreSQL.
test: setup check-services lint
	$(BIN)/pytest

check-services:
	bash scripts/ensure-packages.sh test
	bash scripts/ensure-services.sh

lint: setup
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .import_linter_cache
