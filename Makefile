# occ: the two commands of the README's quick start are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= default

.PHONY: demo test browser check baseline bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

## Set up and run the default scenario; prints the results folder.
demo: $(VENV)/.installed
	$(BIN)/occ run $(SCENARIO)

## Chromium from Debian's packages, for the browser test of `occ report` (never skipped).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "make test needs Chromium (the browser test of occ report): install it, e.g. apt-get install chromium" >&2; exit 2; }; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Set up with the test extras and run the whole suite (what CI runs).
test: $(VENV)/.installed-test browser
	$(BIN)/ruff check occ tests benchmarks
	$(BIN)/python -m pytest -n auto

## Check every bound on every scenario against the committed baseline.
check: $(VENV)/.installed
	$(BIN)/occ check --baseline results/baseline.csv

## Rewrite the baseline after an intended change (review the diff before committing).
baseline: $(VENV)/.installed
	$(BIN)/occ check --update-baseline --baseline results/baseline.csv

## The speed benchmarks (torch and optax beside occ where the bench extra is installed).
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/throughput_ogd.py
	$(BIN)/python benchmarks/adagrad_full_cost.py
	$(BIN)/python benchmarks/sweep_throughput.py
	$(BIN)/python benchmarks/optax_adapter.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check occ tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
