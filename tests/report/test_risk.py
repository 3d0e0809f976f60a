"""The health report's risk sections degrade to a note when the history is too short."""

from __future__ import annotations

import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.report.risk import action_list_export, risk_history


def young_company() -> Dataset:
    """Two customers with two months of data: no past day has 90 days of data after it."""
    return Dataset(
        customers=pd.DataFrame({"customer_id": ["a", "b"], "name": ["Acme", "Bolt"],
                                "signup_date": pd.Timestamp("2024-02-01")}),
        subscriptions=pd.DataFrame({"customer_id": ["a", "b"], "mrr": [100.0, 50.0],
                                    "start_date": pd.Timestamp("2024-02-01")}),
        surveys=pd.DataFrame({"customer_id": ["a"], "survey": "nps", "score": [3.0],
                              "date": pd.Timestamp("2024-03-20"), "comment": ["Slow"]}))


def test_without_subscriptions_there_is_no_history_and_a_note_says_why():
    ds = young_company()
    ds.subscriptions = None
    learnt = risk_history(ds)
    assert learnt.model is None and learnt.backtest is None
    assert learnt.note.startswith("No subscriptions table")


def test_a_history_too_short_to_backtest_is_a_note_not_an_error():
    # data from February to March 2024: the default scoring days (a year back) have nobody
    learnt = risk_history(young_company())
    assert learnt.history.empty and learnt.model is None and learnt.backtest is None
    assert learnt.note.startswith("No customer was active on the past scoring days")
    assert learnt.plays(young_company()) is None


def test_the_action_list_export_works_without_a_model_and_writes_dates():
    out = action_list_export(young_company(), as_of="2024-03-31")
    assert out["customer_id"].tolist() == ["a"] and out["play"].tolist() == ["detractor"]
    assert out["due_date"].tolist() == ["2024-04-03"] and out["probability"].isna().all()
