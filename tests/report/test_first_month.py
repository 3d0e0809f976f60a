"""A company in its first month: what ``validate`` accepts, ``report`` runs on.

Two customers who both signed up in October 2026, reported for October 2026: no month yet
starts with customers, so there is no logo churn, cohort history or survival to speak of.
The data is valid, so every report must still be written, saying what it cannot show.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from csm_kit.cli import app

runner = CliRunner()

CUSTOMERS = """customer_id,name,segment,csm,signup_date
A1,Acme,SMB,Jo,2026-10-03
B2,Beta,SMB,Jo,2026-10-10
"""
SUBSCRIPTIONS = """subscription_id,customer_id,start_date,end_date,mrr,plan,billing_interval_months,currency
S1,A1,2026-10-03,,100,Growth,1,USD
S2,B2,2026-10-10,,200,Growth,1,USD
"""


@pytest.fixture
def first_month(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (folder / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    return folder


def test_a_company_in_its_first_month_validates_and_every_report_runs(first_month, tmp_path):
    checked = runner.invoke(app, ["validate", "--data", str(first_month), "--as-of", "2026-10-31"])
    assert checked.exit_code == 0, checked.output

    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--data", str(first_month), "--as-of", "2026-10-31",
                                 "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    churn_page = (out / "2026-10-31" / "01_churn_cohorts.html").read_text(encoding="utf-8")
    # Logo churn needs a month that starts with customers; October starts with none.
    assert "there is no logo churn" in churn_page
