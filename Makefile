# mantissa: `make demo` runs the curated demo and renders runs/report.html; `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt
# torch: the CPU wheel these machines carry; installed first so nothing pulls a CUDA build.
TORCH ?= torch==2.13.0

.PHONY: install wordnet demo tour test lint bench lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) -e '.[dev,real,bench,cluster]'
	touch $(STAMP)

# Debian's wordnet-base, when it is missing and apt-get can be used as root; elsewhere the
# tests that need WordNet skip with the reason.
wordnet:
	@if [ ! -f /usr/share/wordnet/data.noun ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make: installing Debian's wordnet-base"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q wordnet-base >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wordnet-base >/dev/null 2>&1; } \
	  || echo "make: could not install wordnet-base; what needs WordNet will skip"; \
	fi

# the fused format kernels (src/mantissa/formats/native.c), compiled once into ~/.cache/mantissa
install: $(STAMP) wordnet
	@$(BIN)/python -c 'from mantissa.formats import native; native.main()'

demo: install
	$(BIN)/mantissa demo

tour: install
	$(BIN)/mantissa run --tour --resume

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

bench: install
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Pin what is installed now (after `pip install` of new versions) as the tested set.
lock: $(STAMP)
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
