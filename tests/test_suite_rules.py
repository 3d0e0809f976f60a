"""The suite's own rules: missing tools fail under CI, notebook cells keep their order."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import in_ci, require

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("", False), ("0", False), ("false", False), ("No", False),
    ("true", True), ("1", True), ("yes", True)])
def test_ci_is_on_when_the_variable_says_so(monkeypatch, value, expected):
    monkeypatch.setenv("CI", "placeholder")  # recorded, so teardown restores the original
    if value is None:
        monkeypatch.delenv("CI")
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_require_returns_what_it_found():
    assert require("Chromium", "/usr/bin/chromium", install="apt-get install chromium") == \
        "/usr/bin/chromium"


def test_a_missing_dependency_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match=r"a Java runtime is missing \(install: apt"):
        require("a Java runtime", None, install="apt-get install default-jre-headless")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so this fails instead of skipping"):
        require("a Java runtime", None, install="apt-get install default-jre-headless")


def test_notebook_cells_go_back_together_and_in_order(request):
    # Shuffled: a test, cell 2 of A, cell 0 of B, cell 0 of A, another test, cell 1 of A,
    # cell 1 of B. Each notebook takes the place of its first cell, its cells in order.
    plugin = next(p for p in request.config.pluginmanager.get_plugins()
                  if getattr(p, "__file__", None) == str(ROOT / "conftest.py"))

    def cell(notebook, number):
        return SimpleNamespace(path=Path(f"{notebook}.ipynb"), cell_num=number,
                               name=f"{notebook}:{number}")

    def test(name):
        return SimpleNamespace(path=Path(f"test_{name}.py"), name=name)

    items = [test("x"), cell("A", 2), cell("B", 0), cell("A", 0), test("y"), cell("A", 1),
             cell("B", 1)]
    plugin.pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["x", "A:0", "A:1", "A:2", "B:0", "B:1", "y"]
