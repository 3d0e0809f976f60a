"""Adoption rate and key-feature adoption: edge counts, the as-of cut, groups and the errors it raises.

Pins what the mutation run (issue #17) found unpinned: the whole message for a missing
column, a customer with exactly one (key-feature) user, the ``as_of`` cut, the customers
missing from the ``by`` lookup, and the table named in the grouping error. Expected numbers
are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.adoption import adoption, adoption_rate, key_feature_adoption
from csm_kit.errors import ConfigError
from tests.test_adoption import usage as seats


def test_key_feature_adoption_without_the_column_says_which_column_and_how_to_map_it():
    usage = pd.DataFrame({"customer_id": ["a"], "month": pd.to_datetime(["2024-01-01"]),
                          "active_users": [10], "licensed_seats": [10]})
    with pytest.raises(ConfigError) as raised:
        key_feature_adoption(usage)
    assert str(raised.value) == (
        "usage has no key_feature_users column; key-feature adoption needs the active users "
        "of the key feature (map your column to key_feature_users)")


def usage(rows):
    """rows: (customer_id, month, active_users, key_feature_users)."""
    return seats(rows, last="key_feature_users")


COUNTS = ["customers", "using_key_feature", "active_users", "key_feature_users"]


def test_a_customer_with_one_active_user_who_uses_the_key_feature_counts_as_using_it():
    # January: a has 1 active user, on the key feature; b has 4 active users, none on it.
    # Both have active users: 2 customers, 1 using it; users 1 + 4 = 5, on it 1:
    # user share 1/5 = 0.2, customer share 1/2.
    row = key_feature_adoption(usage([("a", "2024-01-01", 1, 1),
                                      ("b", "2024-01-01", 4, 0)])).iloc[0]
    assert row[COUNTS].tolist() == [2, 1, 5.0, 1.0]
    assert (row["user_share"], row["customer_share"]) == (0.2, 0.5)


def test_the_customer_share_interval_is_wilson_on_customers_using_it_over_customers():
    # 1 of 2 customers uses it (as above). Wilson 95%, z = 1.959964, z² = 3.841459, n = 2:
    # centre (0.5 + z²/4) / (1 + z²/2) = 1.460365 / 2.920729 = 0.5; half-width
    # z·√(0.25/2 + z²/16) / 2.920729 = 1.959964 × 0.604228 / 2.920729 = 0.405469.
    row = key_feature_adoption(usage([("a", "2024-01-01", 1, 1),
                                      ("b", "2024-01-01", 4, 0)])).iloc[0]
    assert (row["customer_ci_low"], row["customer_ci_high"]) == pytest.approx(
        (0.094531, 0.905469), abs=1e-5)


def test_key_feature_adoption_stops_at_the_as_of_month():
    # January: a 10 users, 5 on it. February: a 10 users, 10 on it. as_of January: only the
    # January period, user share 5/10.
    data = usage([("a", "2024-01-01", 10, 5), ("a", "2024-02-01", 10, 10)])
    out = key_feature_adoption(data, as_of="2024-01")
    assert out["period"].tolist() == [pd.Timestamp("2024-01-01")]
    assert out["user_share"].tolist() == [0.5]


def test_key_feature_adoption_keeps_customers_missing_from_the_lookup_in_a_missing_group():
    # a (smb) 4 users, 1 on it; b (ent) 10, 0; c and d are not in customers: 5, 5 and 3, 0.
    # Groups sorted, missing last: ent 1 customer, 0 using, 10/0; smb 1, 1, 4/1;
    # missing 2 customers, 1 using, users 5 + 3 = 8, on it 5: user share 5/8.
    data = usage([("a", "2024-01-01", 4, 1), ("b", "2024-01-01", 10, 0),
                  ("c", "2024-01-01", 5, 5), ("d", "2024-01-01", 3, 0)])
    customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["smb", "ent"]})
    out = key_feature_adoption(data, by="segment", customers=customers)
    assert out["segment"].iloc[:2].tolist() == ["ent", "smb"]
    assert pd.isna(out["segment"].iloc[2])
    assert out[COUNTS].values.tolist() == [[1, 0, 10.0, 0.0], [1, 1, 4.0, 1.0],
                                           [2, 1, 8.0, 5.0]]
    np.testing.assert_allclose(out["user_share"].to_numpy(), [0.0, 0.25, 5 / 8])


def test_grouping_key_feature_adoption_by_a_column_it_lacks_names_the_usage_table():
    data = usage([("a", "2024-01-01", 10, 5)])
    with pytest.raises(ConfigError, match="`by='segment'` is not a column of usage; pass "
                                          "customers="):
        key_feature_adoption(data, by="segment")


def test_adoption_rate_keeps_customers_missing_from_the_lookup_in_a_missing_group():
    # a (smb) 8/10 = 0.8, b (ent) 2/10 = 0.2; c 6/10 = 0.6 and d 3/10 = 0.3 are not in
    # customers. Threshold 0.5, groups sorted, missing last: ent 1 customer, 0 above, median
    # 0.2; smb 1, 1, 0.8; missing 2 customers, 1 above (c), median (0.6 + 0.3) / 2 = 0.45.
    data = seats([("a", "2024-01-01", 8, 10), ("b", "2024-01-01", 2, 10),
                  ("c", "2024-01-01", 6, 10), ("d", "2024-01-01", 3, 10)])
    customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["smb", "ent"]})
    out = adoption_rate(data, by="segment", customers=customers)
    assert out["segment"].iloc[:2].tolist() == ["ent", "smb"]
    assert pd.isna(out["segment"].iloc[2])
    assert out[["customers", "above_threshold"]].values.tolist() == [[1, 0], [1, 1], [2, 1]]
    np.testing.assert_allclose(out["median_adoption"].to_numpy(), [0.2, 0.8, 0.45])
    np.testing.assert_allclose(out["share"].to_numpy(), [0.0, 1.0, 0.5])


def test_grouping_adoption_rate_by_a_column_it_lacks_names_the_usage_table():
    data = seats([("a", "2024-01-01", 8, 10)])
    with pytest.raises(ConfigError, match="`by='segment'` is not a column of usage; pass "
                                          "customers="):
        adoption_rate(data, by="segment")


def test_adoption_of_a_customer_with_a_single_seat_is_its_users_over_that_seat():
    # a has 1 licensed seat and 1 active user: 1/1 = 1.0 (only 0 seats is unknown).
    out = adoption(seats([("a", "2024-01-01", 1, 1)]))
    assert out["adoption"].tolist() == [1.0]


def test_adoption_without_seats_says_which_column_and_how_to_map_it():
    data = seats([("a", "2024-01-01", 1, 1)]).drop(columns="licensed_seats")
    with pytest.raises(ConfigError) as raised:
        adoption(data)
    assert str(raised.value) == (
        "usage has no licensed_seats column; adoption = active users ÷ licensed seats needs "
        "it (map your seats column to licensed_seats)")
