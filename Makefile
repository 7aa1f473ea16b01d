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

.PHONY: test lab bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing tpviz and its dependencies into $(VENV) (a few minutes the first time)..."
	$(PIP) install -e '.[test]' > $(VENV)/pip-install.log 2>&1 || \
	  { grep -v '^WARNING: Location' $(VENV)/pip-install.log; exit 1; }
	touch $@

test: $(STAMP)
	TPVIZ_FAST=1 $(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	$(PY) benchmarks/bench_saliency.py

lint: $(STAMP)
	$(PIP) install -e '.[dev]' > $(VENV)/pip-dev.log 2>&1 || { grep -v '^WARNING: Location' $(VENV)/pip-dev.log; exit 1; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tpviz --ignore-missing-imports

clean:
	rm -rf $(VENV) .pytest_cache
