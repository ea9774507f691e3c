# The two commands: `make demo` (train + evaluate the denoiser) and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The pinned CPU build of PyTorch is installed first so that nothing pulls a multi-GB CUDA build;
# override with e.g. `make TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test bench viz lint format clean check-bare-install mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[app,dev,eval]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m tinygrad_n2n demo --out demo_out

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 tests

# Mutation testing (mutmut), one target after another, each on its own time budget: see README, Development.
# `make mutate` runs the app's targets; `make mutate MUTATE=all`, or e.g. `MUTATE="tape optim"`, the others.
MUTATE ?= app app_files
mutate: $(STAMP)
	$(PY) tools/mutate.py $(filter-out all,$(MUTATE))

# `pip install .` with no extras serves the course API: a fresh venv in a temporary folder gets torch, then the
# package built from a copy of the working tree, then runs tests/test_install.py's course lines from outside it.
check-bare-install:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && set -e && \
	mkdir "$$tmp/src" && cp -r pyproject.toml README.md tinygrad_n2n "$$tmp/src" && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install -q $(TORCH_SPEC) && \
	"$$tmp/venv/bin/python" -m pip install -q "$$tmp/src" && \
	cd "$$tmp" && "$$tmp/venv/bin/python" "$(CURDIR)/tests/test_install.py"

bench: $(STAMP)
	$(PY) -m pytest bench --benchmark-only --benchmark-json=bench/results/latest.json -p no:xdist
	$(PY) bench/compare.py bench/results/latest.json

viz: $(STAMP)
	$(PY) viz/make_gallery.py

lint: $(STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) demo_out .pytest_cache .ruff_cache .hypothesis build/mutmut
