"""Tests for csm_kit.adoption: active users per licensed seat and the share of adopting customers.

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.adoption import adoption, adoption_rate
from csm_kit.errors import ConfigError


def usage(rows, last: str = "licensed_seats"):
    """rows: (customer_id, month, active_users, value of ``last`` or None); ``last`` is
    licensed_seats or key_feature_users."""
    ids, months, users, counts = zip(*rows, strict=True)
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="str"),
        "month": pd.to_datetime(months).astype("datetime64[ns]"),
        "active_users": pd.array(users, dtype="Int64"),
        last: pd.array(counts, dtype="Int64"),
    })


def test_adoption_is_active_users_over_licensed_seats_and_unknown_without_seats():
    # a 5/10 = 0.5; b 12/10 = 1.2 (not capped); c has 0 seats, d none -> NaN.
    data = usage([("a", "2024-01-01", 5, 10), ("b", "2024-01-01", 12, 10),
                  ("c", "2024-01-01", 3, 0), ("d", "2024-01-01", 3, None)])
    before = data.copy()
    out = adoption(data)
    assert out["adoption"].iloc[:2].tolist() == [0.5, 1.2]
    assert out["adoption"].iloc[2:].isna().all()
    assert list(out.columns) == ["customer_id", "month", "active_users", "licensed_seats",
                                 "adoption"]
    pd.testing.assert_frame_equal(data, before)


def test_adoption_needs_licensed_seats():
    data = usage([("a", "2024-01-01", 5, 10)]).drop(columns="licensed_seats")
    with pytest.raises(ConfigError, match="usage has no licensed_seats column"):
        adoption(data)


def test_adoption_rate_counts_customers_at_or_above_the_threshold():
    # January: a 0.8, b 0.2, c exactly 0.5 (counts), d no seats (left out) -> 2 of 3;
    # median of 0.2, 0.5, 0.8 = 0.5. Wilson 95% for 2 of 3: [0.208, 0.939].
    data = usage([("a", "2024-01-01", 8, 10), ("b", "2024-01-01", 2, 10),
                  ("c", "2024-01-01", 5, 10), ("d", "2024-01-01", 5, None)])
    row = adoption_rate(data, threshold=0.5).iloc[0]
    assert (row["customers"], row["above_threshold"]) == (3, 2)
    assert row["share"] == pytest.approx(2 / 3)
    assert row["median_adoption"] == 0.5
    assert row["ci_low"] == pytest.approx(0.208, abs=0.001)
    assert row["ci_high"] == pytest.approx(0.939, abs=0.001)


def test_adoption_rate_per_month_uses_the_latest_month_as_complete():
    # January: a 0.9; February: a 0.3, b 0.6 -> January 1/1, February 1/2.
    data = usage([("a", "2024-01-01", 9, 10), ("a", "2024-02-01", 3, 10),
                  ("b", "2024-02-01", 6, 10)])
    out = adoption_rate(data)
    assert out["period"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02"]
    assert out["share"].tolist() == [1.0, 0.5]
    assert len(adoption_rate(data, as_of="2024-01")) == 1


def test_quarterly_adoption_averages_each_customers_months():
    # Q1: a 0.4, 0.6, 0.8 -> mean 0.6 (above 0.5); b 0.2 in January only -> below: 1 of 2.
    data = usage([("a", "2024-01-01", 4, 10), ("a", "2024-02-01", 6, 10),
                  ("a", "2024-03-01", 8, 10), ("b", "2024-01-01", 2, 10)])
    row = adoption_rate(data, freq="Q").iloc[0]
    assert (row["customers"], row["above_threshold"]) == (2, 1)
    assert row["median_adoption"] == pytest.approx(0.4)


def test_adoption_rate_by_segment_joins_customers():
    data = usage([("a", "2024-01-01", 8, 10), ("b", "2024-01-01", 2, 10),
                  ("c", "2024-01-01", 9, 10)])
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "segment": ["SMB", "SMB", "Enterprise"]})
    out = adoption_rate(data, by="segment", customers=customers).set_index("segment")
    assert out["share"].to_dict() == {"Enterprise": 1.0, "SMB": 0.5}


def test_a_month_where_nobody_has_seats_has_no_row():
    data = usage([("a", "2024-01-01", 8, 10), ("a", "2024-02-01", 8, None)])
    assert adoption_rate(data, as_of="2024-02")["period"].tolist() == [pd.Timestamp("2024-01-01")]


def test_adoption_threshold_must_be_a_non_negative_number():
    data = usage([("a", "2024-01-01", 8, 10)])
    with pytest.raises(ConfigError, match=r"`threshold` must be a number >= 0 \(e.g. 0.5\)"):
        adoption_rate(data, threshold="half")
    with pytest.raises(ConfigError, match="`threshold` must be a number"):
        adoption_rate(data, threshold=np.nan)


def test_key_feature_adoption_pools_users_over_customers():
    from csm_kit.adoption import key_feature_adoption

    # January: a 10 active / 5 on the key feature, b 10 / 0, c 20 / 15, d 0 active (left out).
    # User share (5 + 0 + 15) / 40 = 50%; customers using it 2 of 3.
    data = usage([("a", "2024-01-01", 10, 10), ("b", "2024-01-01", 10, 10),
                  ("c", "2024-01-01", 20, 20), ("d", "2024-01-01", 0, 5)])
    data["key_feature_users"] = pd.array([5, 0, 15, 0], dtype="Int64")
    row = key_feature_adoption(data).iloc[0]
    assert row[["customers", "using_key_feature", "active_users", "key_feature_users"]].tolist() == [
        3, 2, 40.0, 20.0]
    assert (row["user_share"], row["customer_share"]) == (0.5, pytest.approx(2 / 3))
    # Ratio interval with customers as units: residuals 5 − 0.5·10 = 0, −5, 15 − 10 = 5;
    # v = 3/40² × 50/2 = 0.046875, se 0.2165, half-width 0.4243.
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.0757, 0.9243), abs=1e-4)


def test_key_feature_adoption_needs_the_column():
    from csm_kit.adoption import key_feature_adoption

    with pytest.raises(ConfigError, match="key_feature_users"):
        key_feature_adoption(usage([("a", "2024-01-01", 10, 10)]))


def test_a_threshold_of_zero_is_allowed_and_counts_every_customer_with_seats():
    # a uses 0 of 10 seats, b 3 of 10: both are at or above 0 -> 2 of 2.
    data = usage([("a", "2024-01-01", 0, 10), ("b", "2024-01-01", 3, 10)])
    row = adoption_rate(data, threshold=0).iloc[0]
    assert (row["customers"], row["above_threshold"], row["share"]) == (2, 2, 1.0)
