"""NRR, GRR, net and gross MRR churn, quick ratio and expansion MRR, worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.errors import ConfigError
from csm_kit.revenue_retention import (
    expansion_mrr,
    gross_mrr_churn,
    gross_revenue_retention,
    net_mrr_churn,
    net_revenue_retention,
    quick_ratio,
)
from tests.test_revenue import five_customer_history, subscriptions


def expansion_beats_contraction() -> pd.DataFrame:
    """A 100 → 180 (expansion 80), B 100 → 50 (contraction 50), N new in February."""
    return subscriptions([
        ("A", "2024-01-01", None, 100.0), ("A", "2024-02-01", None, 80.0),
        ("B", "2024-01-01", "2024-02-01", 100.0), ("B", "2024-02-01", None, 50.0),
        ("N", "2024-02-01", None, 1000.0),
    ])


def test_expansion_lifts_nrr_above_one_while_grr_stays_below():
    # NRR = (180 + 50) / (100 + 100) = 1.15; GRR = (min(180,100) + 50) / 200 = 0.75.
    # N is new in February and is in neither.
    nrr = net_revenue_retention(expansion_beats_contraction(), as_of="2024-02")
    grr = gross_revenue_retention(expansion_beats_contraction(), as_of="2024-02")
    assert nrr[["customers", "start_mrr", "retained_mrr"]].values.tolist() == [[2, 200.0, 230.0]]
    assert nrr["rate"].tolist() == [pytest.approx(1.15)]
    assert grr["retained_mrr"].tolist() == [150.0] and grr["rate"].tolist() == [0.75]


def test_annual_nrr_compares_the_same_customers_twelve_months_apart():
    # Active at the end of Jan 2024: A 100, B 100. End of Jan 2025: A 120, B gone; C (new in
    # 2024) is excluded. NRR(12) = 120 / 200 = 0.6, GRR(12) = 100 / 200 = 0.5.
    subs = subscriptions([
        ("A", "2024-01-01", "2024-07-01", 100.0), ("A", "2024-07-01", None, 120.0),
        ("B", "2024-01-01", "2024-10-01", 100.0), ("C", "2024-03-01", None, 500.0),
    ])
    nrr = net_revenue_retention(subs, window_months=12, as_of="2025-01").set_index("month")
    grr = gross_revenue_retention(subs, window_months=12, as_of="2025-01").set_index("month")
    assert nrr.index.tolist() == [pd.Timestamp("2025-01-01")]
    assert nrr.loc["2025-01-01", "rate"] == 0.6 and grr.loc["2025-01-01", "rate"] == 0.5


def test_reactivated_customer_is_not_in_nrr_but_counts_when_it_started_the_window():
    # Five-customer history, June (window 1): start = end of May = A 150, C 100, E 80 = 330;
    # B reactivates in June but was not active at the end of May: NRR = 330 / 330 = 1.
    nrr = net_revenue_retention(five_customer_history(), as_of="2024-06").set_index("month")
    assert nrr.loc["2024-06-01", ["customers", "start_mrr", "retained_mrr", "rate"]].tolist() == [
        3, 330.0, 330.0, 1.0]


def test_grr_never_exceeds_nrr_or_one_by_group():
    customers = pd.DataFrame({"customer_id": list("ABCDE"), "csm": list("xyxyy")})
    for window in (1, 3):
        nrr = net_revenue_retention(five_customer_history(), window_months=window, by="csm",
                                    customers=customers, as_of="2024-06")
        grr = gross_revenue_retention(five_customer_history(), window_months=window, by="csm",
                                      customers=customers, as_of="2024-06")
        both = nrr["rate"].notna()
        assert (grr.loc[both, "rate"] <= nrr.loc[both, "rate"] + 1e-12).all()
        assert (grr.loc[both, "rate"] <= 1).all()


def test_window_must_be_a_positive_whole_number():
    with pytest.raises(ConfigError, match="`window_months` must be a whole number >= 1"):
        net_revenue_retention(five_customer_history(), window_months=0)


def four_customers_one_month() -> pd.DataFrame:
    """Start of February 1,000: A 400, B 300, C 200, D 100. In February D churns (100),
    C contracts 200 → 150 (50), A expands 400 → 500 (100)."""
    return subscriptions([
        ("A", "2024-01-01", None, 400.0), ("A", "2024-02-01", None, 100.0),
        ("B", "2024-01-01", None, 300.0),
        ("C", "2024-01-01", "2024-02-01", 200.0), ("C", "2024-02-01", None, 150.0),
        ("D", "2024-01-01", "2024-02-01", 100.0),
    ])


def test_source_document_net_mrr_churn_is_churn_plus_contraction_minus_expansion():
    # (100 + 50 − 100) / 1,000 = 5%.
    net = net_mrr_churn(four_customers_one_month(), as_of="2024-02").set_index("month")
    assert net.loc["2024-02-01", "rate"] == pytest.approx(0.05)
    assert net.loc["2024-02-01", ["start_mrr", "churn", "contraction", "expansion"]].tolist() == [
        1000.0, 100.0, 50.0, 100.0]


def test_gross_mrr_churn_is_churn_plus_contraction_over_start():
    # (100 + 50) / 1,000 = 15%; January starts at 0: undefined.
    gross = gross_mrr_churn(four_customers_one_month(), as_of="2024-02")
    assert pd.isna(gross["rate"].iloc[0]) and gross["rate"].iloc[1] == pytest.approx(0.15)


def test_net_mrr_churn_can_be_negative_and_can_subtract_reactivation():
    # Five-customer history, June: start 330, only B's reactivation of 150.
    # Default: (0 + 0 − 0) / 330 = 0; ChartMogul option: (0 − 150) / 330 = −0.4545.
    history = five_customer_history()
    june = pd.Timestamp("2024-06-01")
    assert net_mrr_churn(history, as_of="2024-06").set_index("month").loc[june, "rate"] == 0
    chartmogul = net_mrr_churn(history, include_reactivation=True, as_of="2024-06")
    assert chartmogul.set_index("month").loc[june, "rate"] == pytest.approx(-150 / 330)
    # March: only A's expansion of 50 on a start of 460 → −50 / 460.
    march = net_mrr_churn(history, as_of="2024-06").set_index("month").loc["2024-03-01", "rate"]
    assert march == pytest.approx(-50 / 460)


def test_quick_ratio_is_gains_over_losses():
    # Five-customer history, May: gains new 80, losses contraction 60 → 80 / 60.
    # March has no losses: undefined (NaN), not infinite.
    ratio = quick_ratio(five_customer_history(), as_of="2024-06").set_index("month")
    assert ratio.loc["2024-05-01", "rate"] == pytest.approx(80 / 60)
    assert pd.isna(ratio.loc["2024-03-01", "rate"])


def test_expansion_mrr_per_csm_credits_the_current_owner():
    customers = pd.DataFrame({"customer_id": list("ABCDE"), "csm": ["Ann", "Bob", "Bob", "Ann", "Ann"]})
    out = expansion_mrr(five_customer_history(), customers=customers, as_of="2024-06")
    # Only A expands (50, March); A belongs to Ann. Reactivation and new MRR are not expansion.
    assert out.groupby("csm")["expansion"].sum().to_dict() == {"Ann": 50.0, "Bob": 0.0}
    march = out[(out["month"] == "2024-03-01") & (out["csm"] == "Ann")]
    assert march[["expansion", "customers"]].values.tolist() == [[50.0, 1]]
    assert len(out) == 6 * 2  # every month x every csm


def test_expansion_mrr_without_groups_is_the_monthly_total():
    out = expansion_mrr(five_customer_history(), customers=None, by=None, as_of="2024-06")
    assert out["expansion"].tolist() == [0.0, 0.0, 50.0, 0.0, 0.0, 0.0]


def test_a_customer_who_churns_and_returns_inside_the_window_counts_at_its_window_end_mrr():
    # Three-month window ending April, so its start is the end of January: a 100 and b 100
    # (start 200, 2 customers). a leaves at the end of February and returns on 1 April at 130;
    # c starts in February (new inside the window: never counted).
    # NRR = (a 130 + b 100) / 200 = 1.15; GRR caps a at its 100: (100 + 100) / 200 = 1.0.
    subs = subscriptions([("a", "2024-01-01", "2024-03-01", 100.0),
                          ("a", "2024-04-01", None, 130.0),
                          ("b", "2024-01-01", None, 100.0),
                          ("c", "2024-02-01", None, 500.0)])
    nrr = net_revenue_retention(subs, window_months=3, as_of="2024-04")
    grr = gross_revenue_retention(subs, window_months=3, as_of="2024-04")
    assert nrr["month"].tolist() == [pd.Timestamp("2024-04-01")]  # the first 3-month window
    assert nrr[["customers", "start_mrr", "retained_mrr", "rate"]].values.tolist() == [
        [2, 200.0, 230.0, 1.15]]
    assert grr[["customers", "start_mrr", "retained_mrr", "rate"]].values.tolist() == [
        [2, 200.0, 200.0, 1.0]]
