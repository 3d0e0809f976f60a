"""The monthly digest: what changed, in Markdown, JSON and Slack; privacy; the webhook; the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from typer.testing import CliRunner

import csm_kit as ck
from csm_kit.cli import app
from csm_kit.data.loading import Dataset
from csm_kit.report.digest import monthly_digest
from tests.conftest import GOOD_TABLES, write_tables

runner = CliRunner()


@pytest.fixture(scope="module")
def sample():
    return ck.load_sample()


@pytest.fixture(scope="module")
def october(sample):
    return monthly_digest(sample, as_of="2026-10-31")


def test_the_digest_lists_exactly_the_accounts_whose_band_became_red(sample, october):
    now = ck.health_scores(sample, as_of="2026-10-31")
    before = ck.health_scores(sample, as_of="2026-09-30")
    red_now = set(now.loc[now["band"] == "red", "customer_id"])
    red_before = set(before.loc[before["band"] == "red", "customer_id"])
    assert set(october.newly_red["customer_id"]) == red_now - red_before
    assert len(october.newly_red) == len(red_now - red_before) > 0
    # each with its reason: the weakest component and its signal's value
    weakest = now.set_index("customer_id")["weakest_component"]
    for row in october.newly_red.itertuples():
        assert row.reason.startswith(f"{weakest[row.customer_id]} scores ")


def test_new_detractors_are_the_nps_answers_of_0_to_6_in_the_month(sample, october):
    s = sample.surveys
    expected = s[(s["survey"] == "nps") & (s["score"] <= 6)
                 & s["date"].between("2026-10-01", "2026-10-31")]
    assert sorted(october.new_detractors["customer_id"]) == sorted(expected["customer_id"])


def test_kpis_are_listed_when_their_verdict_changes_or_they_move_beyond_their_interval(october):
    kpis = october.kpis.set_index("metric")
    # CSAT 80.0% of 110 in September: its 95% interval [71.6%, 86.4%] covers the >= 80%
    # target, so within noise; 72.5% of 120 in October: interval [63.9%, 79.7%] below 80%,
    # and 72.5% is within 10% of the target (>= 72%), so near
    assert kpis.loc["csat", ["previous_status", "status"]].tolist() == ["within noise", "near"]
    # logo renewal 68.2% in September lies below October's 95% interval [73.8%, 93.7%]
    assert kpis.loc["logo_renewal_rate", "why"] == "outside interval"
    # MRR has neither a target nor an interval: never listed
    assert "mrr" not in kpis.index
    assert october.renewals_due["due_date"].between("2026-11-01", "2027-01-29").all()


def test_markdown_and_json_carry_every_part(october):
    text = october.to_markdown()
    for title in ("# Customer-success digest: October 2026", "## KPIs that changed",
                  "## Accounts newly red", "## New detractors", "## Renewals due in the next 90",
                  "## Data quality"):
        assert title in text
    data = json.loads(october.to_json())
    assert data["month"] == "2026-10" and data["previous_month"] == "2026-09"
    assert data["newly_red_count"] == len(data["newly_red"]) == len(october.newly_red)


def test_aggregate_privacy_names_no_customer(sample, october):
    digest = replace(october, privacy="aggregate")  # the same findings, rendered without names
    assert monthly_digest(hostile(), as_of="2024-03-31", privacy="aggregate").aggregate
    outputs = [digest.to_markdown(), digest.to_json(), json.dumps(digest.to_slack())]
    named = set(sample.customers["customer_id"]) | set(sample.customers["name"].dropna())
    for text in outputs:
        assert not [n for n in named if n in text]
    assert "newly_red" not in json.loads(outputs[1])  # counts only
    assert json.loads(outputs[1])["newly_red_count"] > 0


# --------------------------------------------------------------------------- hostile text


def hostile() -> Dataset:
    name = "[Win](http://evil.example) *Acme* | <b>x</b> <!channel> & co"
    return Dataset(
        customers=pd.DataFrame({"customer_id": ["a"], "name": [name], "csm": ["<@U123>"],
                                "signup_date": pd.Timestamp("2023-01-01")}),
        subscriptions=pd.DataFrame({"customer_id": ["a"], "mrr": [100.0],
                                    "start_date": pd.Timestamp("2023-01-01")}),
        surveys=pd.DataFrame({"customer_id": ["a"], "survey": "nps", "score": [2.0],
                              "date": pd.Timestamp("2024-03-10"),
                              "comment": ["=cmd| <script>alert(1)</script>\nnew line"]}))


def test_text_from_the_data_cannot_format_link_or_ping_in_markdown_or_slack():
    digest = monthly_digest(hostile(), as_of="2024-03-31")
    md = digest.to_markdown()
    assert "[Win](http://evil.example)" not in md and "\\[Win\\]\\(http://evil\\.example\\)" in md
    assert "<script>" not in md and "\\<script\\>" in md
    assert "| <b>" not in md  # the pipe cannot end a table cell
    row = next(line for line in md.splitlines() if "alert" in line)
    assert row.count(" | ") == 4  # five cells: the comment's pipe and line break stay text
    slack = json.dumps(digest.to_slack())
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    assert "<script>" not in slack and "<@U123>" not in slack


# --------------------------------------------------------------------------- the command


def test_cli_digest_writes_json_posts_once_and_exits_0(hook, tmp_path):
    url, handler = hook
    data = write_tables(tmp_path / "data", GOOD_TABLES)
    out = tmp_path / "digest.json"
    result = runner.invoke(app, ["digest", "--data", str(data), "--as-of", "2024-03-31",
                                 "--format", "json", "--output", str(out), "--webhook", url])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["month"] == "2024-03"
    assert len(handler.received) == 1


def test_cli_digest_prints_markdown_to_the_terminal(tmp_path):
    data = write_tables(tmp_path / "data", GOOD_TABLES)
    result = runner.invoke(app, ["digest", "--data", str(data), "--as-of", "2024-03-31",
                                 "--privacy", "aggregate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Customer-success digest: March 2024")
    assert "Acme" not in result.stdout and "00123" not in result.stdout


def test_cli_digest_exit_codes_for_cron(hook, tmp_path):
    url, handler = hook
    data = write_tables(tmp_path / "data", GOOD_TABLES)
    handler.status = 500  # delivery fails: 1, the digest is still written
    out = tmp_path / "digest.md"
    result = runner.invoke(app, ["digest", "--data", str(data), "--as-of", "2024-03-31",
                                 "--output", str(out), "--webhook", url])
    assert result.exit_code == 1 and out.read_text().startswith("# Customer-success digest")
    assert "HTTP 500" in result.output and "secret" not in result.output
    for bad in (["--format", "pdf"], ["--webhook", "ftp://example.com/x"]):
        result = runner.invoke(app, ["digest", "--data", str(data), "--output",
                                     str(tmp_path / "x"), *bad])
        assert result.exit_code == 2 and not (tmp_path / "x").exists()  # nothing written
