"""The notebooks' ``parameters`` cells: what a report run may pass to them, checked up front."""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat

from csm_kit.errors import ConfigError


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The names and default values of a notebook's ``parameters`` cell (literals only)."""
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    defaults: dict[str, Any] = {}
    for cell in cells[:1]:
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
    return defaults


def check_parameters(parameters: Mapping[str, Any], notebooks: Sequence[Path]) -> None:
    """Reject parameters the notebooks do not take, or values of the wrong type, before anything runs.

    Every name must appear in the ``parameters`` cell of every notebook. A value's type must
    match the default's: a whole number for an int, True/False for a bool, a number for a
    float, text for a str; a parameter whose default is None takes text (or a path) or None.
    Ids and segments therefore stay text: "00123" is never read as the number 123.

    Raises
    ------
    ConfigError
        Naming each unknown parameter (with the accepted names) or each wrong value.
    """
    defaults = [notebook_parameters(Path(nb)) for nb in notebooks]
    accepted = set.intersection(*(set(d) for d in defaults)) if defaults else set()
    unknown = sorted(set(parameters) - accepted)
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown}; the notebooks take {sorted(accepted)}")
    problems = [
        f"`{name}` must be {_expected_type(d[name])}, got {value!r} ({type(value).__name__})"
        for name, value in parameters.items()
        for d in defaults[:1]
        if not _fits(value, d[name])
    ]
    if problems:
        raise ConfigError("wrong parameter value(s): " + "; ".join(problems))


def _fits(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if default is None or isinstance(default, str):
        return (value is None and default is None) or isinstance(value, str | os.PathLike)
    return isinstance(value, type(default))


def _expected_type(default: Any) -> str:
    if isinstance(default, bool):
        return "True or False"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if default is None:
        return "text (or None)"
    return "text" if isinstance(default, str) else type(default).__name__


def kernel_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters papermill can write as literals: Path values become absolute strings."""
    return {
        key: str(Path(value).resolve()) if isinstance(value, os.PathLike) else value
        for key, value in parameters.items()
    }


def required_tables(notebook: Path) -> tuple[str, ...]:
    """The tables a report notebook is about, from its metadata ``csm_kit.requires``.

    A report whose tables are absent from the data (a purchase-behaviour report for a
    subscription business without transactions) is left out of the run and the index says
    so once, instead of a page of "this section is skipped" notes. A table that is there but
    has no rows for the chosen segment does not count as absent. No entry = always run.
    """
    nb = nbformat.read(notebook, as_version=4)
    requires = nb.metadata.get("csm_kit", {}).get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(t, str) for t in requires):
        raise ConfigError(f"{notebook.name}: metadata csm_kit.requires must be a list of table "
                          f"names, got {requires!r}")
    return tuple(requires)
