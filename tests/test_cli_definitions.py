"""`csm-kit metrics --definitions X`: the KPI table under a vendor's definitions."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from csm_kit.churn import logo_churn_rate
from csm_kit.cli import app
from csm_kit.data.loading import load_dataset
from csm_kit.definitions import PRESET_NAMES, Definitions, preset
from tests.conftest import write_tables

runner = CliRunner()

# Ten customers since January; in April one leaves, one joins and cancels, one joins.
TABLES = {
    "customers": "customer_id,signup_date\n" + "".join(
        f"C{i},2024-01-02\n" for i in range(12)),
    "subscriptions": "subscription_id,customer_id,start_date,end_date,mrr\n" + "".join(
        f"S{i},C{i},2024-01-02,,10\n" for i in range(9)) + (
        "S9,C9,2024-01-02,2024-04-10,10\n"
        "S10,C10,2024-04-05,2024-04-20,10\n"
        "S11,C11,2024-04-07,,10\n"),
}


def metrics_csv(folder, *options) -> pd.DataFrame:
    """The metrics table written to a file (full precision; the terminal's is rounded)."""
    path = folder.parent / "metrics.csv"
    result = runner.invoke(app, ["metrics", "--data", str(folder), "--as-of", "2024-04-30",
                                 "--output", str(path), *options])
    assert result.exit_code == 0, result.output
    return pd.read_csv(path, dtype={"group": "str"})


def test_definitions_option_computes_the_kpis_under_that_preset_and_says_so(tmp_path):
    folder = write_tables(tmp_path / "data", TABLES)
    stripe = metrics_csv(folder, "--definitions", "stripe")
    assert set(stripe["definitions"]) == {"stripe"}
    churn = stripe[(stripe["metric"] == "logo_churn_rate") & (stripe["period"] == "2024-04")]
    # Stripe: (1 + 1) churned / (10 at the start + 2 new) = 1/6; the kit's default: 1/10.
    subs = load_dataset(str(folder)).subscriptions
    expected = logo_churn_rate(subs, as_of="2024-04", definitions="stripe")
    assert churn["value"].iloc[0] == expected["rate"].iloc[-1] == 2 / 12
    plain = metrics_csv(folder)
    assert "definitions" not in plain.columns
    kit = plain[(plain["metric"] == "logo_churn_rate") & (plain["period"] == "2024-04")]
    assert kit["value"].iloc[0] == 0.1
    assert preset(None) == Definitions()  # the choice does not outlive the command


def test_definitions_all_stacks_every_preset(tmp_path):
    folder = write_tables(tmp_path / "data", TABLES)
    table = metrics_csv(folder, "--definitions", "all")
    assert list(pd.unique(table["definitions"])) == list(PRESET_NAMES)
    churn = table[(table["metric"] == "logo_churn_rate") & (table["period"] == "2024-04")]
    values = dict(zip(churn["definitions"], churn["value"], strict=True))
    assert values["csm-kit"] == 0.1 and values["profitwell"] == 0.1
    assert values["baremetrics"] == 0.2 and values["stripe"] == 2 / 12


def test_an_unknown_preset_exits_2_and_names_the_choices(tmp_path):
    folder = write_tables(tmp_path / "data", TABLES)
    result = runner.invoke(app, ["metrics", "--data", str(folder), "--definitions", "paddle"])
    assert result.exit_code == 2
    assert "--definitions must be one of" in result.output and "'all'" in result.output
    assert "Traceback" not in result.output


def test_metrics_help_names_the_definitions_option_and_every_preset():
    result = runner.invoke(app, ["metrics", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--definitions" in result.output
    assert all(name in result.output for name in [*PRESET_NAMES, "all"])
