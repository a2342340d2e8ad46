# The two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1  # MkDocs Material prints an end-of-life banner otherwise

.PHONY: demo test test-slow lint bench bench-gpu bench-gpu-quick clean docs docs-executed docs-serve tutorials

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jaxneuron demo --out results

test: $(STAMP)
	$(BIN)/ruff check jaxneuron tests benchmarks examples
	$(BIN)/python -m pytest -n 2 -q -m "not slow and not docs"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check jaxneuron tests benchmarks examples
	$(BIN)/ruff format --check jaxneuron tests benchmarks examples

# The docs site (MkDocs Material + mkdocstrings + mkdocs-jupyter) into site/: every public name
# must have a docstring, every code block of README.md and the docs pages runs
# (tests/test_docs_code.py; blocks marked slow run in test-slow), and the build is strict
# (broken links and references fail it). Tutorials are rendered as stored, with their
# outputs; `make tutorials` executes them again and stores the new outputs (after changing a
# notebook or the library), docs-executed runs them during the build instead.
docs: $(STAMP)
	$(BIN)/python docs/check_docstrings.py
	$(BIN)/python -m pytest -n 2 -q -m "docs and not slow" tests/test_docs_code.py
	$(BIN)/mkdocs build --strict

docs-executed: $(STAMP)
	$(BIN)/python docs/check_docstrings.py
	DOCS_EXECUTE=true $(BIN)/mkdocs build --strict

tutorials: $(STAMP)
	$(BIN)/python docs/tutorials/execute.py

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

# Benchmarks run in their own environment: the baselines (Brian2 2.9 needs numpy < 2.3)
# must not change the versions `make test` runs against. Each writes the JSON that the tables
# of benchmarks/README.md are generated from (benchmarks/report.py --write).
BENCH_BIN := .venv-bench/bin

bench:
	test -d .venv-bench || $(PYTHON) -m venv .venv-bench
	$(BENCH_BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BENCH_BIN)/python benchmarks/hh_sweep.py --json benchmarks/results/hh_sweep.json
	$(BENCH_BIN)/python benchmarks/hh_gradient.py --json benchmarks/results/hh_gradient.json
	$(BENCH_BIN)/python benchmarks/spiking_sweep.py --json benchmarks/results/spiking_sweep.json
	$(BENCH_BIN)/python benchmarks/coba_brian2.py --indegree 80 --json benchmarks/results/coba_brian2.json
	$(BENCH_BIN)/python benchmarks/import_brian2.py --json benchmarks/results/import_brian2.json
	$(BENCH_BIN)/python benchmarks/sweep_scale.py --json benchmarks/results/sweep_scale.json
	$(BENCH_BIN)/python benchmarks/import_speed.py --json benchmarks/results/import_speed.json
	$(BENCH_BIN)/python benchmarks/report.py --write

# Every GPU-relevant benchmark at GPU sizes in under 8 minutes, one JSON each in results/gpu
# (benchmarks/gpu.py); bench-gpu-quick runs the same command at the scripts' --quick sizes.
# GPU_PYTHON: an environment with jax[cuda] on the GPU machine.
GPU_PYTHON ?= $(BIN)/python

bench-gpu: $(STAMP)
	$(GPU_PYTHON) benchmarks/gpu.py --out results/gpu

bench-gpu-quick: $(STAMP)
	$(GPU_PYTHON) benchmarks/gpu.py --out results/gpu-quick --quick

clean:
	rm -rf $(VENV) .venv-bench results .pytest_cache
