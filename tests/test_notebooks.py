"""The committed notebooks: stripped, parameterised with literals, short cells that call the package."""

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
EXPECTED = ["00_overview", "01_churn_cohorts", "02_revenue_retention", "03_satisfaction",
            "04_customer_health", "05_csm_scorecard", "06_purchase_behaviour",
            "07_renewals_support_adoption"]
PARAMETERS = {"data", "mapping", "as_of", "months", "segment", "targets", "include_code",
              "privacy", "min_group_size", "timezone", "snapshot", "survey_scales",
              "ces_direction"}


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_eight_report_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_with_outputs_stripped(path):
    for cell in cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name} has outputs: run nbstripout (pre-commit does it for you)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_code_cell_is_a_parameters_cell_of_commented_literals(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    first = code[0]
    assert first["metadata"].get("tags") == ["parameters"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    source = "".join(first["source"])
    names = set()
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Assign), "parameters cell holds assignments only"
        ast.literal_eval(node.value)  # literals only
        names.add(node.targets[0].id)
    assert names == PARAMETERS
    for line in source.splitlines()[1:]:
        assert "  # " in line, f"every parameter has a comment: {line!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_cells_call_the_package_and_define_nothing(path):
    meta = json.loads(path.read_text())["metadata"]
    assert meta["kernelspec"]["name"] == "python3"
    for cell in cells(path):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]).replace("%matplotlib inline", "")
        tree = ast.parse(source)
        kinds = {type(node) for node in ast.walk(tree)}
        assert not kinds & {ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda}
        assert len(source.splitlines()) <= 15, "cells stay short: move logic into csm_kit"
