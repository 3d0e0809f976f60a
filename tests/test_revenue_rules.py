"""Average sale price and expansion MRR under the definition rules, by group and by engine.

Pins what the mutation run (issue #17) found unpinned: the ``definitions`` / ``timing`` /
``zero_mrr`` rules reaching :func:`average_sale_price`, its ``by`` grouping, the ``engine``
argument reaching the bridge, the integer counts and the row order of :func:`expansion_mrr`.
Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.errors import ConfigError
from csm_kit.revenue import average_sale_price
from csm_kit.revenue_retention import expansion_mrr
from tests.test_revenue import five_customer_history, subscriptions

MAY = pd.Timestamp("2024-05-01")


def asp_in_may(subs, **rules) -> tuple[float, int, float]:
    table = average_sale_price(subs, as_of="2024-05", **rules).set_index("month")
    row = table.loc[MAY]
    return (row["new"], row["new_customers"], row["asp"])


def upgrade_and_join_and_cancel_in_may() -> pd.DataFrame:
    """a joins on 3 May at 100 and adds 50 on 20 May; b joins on 10 May at 60 and leaves on
    25 May (never active at a month end)."""
    return subscriptions([
        ("a", "2024-05-03", None, 100.0),
        ("a", "2024-05-20", None, 50.0),
        ("b", "2024-05-10", "2024-05-25", 60.0),
    ])


def test_average_sale_price_at_month_end_takes_first_month_end_mrr_and_skips_join_and_cancel():
    # Month-end timing (the kit's default): a is new with its May-end MRR 100 + 50 = 150;
    # b is never active at a month end, so it is no sale. ASP = 150 / 1 = 150.
    subs = upgrade_and_join_and_cancel_in_may()
    assert asp_in_may(subs) == (150.0, 1, 150.0)


def test_average_sale_price_with_events_timing_books_the_mrr_at_conversion():
    # timing="events": a is new at 100 on 3 May (the +50 on 20 May is expansion), b is new at
    # 60 on 10 May (and churns on 25 May). New = 100 + 60 = 160 over 2 customers: ASP 80.
    subs = upgrade_and_join_and_cancel_in_may()
    assert asp_in_may(subs, timing="events") == (160.0, 2, 80.0)


def test_average_sale_price_follows_the_preset_named_in_definitions():
    # ChartMogul's preset books movements as they happen (timing="events"): as above, 160 / 2.
    subs = upgrade_and_join_and_cancel_in_may()
    assert asp_in_may(subs, definitions="chartmogul") == (160.0, 2, 80.0)


def test_an_explicit_timing_wins_over_the_presets_timing_in_average_sale_price():
    # ChartMogul's preset with timing="month_end": back to the month-end reading, 150 / 1.
    subs = upgrade_and_join_and_cancel_in_may()
    assert asp_in_may(subs, definitions="chartmogul", timing="month_end") == (150.0, 1, 150.0)


def paid_then_free_in_may() -> pd.DataFrame:
    """p pays 100 from 3 May and moves to a $0 plan on 20 May (still holding a subscription);
    q pays 100 from 6 May, open."""
    return subscriptions([
        ("p", "2024-05-03", "2024-05-20", 100.0),
        ("p", "2024-05-20", None, 0.0),
        ("q", "2024-05-06", None, 100.0),
    ])


def test_average_sale_price_under_zero_mrr_churn_skips_a_customer_at_zero_at_month_end():
    # zero_mrr="churn" (default): p has MRR 0 at the end of May, so it is not a customer then;
    # only q is new: 100 / 1.
    assert asp_in_may(paid_then_free_in_may()) == (100.0, 1, 100.0)


def test_average_sale_price_under_zero_mrr_active_counts_a_paid_customer_now_on_a_free_plan():
    # zero_mrr="active", month-end timing: p has paid and still holds a ($0) subscription at the
    # end of May, so it is an active new customer with month-end MRR 0; q is new at 100.
    # New = 0 + 100 = 100 over 2 customers: ASP 50.
    assert asp_in_may(paid_then_free_in_may(), zero_mrr="active") == (100.0, 2, 50.0)


def test_explicit_rules_win_over_the_presets_zero_mrr_and_timing_in_average_sale_price():
    # ChartMogul = events + zero_mrr "active". Forced to month_end: the zero_mrr="active"
    # month-end reading above, 100 / 2 = 50. Forced to month_end and zero_mrr "churn": the
    # default reading, 100 / 1.
    subs = paid_then_free_in_may()
    assert asp_in_may(subs, definitions="chartmogul", timing="month_end") == (100.0, 2, 50.0)
    assert asp_in_may(subs, definitions="chartmogul", timing="month_end",
                      zero_mrr="churn") == (100.0, 1, 100.0)


def test_average_sale_price_by_segment_splits_new_mrr_and_new_customers_per_group():
    # May: a 100 and c 50 (smb), b 300 (ent). June: d 70 (smb). Groups sorted, month-major:
    # May ent 300 / 1 = 300; May smb 150 / 2 = 75; June ent no sale (NaN); June smb 70 / 1.
    subs = subscriptions([
        ("a", "2024-05-02", None, 100.0), ("b", "2024-05-09", None, 300.0),
        ("c", "2024-05-15", None, 50.0), ("d", "2024-06-04", None, 70.0),
    ])
    customers = pd.DataFrame({"customer_id": list("abcd"),
                              "segment": ["smb", "ent", "smb", "smb"]})
    out = average_sale_price(subs, by="segment", customers=customers, as_of="2024-06")
    assert list(out.columns) == ["month", "segment", "new", "new_customers", "asp"]
    assert out["month"].tolist() == [MAY, MAY, pd.Timestamp("2024-06-01"),
                                     pd.Timestamp("2024-06-01")]
    assert out["segment"].tolist() == ["ent", "smb", "ent", "smb"]
    assert out["new"].tolist() == [300.0, 150.0, 0.0, 70.0]
    assert out["new_customers"].tolist() == [1, 2, 0, 1]
    np.testing.assert_array_equal(out["asp"].to_numpy(), [300.0, 75.0, np.nan, 70.0])


def test_average_sale_price_counts_new_customers_as_whole_numbers():
    # The ChartMogul example (3 × 100 + 7 × 50 over 10 customers): the count is an integer
    # column, not a float.
    subs = subscriptions([(f"g{i}", "2024-05-03", None, 100.0) for i in range(3)]
                         + [(f"s{i}", "2024-05-20", None, 50.0) for i in range(7)])
    out = average_sale_price(subs, as_of="2024-05")
    assert out["new_customers"].dtype == np.dtype("int64")
    assert out["new"].dtype == np.dtype("float64")
    assert out["new_customers"].tolist() == [10]


def test_average_sale_price_passes_the_engine_on_and_rejects_an_unknown_one():
    with pytest.raises(ConfigError, match="`engine` must be one of"):
        average_sale_price(five_customer_history(), as_of="2024-06", engine="spreadsheet")


def test_expansion_mrr_passes_the_engine_on_and_rejects_an_unknown_one():
    with pytest.raises(ConfigError, match="`engine` must be one of"):
        expansion_mrr(five_customer_history(), customers=None, by=None, as_of="2024-06",
                      engine="spreadsheet")


def test_expansion_mrr_counts_expanding_customers_as_whole_numbers():
    # Five-customer history: only A expands (50, March), so the counts are 0 0 1 0 0 0.
    out = expansion_mrr(five_customer_history(), customers=None, by=None, as_of="2024-06")
    assert out["customers"].dtype == np.dtype("int64")
    assert out["customers"].tolist() == [0, 0, 1, 0, 0, 0]


def test_expansion_mrr_rows_run_month_by_month_with_owners_in_name_order():
    # Three owners over the six months of the five-customer history: 6 × 3 rows, each month's
    # owners in name order (Ann, Bob, Cat), index 0..17. A (Cat's) expands 50 in March.
    owners = pd.DataFrame({"customer_id": list("ABCDE"),
                           "csm": ["Cat", "Ann", "Bob", "Ann", "Cat"]})
    out = expansion_mrr(five_customer_history(), customers=owners, as_of="2024-06")
    months = pd.date_range("2024-01-01", "2024-06-01", freq="MS")
    assert out["month"].tolist() == [m for m in months for _ in range(3)]
    assert out["csm"].tolist() == ["Ann", "Bob", "Cat"] * 6
    assert out.index.tolist() == list(range(18))
    march_cat = out[(out["month"] == "2024-03-01") & (out["csm"] == "Cat")]
    assert march_cat[["expansion", "customers"]].values.tolist() == [[50.0, 1]]
    assert out["expansion"].sum() == 50.0
