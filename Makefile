# mantissa: `make demo` runs the tour and renders runs/report.html; `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch: the CPU wheel these machines carry; installed first so nothing pulls a CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check $(TORCH)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,real,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/mantissa run --tour --resume

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

bench: install
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
