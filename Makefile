# The two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jaxneuron demo --out results

test: $(STAMP)
	$(BIN)/ruff check jaxneuron tests benchmarks examples
	$(BIN)/python -m pytest -n 2 -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check jaxneuron tests benchmarks examples
	$(BIN)/ruff format --check jaxneuron tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/hh_sweep.py --json results/bench_hh_sweep.json
	$(BIN)/python benchmarks/hh_gradient.py --json results/bench_hh_gradient.json

clean:
	rm -rf $(VENV) results .pytest_cache
