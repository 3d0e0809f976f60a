"""engine.reuse on small pandas frames: the bundled sample's revenue calls share their events.

Every comparison is exact: a result served from the kept events must be the result computed
afresh (reuse switched off), and any change to the input must be computed again.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd
import pytest

from csm_kit import engine as eng
from csm_kit.churn import logo_churn_rate, logo_retention_rate
from csm_kit.cohorts import cohort_retention
from csm_kit.data.loading import load_dataset
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements, mrr_summary
from csm_kit.revenue_retention import gross_revenue_retention, net_revenue_retention
from tests.test_revenue import five_customer_history


@pytest.fixture(autouse=True)
def cold():
    eng.forget_reused()
    yield
    eng.forget_reused()


def test_a_second_call_on_the_same_pandas_input_is_served_from_the_kept_events():
    history = five_customer_history()
    mrr_bridge(history, as_of="2024-06")
    kept = len(eng._REUSED_PANDAS)
    assert kept >= 1  # the events (and the classified movements) of the first call
    mrr_bridge(history.copy(), as_of="2024-06")  # a copy: same content, same key
    assert len(eng._REUSED_PANDAS) == kept


def test_a_changed_pandas_input_is_computed_again():
    history = five_customer_history()
    before = mrr_bridge(history, as_of="2024-06")
    changed = history.copy()
    changed.loc[0, "mrr"] = 130.0  # A's first subscription 100 -> 130: +30 from January on
    after = mrr_bridge(changed, as_of="2024-06")
    assert after["end_mrr"].tolist() == [v + 30 for v in before["end_mrr"].tolist()]


def test_reordered_rows_get_their_own_key():
    history = five_customer_history()
    reordered = history.iloc[::-1]
    first = eng._pandas_fingerprint(history)
    assert first != eng._pandas_fingerprint(reordered)
    assert first == eng._pandas_fingerprint(history.copy())


def test_a_caller_changing_a_served_frame_does_not_change_the_kept_one():
    frame = nw.from_native(pd.DataFrame({"a": [1, 2]}), eager_only=True)
    double = lambda f: f.select(nw.col("a") * 2)  # noqa: E731
    served = eng.reuse(frame, "test", double).to_native()
    served["b"] = 0
    served.loc[0, "a"] = 99
    again = eng.reuse(frame, "test", double).to_native()
    assert list(again.columns) == ["a"] and again["a"].tolist() == [2, 4]


def test_the_sample_revenue_results_are_the_same_with_and_without_reuse(monkeypatch):
    ds = load_dataset()
    subs, customers = ds.subscriptions, ds.customers
    calls = [
        lambda: customer_months(subs),
        lambda: mrr_movements(subs),
        lambda: mrr_movements(subs, timing="events"),
        lambda: mrr_bridge(subs),
        lambda: mrr_bridge(subs, definitions="stripe"),
        lambda: mrr_summary(subs),
        lambda: cohort_retention(subs, kind="logo"),
        lambda: cohort_retention(subs, kind="revenue"),
        lambda: logo_churn_rate(subs),
        lambda: logo_churn_rate(subs, by="segment", customers=customers),
        lambda: logo_retention_rate(subs, window_months=12),
        lambda: net_revenue_retention(subs, window_months=12),
        lambda: gross_revenue_retention(subs, window_months=12),
        lambda: mrr_bridge(subs, as_of="2025-06"),
    ]
    reused = [call() for call in calls] + [call() for call in calls]  # second round served
    assert len(eng._REUSED_PANDAS) > 0
    monkeypatch.setattr(eng, "_small_pandas", lambda frame: False)
    afresh = [call() for call in calls]
    for got, expected in zip(reused, afresh + afresh, strict=True):
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
        elif isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(got, expected, check_exact=True)
        else:
            assert got == expected
