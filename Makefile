# csm-kit — run `make help` for the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install report test lint validate metrics lab sample clean mutation

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

# The unit tests that defend the metric modules (the mutation run uses the same selection,
# from [tool.mutmut] in pyproject.toml).
UNIT_TESTS := tests --ignore=tests/report --ignore=tests/plotting --ignore=tests/sample \
	--ignore=tests/test_notebooks.py --ignore=tests/test_cli.py --ignore=tests/test_spark.py \
	--ignore=tests/test_privacy.py -m "not slow"

# Branch coverage also counts the Spark tests (appended): months.py's Spark branches run only
# there (they need Java; without it they are skipped and those lines show as missed).
mutation: $(STAMP) ## Branch coverage and mutation score (mutmut) of the metric modules, KPIs and health (long)
	$(BIN)/python -m pytest -q -n 0 -p no:randomly -o addopts= $(UNIT_TESTS) \
		--cov --cov-branch --cov-report=
	$(BIN)/python -m pytest -q -n 0 -p no:randomly -o addopts= tests/test_spark.py \
		--cov --cov-branch --cov-append --cov-report=term:skip-covered
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
		done = s['killed'] + s['survived'] + s['timeout'] + s['suspicious']; \
		print(f\"mutation score: {s['killed'] + s['timeout']} of {done} killed \
		({(s['killed'] + s['timeout']) / max(done, 1):.1%}); {s['survived']} survived, \
		{s['no_tests']} reached by no unit test; survivors: mutmut results\")"

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
