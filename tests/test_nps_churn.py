"""Tests for csm_kit.nps_churn: churn in the following months by each customer's NPS category.

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csm_kit
from csm_kit import satisfaction
from csm_kit.errors import ConfigError
from csm_kit.nps_churn import churn_by_nps_category
from tests.test_satisfaction import responses


def _subscriptions(rows):
    """rows: (customer_id, start, end or None)."""
    ids, starts, ends = zip(*rows, strict=True)
    return pd.DataFrame({
        "subscription_id": [f"s{i}" for i in range(len(rows))],
        "customer_id": pd.array(ids, dtype="str"),
        "start_date": pd.to_datetime(starts).astype("datetime64[ns]"),
        "end_date": pd.to_datetime(list(ends)).astype("datetime64[ns]"),
        "mrr": 100.0,
    })


def test_detractors_churn_more_in_the_following_months():
    # Snapshot end of March, horizon 2 (April, May), data up to May.
    # p1: promoter, stays.  p2: detractor in Jan, promoter in March (latest wins) -> promoter,
    #     leaves in May -> churned.  d1: detractor, leaves in April -> churned.
    # d2: detractor, gone in April but back in May -> still churned within the horizon.
    # x1: no NPS answer -> not counted.  late: answers 0 in April, after the snapshot -> not
    # counted (no response by the snapshot).  new: starts in April -> not active at snapshot.
    subs = _subscriptions([
        ("p1", "2024-01-01", None), ("p2", "2024-01-01", "2024-05-10"),
        ("d1", "2024-01-01", "2024-04-05"), ("d2", "2024-01-01", "2024-04-02"),
        ("d2", "2024-05-01", None), ("x1", "2024-01-01", None),
        ("late", "2024-01-01", None), ("new", "2024-04-01", None),
    ])
    surveys = responses([10, 2, 10, 3, 6, 0, 0],
                        customers=["p1", "p2", "p2", "d1", "d2", "late", "new"],
                        dates=["2024-02-01", "2024-01-10", "2024-03-31", "2024-03-02",
                               "2024-01-20", "2024-04-03", "2024-04-10"])
    out = churn_by_nps_category(surveys, subs, horizon_months=2, as_of="2024-05").set_index(
        "category")
    # promoters: p1, p2 -> 1 of 2; passives: none; detractors: d1, d2 -> 2 of 2.
    assert out["customers"].tolist() == [2, 0, 2]
    assert out["churned_within_horizon"].tolist() == [1, 0, 2]
    assert out.loc["promoter", "rate"] == 0.5
    assert np.isnan(out.loc["passive", "rate"])
    assert out.loc["detractor", "rate"] == 1.0
    assert (out["month"] == pd.Timestamp("2024-03-01")).all()


def test_a_snapshot_whose_horizon_is_not_yet_observed_is_refused():
    subs = _subscriptions([("a", "2024-01-01", None)])
    surveys = responses([10], customers=["a"], dates="2024-01-05")
    with pytest.raises(ConfigError, match=r"`at` must be at least horizon_months=3 months"):
        churn_by_nps_category(surveys, subs, horizon_months=3, at="2024-02", as_of="2024-04")


def test_churn_by_nps_category_horizon_must_be_positive():
    with pytest.raises(ConfigError, match=r"`horizon_months` must be a whole number >= 1"):
        churn_by_nps_category(responses([1]), _subscriptions([("a", "2024-01-01", None)]),
                              horizon_months=0)
def test_churn_by_nps_category_lives_in_nps_churn_and_the_package_namespace():
    # It moved out of csm_kit.satisfaction (which it builds on, so satisfaction cannot
    # re-export it without an import cycle); ck.churn_by_nps_category is unchanged.
    assert csm_kit.churn_by_nps_category is churn_by_nps_category
    assert not hasattr(satisfaction, "churn_by_nps_category")


def test_of_two_answers_on_the_latest_day_the_later_row_or_later_time_counts():
    # a: two answers dated 10 January, 3 on the first row and 10 on the second: the second
    #    row counts -> promoter (the earlier row winning would make a a detractor).
    # b: 7 at 15:00 (first row) and 10 at 09:00 (second row): the later time counts -> passive
    #    (the earlier time winning would make b a promoter).
    # Both stay: one promoter, one passive, no detractor.
    subs = _subscriptions([("a", "2024-01-01", None), ("b", "2024-01-01", None)])
    surveys = responses([3, 10, 7, 10], customers=["a", "a", "b", "b"],
                        dates=["2024-01-10 00:00", "2024-01-10 00:00", "2024-01-10 15:00",
                               "2024-01-10 09:00"])
    out = churn_by_nps_category(surveys, subs, horizon_months=1, as_of="2024-02").set_index(
        "category")
    assert out["customers"].to_dict() == {"promoter": 1, "passive": 1, "detractor": 0}


def test_the_category_boundaries_are_9_and_7_and_the_default_horizon_is_three_months():
    # 9 is a promoter, 7 a passive, 6 a detractor (the satisfaction module's categories).
    # Default horizon 3 and as_of June: the snapshot is March, watched April to June; d (6)
    # leaves on 20 June (inactive at the end of June) -> churned; with 4 months it would be
    # February.
    subs = _subscriptions([("p", "2024-01-01", None), ("q", "2024-01-01", None),
                           ("d", "2024-01-01", "2024-06-20")])
    surveys = responses([9, 7, 6], customers=["p", "q", "d"], dates="2024-01-15")
    out = churn_by_nps_category(surveys, subs, as_of="2024-06").set_index("category")
    assert (out["month"] == pd.Timestamp("2024-03-01")).all()
    assert out["customers"].tolist() == [1, 1, 1]
    assert out["churned_within_horizon"].tolist() == [0, 0, 1]
    assert out["rate"].tolist() == [0.0, 0.0, 1.0]  # one customer is enough for a rate
    # Wilson with n = 1 (z = 1.96): 0 of 1 -> [0, z²/(1 + z²)] = [0, 0.7934];
    # 1 of 1 -> [1/(1 + z²), 1] = [0.2066, 1].
    assert out["ci_low"].tolist() == pytest.approx([0.0, 0.0, 0.2066], abs=1e-4)
    assert out["ci_high"].tolist() == pytest.approx([0.7934, 0.7934, 1.0], abs=1e-4)


def test_as_of_sets_the_last_month_even_when_nobody_is_active_in_it():
    # a leaves on 1 March; as_of April with a one-month horizon: the snapshot is March, when
    # nobody is active (counting from the last month with customers would pick January).
    subs = _subscriptions([("a", "2024-01-01", "2024-03-01")])
    surveys = responses([10], customers=["a"], dates="2024-01-05")
    out = churn_by_nps_category(surveys, subs, horizon_months=1, as_of="2024-04")
    assert (out["month"] == pd.Timestamp("2024-03-01")).all()
    assert out["customers"].tolist() == [0, 0, 0]


def test_an_answer_on_the_first_day_of_the_next_month_is_after_the_snapshot():
    # Snapshot January: a's 10 dated 1 February 00:00 is not known yet -> a is a detractor
    # by its January answer (3).
    subs = _subscriptions([("a", "2024-01-01", None)])
    surveys = responses([3, 10], customers=["a", "a"], dates=["2024-01-10", "2024-02-01"])
    out = churn_by_nps_category(surveys, subs, horizon_months=1, at="2024-01", as_of="2024-02")
    assert out.set_index("category")["customers"].to_dict() == {
        "promoter": 0, "passive": 0, "detractor": 1}


@pytest.mark.parametrize("horizon", ["3", 2.0, True])
def test_a_horizon_that_is_not_a_whole_number_is_refused(horizon):
    subs = _subscriptions([("a", "2024-01-01", None)])
    with pytest.raises(ConfigError, match=r"`horizon_months` must be a whole number >= 1"):
        churn_by_nps_category(responses([10], customers=["a"]), subs, horizon_months=horizon)


def test_errors_name_the_last_month_and_say_when_nobody_was_ever_active():
    subs = _subscriptions([("a", "2024-01-01", None)])
    surveys = responses([10], customers=["a"], dates="2024-01-05")
    with pytest.raises(ConfigError, match=r"last month of data \(2024-04\) so the horizon"):
        churn_by_nps_category(surveys, subs, horizon_months=3, at="2024-02", as_of="2024-04")
    # b joins and leaves inside January: never active at a month end.
    inside = _subscriptions([("b", "2024-01-05", "2024-01-20")])
    with pytest.raises(ConfigError, match="subscriptions has no customer active at a month "
                                          "end up to as_of"):
        churn_by_nps_category(surveys, inside)


# --------------------------------------------------------------------------- mutation survivors


def test_of_many_answers_on_the_same_day_the_later_row_counts_for_every_customer():
    # 20 customers each answered 0 and then, further down the table, 10 on the same day
    # (dates without a time). The later row counts: 20 promoters, no detractor. With this many
    # ties an unstable sort (numpy's quicksort past 16 rows) mixes up the rows.
    ids = [f"c{i:02d}" for i in range(20)]
    subs = _subscriptions([(c, "2024-01-01", None) for c in ids])
    surveys = responses([0] * 20 + [10] * 20, customers=ids + ids, dates="2024-01-10")
    out = churn_by_nps_category(surveys, subs, horizon_months=1, as_of="2024-02").set_index(
        "category")
    assert out["customers"].to_dict() == {"promoter": 20, "passive": 0, "detractor": 0}
