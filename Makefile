# Quanta — every target sets up .venv itself: on a fresh clone `make demo` and `make test` are all you need.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= demo-mesh
SCALE ?= 0.01
PORT ?= 8000
PG_PORT ?= 5433
FLIGHT_PORT ?= 8815

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# Dependencies come from requirements.lock (every version pinned), so two fresh machines test the same code.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# Byte-compile the editable source as pip does an installed package: the first command starts as fast as the rest.
	$(BIN)/python -m compileall -q src/quanta
	@touch $(STAMP)

venv: $(STAMP) ## Create or update the virtual environment

demo: $(STAMP) ## Build the demo mesh (TPC-H data, 7 products) afresh in ./demo-mesh, query it, then serve it
	$(BIN)/quanta demo --dir $(WORKSPACE) --scale $(SCALE) --fresh
	cd $(WORKSPACE) && ../$(BIN)/quanta query "select region, order_year, round(sum(revenue)) as revenue from finance.revenue_by_nation group by all order by revenue desc limit 5"
	@echo
	@echo "Demo mesh built and published in $(WORKSPACE)/. Serving it: open http://localhost:$(PORT)/, or psql -h localhost -p $(PG_PORT) -U local-admin quanta, or Arrow Flight SQL at grpc://localhost:$(FLIGHT_PORT) (Ctrl-C stops)."
	cd $(WORKSPACE) && ../$(BIN)/quanta serve --port $(PORT) --pg-port $(PG_PORT) --flight-port $(FLIGHT_PORT)

lint: $(STAMP) ## ruff (format check + lint), mypy and the import contracts (docs/architecture.md)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) lint ## Lint, then run the whole test suite
	$(BIN)/pytest -n 2 -q

bench: $(STAMP) ## Run the benchmarks (ratios against a baseline measured in the same run)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks contracts
	$(BIN)/python -m benchmarks governed
	$(BIN)/python -m benchmarks flight
	$(BIN)/python -m benchmarks wire
	$(BIN)/python -m benchmarks search
	$(BIN)/python -m benchmarks load
	$(BIN)/python -m benchmarks impact
	$(BIN)/python -m benchmarks kpis
	$(BIN)/python -m benchmarks mcp
	$(BIN)/python -m benchmarks access
	$(BIN)/python -m benchmarks infer

serve: $(STAMP) ## Serve the marketplace, the REST API and the PostgreSQL wire protocol of ./demo-mesh
	cd $(WORKSPACE) && ../$(BIN)/quanta serve --port $(PORT) --pg-port $(PG_PORT) --flight-port $(FLIGHT_PORT)

docs: $(STAMP) ## Regenerate the CLI reference (docs/cli.md) from the code
	$(BIN)/typer quanta.interfaces.cli.main utils docs --name quanta --title "quanta CLI reference" --output docs/cli.md

lock: $(STAMP) ## Refresh requirements.lock from pyproject.toml (newest versions its ranges allow)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --upgrade --quiet -o requirements.lock

fmt: $(STAMP) ## Format and auto-fix
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean: ## Remove the virtual environment and demo workspace
	rm -rf $(VENV) $(WORKSPACE)

.PHONY: help venv demo lint test bench serve docs lock fmt clean
