# csm-kit — run `make help` for the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install report test lint validate metrics lab sample clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv if missing and install csm-kit with its dev extra

report: $(STAMP) ## Write dated HTML reports for the bundled sample into reports/
	$(BIN)/csm-kit report

test: $(STAMP) ## Run the whole test suite (unit, property, doctests, notebooks); PYTEST_ARGS=... adds options
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## Check the import layers (.importlinter) with import-linter
	$(BIN)/lint-imports --no-cache

validate: $(STAMP) ## Check the bundled sample against the data contract
	$(BIN)/csm-kit validate

metrics: $(STAMP) ## Print every headline metric of the bundled sample as one long table
	$(BIN)/csm-kit metrics

lab: $(STAMP) ## Open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

clean: ## Remove the virtual environment and generated reports
	rm -rf $(VENV) reports/*/ .pytest_cache
