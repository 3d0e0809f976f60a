"""Report parameters are checked against the notebooks' parameters cell before anything runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from csm_kit.cli import NOTEBOOKS_DIR, app
from csm_kit.errors import ConfigError
from csm_kit.report.parameters import check_parameters, notebook_parameters
from csm_kit.report.runner import run_reports

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_the_parameters_cell_gives_names_and_defaults():
    defaults = notebook_parameters(NOTEBOOKS[0])
    assert defaults["months"] == 24 and defaults["privacy"] == "off" and defaults["data"] is None


def test_good_parameters_pass():
    check_parameters({"data": "/x", "months": 12, "segment": "00123", "include_code": True,
                      "privacy": "aggregate", "min_group_size": 5}, NOTEBOOKS)


def test_an_unknown_parameter_name_is_rejected_with_the_names_there_are():
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['segmnet'\].*'segment'"):
        check_parameters({"segmnet": "SMB"}, NOTEBOOKS)


@pytest.mark.parametrize("name, value, expected", [
    ("months", "12", "a whole number"),
    ("months", True, "a whole number"),
    ("include_code", 1, "True or False"),
    ("segment", 123, r"text \(or None\)"),
    ("privacy", None, "text"),
])
def test_values_of_the_wrong_type_are_rejected(name, value, expected):
    with pytest.raises(ConfigError, match=rf"`{name}` must be {expected}, got"):
        check_parameters({name: value}, NOTEBOOKS)


def test_run_reports_checks_parameters_before_running_anything(tmp_path):
    with pytest.raises(ConfigError, match="unknown parameter"):
        run_reports(NOTEBOOKS[:1], out_dir=tmp_path, as_of="2026-10-31", parameters={"x": 1})
    assert list(tmp_path.iterdir()) == []


def test_the_command_rejects_an_unknown_privacy_mode_before_loading(tmp_path):
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--privacy", "hidden"])
    assert result.exit_code == 2
    assert "privacy" in result.output and "'hidden'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_id_like_segment_from_the_command_line_stays_text(tmp_path, monkeypatch):
    seen = {}

    def fake_check(parameters, notebooks):
        seen.update(parameters)
        raise ConfigError("stop here")

    monkeypatch.setattr("csm_kit.report.parameters.check_parameters", fake_check)
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--segment", "00123"])
    assert result.exit_code == 2 and seen["segment"] == "00123"
