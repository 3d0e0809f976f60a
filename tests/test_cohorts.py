"""Cohort retention matrices (subscriptions and transactions) and the average curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.cohorts import average_retention_curve, cohort_retention, cohort_table
from csm_kit.errors import ConfigError
from tests.test_revenue import subscriptions

NAN = np.nan


def four_cohorts() -> pd.DataFrame:
    """Cohorts January–April 2024, as_of April.

    Jan: A 100 (open); B 50, ends 1 Mar (churns in March), back at 70 from 10 April.
    Feb: C 40 (open); D 60 until 15 March (gone at the end of March).
    Mar: F 30 until 1 April.
    Apr: E 10.
    """
    return subscriptions([
        ("A", "2024-01-05", None, 100.0),
        ("B", "2024-01-20", "2024-03-01", 50.0), ("B", "2024-04-10", None, 70.0),
        ("C", "2024-02-01", None, 40.0), ("D", "2024-02-03", "2024-03-15", 60.0),
        ("F", "2024-03-01", "2024-04-01", 30.0),
        ("E", "2024-04-02", None, 10.0),
    ])


COHORTS = pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])


def test_logo_matrix_keeps_a_reactivated_customer_in_its_first_cohort():
    matrix = cohort_retention(four_cohorts(), as_of="2024-04")
    # Jan (A, B): Feb both, Mar only A, Apr A and the returning B → 1, 1, .5, 1.
    # Feb (C, D): Mar only C, Apr C → 1, .5, .5; Mar (F): gone in Apr → 1, 0; Apr (E): 1.
    # Cells a cohort has not reached by April are NaN, F's 0% is a real 0.
    expected = pd.DataFrame(
        [[1.0, 1.0, 0.5, 1.0], [1.0, 0.5, 0.5, NAN], [1.0, 0.0, NAN, NAN], [1.0, NAN, NAN, NAN]],
        index=pd.Index(COHORTS.astype("datetime64[ns]"), name="cohort"),
        columns=pd.Index([0, 1, 2, 3], name="months_since_start"),
    )
    pd.testing.assert_frame_equal(matrix, expected, check_column_type=False)


def test_revenue_matrix_divides_by_the_cohorts_first_month_mrr():
    matrix = cohort_retention(four_cohorts(), kind="revenue", as_of="2024-04")
    # Jan: 150 at k=0; 150, 100 (A), 170 (A + B's 70) → 1, 2/3, 17/15 (expansion above 1).
    # Feb: 100 at k=0; C's 40 → .4, .4.   Mar: 30 → 0.   Apr: 1.
    assert np.allclose(matrix.iloc[0], [1.0, 1.0, 2 / 3, 170 / 150])
    assert np.allclose(matrix.iloc[1, :3], [1.0, 0.4, 0.4]) and np.isnan(matrix.iloc[1, 3])
    assert matrix.iloc[2, :2].tolist() == [1.0, 0.0]


def test_long_table_has_cohort_age_size_and_value_and_omits_unreached_ages():
    long = cohort_table(four_cohorts(), as_of="2024-04")
    assert list(long.columns) == ["cohort", "months_since_start", "cohort_size", "value"]
    assert len(long) == 4 + 3 + 2 + 1  # ages each cohort has reached by April
    assert long.groupby("cohort")["cohort_size"].first().tolist() == [2, 2, 1, 1]


def test_average_curve_weights_by_cohort_size_and_keeps_zero_percent_cohorts():
    curve = average_retention_curve(cohort_table(four_cohorts(), as_of="2024-04"))
    # k=1: (2·1 + 2·.5 + 1·0) / 5 = .6;  k=2: (2·.5 + 2·.5) / 4 = .5;  k=3: Jan only → 1.
    assert curve["value"].tolist() == [1.0, 0.6, 0.5, 1.0]
    assert curve["cohorts"].tolist() == [4, 3, 2, 1]
    assert curve["customers"].tolist() == [6, 5, 4, 2]


def orders() -> pd.DataFrame:
    """a buys 10 in Jan and 20 in Mar; b buys 30 in Jan; c buys 5 and 15 in Feb."""
    return pd.DataFrame({
        "transaction_id": ["T1", "T2", "T3", "T4", "T5"],
        "customer_id": ["a", "a", "b", "c", "c"],
        "date": pd.to_datetime(["2024-01-03", "2024-03-20", "2024-01-30", "2024-02-01",
                                "2024-02-15"]),
        "amount": [10.0, 20.0, 30.0, 5.0, 15.0],
    })


def test_transaction_cohorts_count_customers_with_an_order_in_the_month():
    matrix = cohort_retention(orders(), as_of="2024-03")
    # Jan (a, b): no Feb order → 0; a in Mar → .5.  Feb (c, two orders count once): Mar → 0.
    assert matrix.fillna(-1).values.tolist() == [[1.0, 0.0, 0.5], [1.0, 0.0, -1]]


def test_transaction_revenue_cohorts_divide_by_month_zero_revenue():
    matrix = cohort_retention(orders(), kind="revenue", as_of="2024-03")
    # Jan: 40 at k=0, 0 in Feb, 20 in Mar → 0, .5.  Feb: 20 at k=0, 0 in Mar.
    assert matrix.fillna(-1).values.tolist() == [[1.0, 0.0, 0.5], [1.0, 0.0, -1]]


def test_transaction_as_of_defaults_to_the_last_complete_month():
    # Latest order 20 March: March is incomplete, so the matrix ends in February.
    matrix = cohort_retention(orders())
    assert matrix.index.max() == pd.Timestamp("2024-02-01") and matrix.shape == (2, 2)


def test_unknown_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="`kind` must be one of"):
        cohort_retention(orders(), kind="customers")


def test_a_table_that_is_neither_subscriptions_nor_transactions_is_a_config_error():
    with pytest.raises(ConfigError, match="cohorts need subscriptions"):
        cohort_retention(pd.DataFrame({"customer_id": ["a"], "score": [9]}))


def test_a_revenue_cohort_with_zero_month_0_revenue_is_nan_and_left_out_of_the_average():
    # x's first order (January) is a free sample (0), then 50 in February: the January revenue
    # cohort has no month-0 revenue, so its shares are NaN, not 0 or infinity.
    # y starts in February with 100, then 50 in March: 1.0, 0.5.
    # The average curve leaves the NaN cells out: age 0 = 1.0 and age 1 = 0.5, each from one
    # cohort of one customer; age 2 only has x's NaN cell, so no row. Keeping the NaN cells
    # would give age 1 = (0.5·1) / (1 + 1) = 0.25 from two cohorts.
    tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3", "t4"],
                       "customer_id": ["x", "x", "y", "y"],
                       "date": pd.to_datetime(["2024-01-10", "2024-02-10", "2024-02-12",
                                               "2024-03-12"]),
                       "amount": [0.0, 50.0, 100.0, 50.0]})
    table = cohort_table(tx, kind="revenue", as_of="2024-03")
    january = table[table["cohort"] == "2024-01-01"]
    assert january["months_since_start"].tolist() == [0, 1, 2]
    assert january["value"].isna().all()
    assert table.loc[table["cohort"] == "2024-02-01", "value"].tolist() == [1.0, 0.5]
    curve = average_retention_curve(table)
    assert curve.to_dict("list") == {"months_since_start": [0, 1], "value": [1.0, 0.5],
                                     "cohorts": [1, 1], "customers": [1, 1]}
