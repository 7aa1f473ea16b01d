# make figures  set up .venv (once) and write every figure of the TP to figures/ (FIGURES_ARGS=--fast: quick)
# make test   set up .venv (once) and run every test, notebooks included (fast mode)
# make lab    set up .venv (once) and open JupyterLab on notebooks/
# make bench  run the benchmarks
# make lint   ruff and mypy (installs the dev extras)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tpviz-installed
# pip's own chatter about missing local index folders is noise; real errors still fail the step.
PIP    := $(PY) -m pip --disable-pip-version-check -q
# Install the project with extra $(1); the log is shown only when pip fails.
pip_install = $(PIP) install -e '.[$(1)]' > $(VENV)/pip-$(1).log 2>&1 || \
	{ grep -v '^WARNING: Location' $(VENV)/pip-$(1).log; exit 1; }

.PHONY: figures test lab bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing tpviz and its dependencies into $(VENV) (a few minutes the first time)..."
	$(call pip_install,test)
	touch $@

figures: $(STAMP)
	$(VENV)/bin/tpviz figures --out figures $(FIGURES_ARGS)

test: $(STAMP)
	TPVIZ_FAST=1 $(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	$(PY) benchmarks/bench_saliency.py
	$(PY) benchmarks/bench_attacks.py
	$(PY) benchmarks/bench_classviz.py

lint: $(STAMP)
	$(call pip_install,dev)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tpviz --ignore-missing-imports

clean:
	rm -rf $(VENV) .pytest_cache
