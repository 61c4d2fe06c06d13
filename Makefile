# gdi-pipelines: two commands on a fresh machine, `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GDI_HOME ?= $(CURDIR)/.gdi
export GDI_HOME
export DAGSTER_HOME ?= $(GDI_HOME)/dagster
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test ui lint env system-deps clean bench

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "gdi-pipelines needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

env: $(BIN)/.installed

system-deps:
	@bash scripts/ensure-system-deps.sh

demo: env
	$(BIN)/gdi demo

test: env system-deps
	$(BIN)/pytest

# PEERS=hail also runs tasks 1+2 against Hail, installed first into bench-results/hail-venv.
bench: env system-deps
	$(if $(findstring hail,$(PEERS)),bash scripts/install-hail.sh,)
	$(BIN)/python -m gdi_pipelines.bench $(if $(SIZES),--sizes $(SIZES),) $(if $(PEERS),--peers $(PEERS),) --out bench-results/bench.json

ui: env
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache
