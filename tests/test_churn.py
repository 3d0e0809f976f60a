"""Logo churn rate: customers lost this month ÷ customers at the end of last month."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.churn import logo_churn_rate
from csm_kit.errors import ConfigError
from tests.test_revenue import five_customer_history, subscriptions


def test_source_document_rule_customers_lost_over_customers_at_end_of_last_month():
    # 100 customers at the end of January; 5 leave in February; 20 new ones join in February
    # and are not in February's denominator: 5 / 100 = 5%.
    rows = [(f"c{i:03d}", "2024-01-01", "2024-02-10" if i < 5 else None, 50.0) for i in range(100)]
    rows += [(f"n{i:03d}", "2024-02-05", None, 50.0) for i in range(20)]
    rate = logo_churn_rate(subscriptions(rows), as_of="2024-02").set_index("month")
    february = rate.loc[pd.Timestamp("2024-02-01")]
    assert (february["customers_start"], february["churned"], february["rate"]) == (100, 5, 0.05)
    # Wilson 95% interval for 5 of 100, by hand: centre (0.05 + 1.96²/200) / (1 + 1.96²/100)
    # = 0.06665, half-width 1.96·√(0.05·0.95/100 + 1.96²/40000) / 1.038416 = 0.04511.
    assert february["ci_low"] == pytest.approx(0.02154, abs=1e-4)
    assert february["ci_high"] == pytest.approx(0.11176, abs=1e-4)


def test_five_customer_history_churn_by_month():
    rate = logo_churn_rate(five_customer_history(), as_of="2024-06")
    # Starts of month (active at end of previous month): Feb A,B = 2; Mar A,B,C = 3;
    # Apr 3 and B churns; May A,C = 2; Jun A,C,E = 3. January starts with nobody: left out.
    assert rate["month"].dt.month.tolist() == [2, 3, 4, 5, 6]
    assert rate["customers_start"].tolist() == [2, 3, 3, 2, 3]
    assert rate["churned"].tolist() == [0, 0, 1, 0, 0]
    assert rate["rate"].tolist() == [0.0, 0.0, 1 / 3, 0.0, 0.0]


def test_join_and_leave_inside_a_month_counts_in_neither_numerator_nor_denominator():
    subs = subscriptions([("A", "2024-01-01", None, 10.0), ("D", "2024-02-03", "2024-02-20", 9.0)])
    rate = logo_churn_rate(subs, as_of="2024-03")
    assert rate["customers_start"].tolist() == [1, 1]
    assert rate["churned"].tolist() == [0, 0]


def test_cancelling_one_of_two_subscriptions_is_not_logo_churn():
    subs = subscriptions([("A", "2024-01-01", None, 10.0), ("A", "2024-01-01", "2024-02-01", 5.0)])
    assert logo_churn_rate(subs, as_of="2024-02")["churned"].tolist() == [0]


def test_reactivated_customer_churns_once_and_counts_again_after_its_return():
    # B: active Jan–Mar, gone at the end of April (churn), back in June.
    rate = logo_churn_rate(five_customer_history(), as_of="2024-07").set_index("month")
    assert rate.loc["2024-04-01", "churned"] == 1
    assert rate.loc["2024-07-01", "customers_start"] == 4  # A, B, C, E at the end of June


def test_churn_by_segment_uses_the_customers_current_segment():
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"],
                              "segment": ["SMB", "Ent", "SMB", "Ent", "Ent"]})
    rate = logo_churn_rate(five_customer_history(), by="segment", customers=customers,
                           as_of="2024-06")
    ent = rate[rate["segment"] == "Ent"].set_index("month")
    # Ent holds B (and E from May): April starts with B, who churns → 1 / 1.
    assert ent.loc["2024-04-01", ["customers_start", "churned", "rate"]].tolist() == [1, 1, 1.0]
    # May starts with no Ent customer: rate undefined, not 0.
    assert ent.loc["2024-05-01", "customers_start"] == 0 and pd.isna(ent.loc["2024-05-01", "rate"])
    assert set(rate.columns) == {"month", "segment", "customers_start", "churned", "rate",
                                 "ci_low", "ci_high"}


def test_logo_retention_is_one_minus_churn_and_lies_in_zero_one():
    rate = logo_churn_rate(five_customer_history(), as_of="2024-06")
    retention = 1 - rate["rate"]
    assert retention.between(0, 1).all()
    assert (rate["ci_low"] <= rate["rate"]).all() and (rate["rate"] <= rate["ci_high"]).all()


def test_by_needs_customers():
    with pytest.raises(ConfigError, match="`customers` is required"):
        logo_churn_rate(five_customer_history(), by="segment")


# --------------------------------------------------------------------------- logo retention


def test_monthly_logo_retention_is_one_minus_logo_churn_every_month_of_the_sample():
    import numpy as np

    from csm_kit import load_sample
    from csm_kit.churn import logo_retention_rate

    subs = load_sample().subscriptions
    churn = logo_churn_rate(subs)
    retention = logo_retention_rate(subs, window_months=1)
    assert retention["month"].tolist() == churn["month"].tolist()
    assert (retention["customers_start"] == churn["customers_start"]).all()
    assert np.allclose(retention["rate"], 1 - churn["rate"])
    # The Wilson interval mirrors: retention's bounds are 1 − churn's.
    assert np.allclose(retention["ci_low"], 1 - churn["ci_high"])


def test_logo_retention_over_windows_compares_only_the_two_month_ends():
    from csm_kit.churn import logo_retention_rate

    # Five-customer history: end of March A, B, C active (D never at a month end).
    # End of June A, B (back since 5 June), C, E active. Over 3 months (March -> June):
    # A, B, C all active at both ends: 3 of 3 — B's April churn is invisible to the window.
    three = logo_retention_rate(five_customer_history(), window_months=3, as_of="2024-06")
    june = three.set_index("month").loc[pd.Timestamp("2024-06-01")]
    assert (june["customers_start"], june["retained"], june["rate"]) == (3, 3, 1.0)
    # March -> May: B is gone at the end of May: 2 of 3.
    may = three.set_index("month").loc[pd.Timestamp("2024-05-01")]
    assert (may["customers_start"], may["retained"]) == (3, 2)
    # The first window-end month with customers 3 months earlier is April (January start).
    assert three["month"].dt.month.tolist() == [4, 5, 6]


def test_logo_retention_by_segment_and_its_checks():
    from csm_kit.churn import logo_retention_rate

    customers = pd.DataFrame({"customer_id": list("ABCDE"),
                              "segment": ["SMB", "Ent", "SMB", "SMB", "Ent"]})
    out = logo_retention_rate(five_customer_history(), by="segment", customers=customers,
                              as_of="2024-06").set_index(["month", "segment"])
    # April: Ent starts with B (churned in April): 0 of 1; SMB starts with A and C: 2 of 2.
    assert out.loc[(pd.Timestamp("2024-04-01"), "Ent"), ["customers_start", "retained"]].tolist() == [1, 0]
    assert out.loc[(pd.Timestamp("2024-04-01"), "SMB"), "rate"] == 1.0
    with pytest.raises(ConfigError, match="window_months"):
        logo_retention_rate(five_customer_history(), window_months=0)
