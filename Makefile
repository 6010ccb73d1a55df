# Every target sets itself up: `make test` and `make demo` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_STAMP := $(VENV)/.lint-installed

.PHONY: setup test demo bench lint clean

# The package's bytecode, compiled here: an editable install ships none, and with
# PYTHONDONTWRITEBYTECODE set every command would compile ouhub anew (30-145 ms).
setup: $(STAMP)
	$(BIN)/python -m compileall -q ouhub

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m tests.prereqs
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/python -m tests.prereqs postgres
	$(BIN)/python -m examples.demo

bench: setup
	$(BIN)/python -m bench

lint: $(LINT_STAMP)
	$(BIN)/ruff check ouhub tests bench examples

$(LINT_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[lint]'
	touch $(LINT_STAMP)

clean:
	rm -rf $(VENV) examples/demo/build
