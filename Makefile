# make figures  set up .venv (once) and write every figure of the TP to figures/ (FIGURES_ARGS=--fast: quick)
# make test   set up .venv (once) and run every test, notebooks included (fast mode)
# make test-browser  only the browser tests: notebook 03's sliders, the explorer's filmstrip/compare/save (JupyterLab, headless Chromium), the explorer under ipywidgets 7 (JupyterLab 3)
# make lab    set up .venv (once) and open JupyterLab on notebooks/
# make bench  run the benchmarks (installs the bench extra: torch-lucent, the peer they compare with)
# make lint   ruff and mypy (installs the dev extras)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# One stamp per install: runtime (make figures, bench), lab (make lab) and test (make test, with lab and grade).
STAMP  := $(VENV)/.tpviz-installed
# pip's own chatter about missing local index folders is noise; real errors still fail the step.
PIP    := $(PY) -m pip --disable-pip-version-check -q
# Install the project with extra $(1) (none: the runtime only); the log is shown only when pip fails.
pip_install = $(PIP) install -e '.$(if $(1),[$(1)])' > $(VENV)/pip-$(or $(1),runtime).log 2>&1 || \
	{ grep -v '^WARNING: Location' $(VENV)/pip-$(or $(1),runtime).log; exit 1; }

.PHONY: figures test test-browser browser-deps lab bench lint clean

# $(STAMP)-lab etc.: installed again only when pyproject.toml changes.
$(STAMP)-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing tpviz ($*) and its dependencies into $(VENV) (a few minutes the first time)..."
	$(call pip_install,$(filter-out runtime,$*))
	touch $@

figures: $(STAMP)-runtime
	$(VENV)/bin/tpviz figures --out figures $(FIGURES_ARGS)

test: $(STAMP)-test browser-deps
	TPVIZ_FAST=1 $(PY) -m pytest

test-browser: $(STAMP)-test browser-deps
	TPVIZ_FAST=1 $(PY) -m pytest tests/test_browser.py tests/test_browser_explorer.py tests/test_browser_widgets7.py -v -rA

# Chromium for the browser test (Debian's package; Playwright drives it). Nothing to do when it is there,
# when TPVIZ_CHROMIUM names another Chromium/Chrome, or with TPVIZ_SKIP_BROWSER=1 (the test then says it
# was skipped). As root with apt-get it is installed; otherwise this says what to run, and fails.
CHROMIUM   ?= $(or $(TPVIZ_CHROMIUM),/usr/bin/chromium)
APT_LOG    := $${TMPDIR:-/tmp}/tpviz-apt-browser.log
APT_GET    := DEBIAN_FRONTEND=noninteractive apt-get

browser-deps:
	@if [ "$$TPVIZ_SKIP_BROWSER" = 1 ] || [ -x "$(CHROMIUM)" ]; then exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	  echo "Installing Chromium for the browser test: apt-get install chromium chromium-driver (a minute or two)..."; \
	  { $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium chromium-driver; } > $(APT_LOG) 2>&1 || \
	    { cat $(APT_LOG); echo "apt-get failed (log above): install chromium and chromium-driver, then rerun"; exit 1; }; \
	else \
	  echo "The browser test needs Chromium, and there is none at $(CHROMIUM). On Debian or Ubuntu run:"; \
	  echo "    sudo apt-get update && sudo apt-get install -y chromium chromium-driver"; \
	  echo "Elsewhere, set TPVIZ_CHROMIUM=/path/to/chromium-or-chrome. TPVIZ_SKIP_BROWSER=1 skips the browser test."; \
	  exit 1; \
	fi

lab: $(STAMP)-lab
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)-bench
	$(PY) benchmarks/bench_saliency.py
	$(PY) benchmarks/bench_attacks.py
	$(PY) benchmarks/bench_classviz.py
	$(PY) benchmarks/bench_head.py
	$(PY) benchmarks/bench_heap.py

lint: $(STAMP)-runtime
	$(call pip_install,dev)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tpviz --ignore-missing-imports

clean:
	rm -rf $(VENV) .pytest_cache
