"""The core metrics on the bundled sample: the invariants hold on a realistic 36-month history."""

import numpy as np
import pytest
from typer.testing import CliRunner

import csm_kit as ck
from csm_kit.cli import app


@pytest.fixture(scope="module")
def sample():
    return ck.load_sample()


def test_the_mrr_bridge_balances_in_every_month_of_the_sample(sample):
    bridge = ck.mrr_bridge(sample.subscriptions)
    assert len(bridge) >= 36
    moved = (bridge["start_mrr"] + bridge["new"] + bridge["expansion"] + bridge["reactivation"]
             - bridge["contraction"] - bridge["churn"])
    np.testing.assert_allclose(moved, bridge["end_mrr"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(bridge["end_mrr"].iloc[:-1].to_numpy(),
                               bridge["start_mrr"].iloc[1:].to_numpy(), rtol=0, atol=1e-6)


def test_the_bridge_end_equals_mrr_summed_from_customer_months(sample):
    bridge = ck.mrr_bridge(sample.subscriptions).set_index("month")
    per_month = ck.customer_months(sample.subscriptions).groupby("month")["mrr"].sum()
    np.testing.assert_allclose(bridge["end_mrr"].reindex(per_month.index), per_month, atol=1e-6)


def test_retention_rates_stay_in_range_on_the_sample(sample):
    nrr = ck.net_revenue_retention(sample.subscriptions, window_months=12)["rate"].dropna()
    grr = ck.gross_revenue_retention(sample.subscriptions, window_months=12)["rate"].dropna()
    churn = ck.logo_churn_rate(sample.subscriptions)["rate"].dropna()
    assert (grr <= 1 + 1e-12).all() and (grr.to_numpy() <= nrr.to_numpy() + 1e-12).all()
    assert churn.between(0, 1).all()


def test_csm_kit_metrics_prints_the_long_table_for_the_sample():
    result = CliRunner().invoke(app, ["metrics"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "metric,period,group,value,n,ci_low,ci_high"
    assert any(line.startswith("logo_churn_rate,2026-10,,") for line in lines)
