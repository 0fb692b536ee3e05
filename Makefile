# The README's two commands: `make report` and `make test`. Both build the environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
MONTH  ?=
ARGS   := $(if $(MONTH),--month $(MONTH),)

.PHONY: env report test fuzz lab docs lint browser postgres clean benchmarks

env: $(STAMP)

# constraints.txt pins the exact versions the suite passed with, so every machine gets the same stack.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/peereval report data/sample --out reports $(ARGS)

# Headless Chromium renders the report in the browser tests (Debian package, installed once).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# A real PostgreSQL server for the database-source tests (Debian package; the tests start their own
# throwaway server with initdb/pg_ctl on a free local port, and skip with the reason if it is missing).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the database tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }

test: $(STAMP) browser postgres
	$(BIN)/ruff check peereval tests benchmarks notebooks
	$(BIN)/pytest --nbval-lax

# The end-to-end property test with many generated companies (new random draws each run;
# a failure prints its one-line repro). About 10 s per company: FUZZ_EXAMPLES=200 takes ~30 min.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	PEEREVAL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/test_e2e_properties.py -p no:cacheprovider -q \
	  -k render_or_refuse --hypothesis-show-statistics

# JupyterLab refuses to start as root without --allow-root (containers, CI): added only then.
# MPLBACKEND is cleared so that the notebooks' figures appear inline.
LAB_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[lab,test]'
	env -u MPLBACKEND $(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

# The offline HTML site (user guide + API reference from docstrings) in site/; open site/index.html.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	@echo "open site/index.html"

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/coverage.py

clean:
	rm -rf $(VENV) reports/20* reports/index.html test-artifacts .pytest_cache site
