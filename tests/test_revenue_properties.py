"""Invariants of the revenue engine on random subscription histories (hypothesis).

Histories: up to 10 subscriptions of 5 customers, starting within two years, a mix of open
and ended ones, whole-cent MRR. Checked against a day-by-day count written independently of
the engine (no month indices, no cumulative sums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_kit.churn import logo_churn_rate
from csm_kit.cohorts import cohort_table
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements
from csm_kit.revenue_retention import gross_revenue_retention, net_revenue_retention
from tests.test_revenue import subscriptions

#: Random histories often end inside their only month; the default as_of then warns that the
#: table is empty (that warning is tested in tests/test_grouping.py and tests/test_kpis.py).
pytestmark = pytest.mark.filterwarnings("ignore:.*a month the data does not reach the end of")

BASE = pd.Timestamp("2023-01-01")
# Each example runs the pandas engine several times (~50 ms a call on tiny frames). The number
# of examples is the hypothesis profile's (conftest.py): 20 by default (the file in ~15 s on two
# shared cores), 200 with --hypothesis-profile=ci, which .ci/run passes.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

subscription_rows = st.tuples(
    st.sampled_from(["c0", "c1", "c2", "c3", "c4"]),
    st.integers(0, 730),                      # start: days after 1 Jan 2023
    st.one_of(st.none(), st.integers(1, 400)),  # length in days, None = still open
    st.integers(1, 1_000_000),                # MRR in cents
)
histories = st.lists(subscription_rows, min_size=1, max_size=10).map(
    lambda rows: subscriptions([
        (c, BASE + pd.Timedelta(days=s), None if n is None else BASE + pd.Timedelta(days=s + n),
         cents / 100) for c, s, n, cents in rows]))
as_of_values = st.one_of(st.none(), st.sampled_from(["2023-06", "2024-02", "2025-03"]))


def reference_as_of(subs: pd.DataFrame, as_of) -> pd.Timestamp:
    """The documented default: the data reaches the latest start or end − 1 day."""
    if as_of is not None:
        return pd.Timestamp(as_of)
    latest = max(subs["start_date"].max(), (subs["end_date"] - pd.Timedelta(days=1)).max())
    month_end = latest + pd.offsets.MonthEnd(0)
    return (latest if latest == month_end else latest - pd.offsets.MonthEnd(1)).replace(day=1)


def reference_customer_months(subs: pd.DataFrame, as_of) -> pd.DataFrame:
    """Day-by-day: on each month's last day sum the MRR of subscriptions active that day."""
    last = reference_as_of(subs, as_of)
    rows = []
    for month in pd.date_range(subs["start_date"].min().replace(day=1), last, freq="MS"):
        day = month + pd.offsets.MonthEnd(0)
        active = subs[(subs["start_date"] <= day) & ~(subs["end_date"] <= day)]
        cents = (active["mrr"] * 100).round().astype("int64").groupby(active["customer_id"]).sum()
        rows += [(c, month, v) for c, v in cents.items() if v > 0]
    return pd.DataFrame(rows, columns=["customer_id", "month", "cents"])


@SETTINGS
@given(subs=histories, as_of=as_of_values, seed=st.integers(0, 2**16))
def test_bridge_balances_to_the_cent_and_matches_a_day_by_day_count(subs, as_of, seed):
    bridge = mrr_bridge(subs, as_of=as_of)
    cents = (bridge.drop(columns="month") * 100).round().astype("int64")
    flows = (cents["start_mrr"] + cents["new"] + cents["expansion"] + cents["reactivation"]
             - cents["contraction"] - cents["churn"])
    assert (flows == cents["end_mrr"]).all()
    assert (cents["end_mrr"].iloc[:-1].to_numpy() == cents["start_mrr"].iloc[1:].to_numpy()).all()
    assert (cents[["new", "expansion", "reactivation", "contraction", "churn"]] >= 0).all().all()

    expected = reference_customer_months(subs, as_of)
    got = customer_months(subs, as_of=as_of)
    got_cents = (got["mrr"] * 100).round().astype("int64")
    assert sorted(zip(got["customer_id"], got["month"], got_cents, strict=True)) == sorted(
        zip(expected["customer_id"], expected["month"], expected["cents"], strict=True))
    monthly = expected.groupby("month")["cents"].sum()
    closing = cents["end_mrr"].set_axis(bridge["month"])
    assert (closing.reindex(monthly.index) == monthly).all()
    assert (closing.drop(monthly.index) == 0).all()

    # Row order changes nothing (the bridge is an aggregate of these movements).
    shuffled = subs.sample(frac=1, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(mrr_movements(shuffled, as_of=as_of),
                                  mrr_movements(subs, as_of=as_of))


@SETTINGS
@given(subs=histories, as_of=as_of_values, window=st.integers(1, 6))
def test_grr_stays_below_nrr_and_one_and_rates_stay_in_zero_one(subs, as_of, window):
    nrr = net_revenue_retention(subs, window_months=window, as_of=as_of)
    grr = gross_revenue_retention(subs, window_months=window, as_of=as_of)
    defined = nrr["rate"].notna()
    assert (grr["rate"].notna() == defined).all()
    assert (grr.loc[defined, "retained_mrr"] <= nrr.loc[defined, "retained_mrr"] + 1e-9).all()
    assert (grr.loc[defined, "rate"] <= nrr.loc[defined, "rate"] + 1e-12).all()
    assert (grr.loc[defined, "rate"] <= 1 + 1e-12).all()
    assert (nrr.loc[defined, "rate"] >= 0).all()

    churn = logo_churn_rate(subs, as_of=as_of)
    rates = churn["rate"].dropna()
    assert rates.between(0, 1).all() and (1 - rates).between(0, 1).all()
    assert (churn["churned"] <= churn["customers_start"]).all()

    cohorts = cohort_table(subs, as_of=as_of)
    assert cohorts["value"].between(0, 1).all()
    assert (cohorts.loc[cohorts["months_since_start"] == 0, "value"] == 1).all()
    assert np.all(cohorts.groupby("cohort")["cohort_size"].nunique() == 1)
