"""`csm-kit report` on a CSAT asked on 1–10: the notebooks get the scale and count 9–10 as satisfied."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from csm_kit.cli import app
from tests.conftest import write_tables
from tests.data.test_survey_settings import CSAT_1_TO_10, CUSTOMERS, SUBSCRIPTIONS

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_a_report_on_a_1_to_10_csat_counts_9_and_10_as_satisfied(tmp_path):
    data = write_tables(tmp_path / "csat10", {"customers": CUSTOMERS,
                                              "subscriptions": SUBSCRIPTIONS,
                                              "surveys": CSAT_1_TO_10})
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--data", str(data), "--out", str(out),
                                 "--survey-scales", "csat=1-10", "--notebooks", "00,03",
                                 "--jobs", "2"])
    assert result.exit_code == 0, result.output
    folder = out / "2024-03-31"
    satisfaction = (folder / "03_satisfaction.html").read_text(encoding="utf-8")
    assert "csat 1–10" in satisfaction and "CSAT satisfied = 9–10" in satisfaction
    # 10, 9, 9 of five answers are 9–10: the index shows CSAT 60.0% against its 80% target.
    index = (folder / "index.html").read_text(encoding="utf-8")
    row = re.search(r"CSAT \(share satisfied\)</td>(.*?)</tr>", index)
    assert row and "60.0%" in row.group(1) and "≥ 80.0%" in row.group(1), index
