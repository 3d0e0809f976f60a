"""Tests for csm_kit.ltv: the three lifetime-value methods and their pure helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.ltv import (
    expected_lifetime_months,
    lifetime_value,
    ltv_from_arpa_and_churn,
    survival_extension,
)

# --- ltv_from_arpa_and_churn --------------------------------------------------------------


def test_the_source_example_100_a_year_for_ten_years_is_worth_1000():
    # "ARPU $100 x 10-year lifespan -> LTV $1,000": $100 a year, 10% yearly churn.
    assert ltv_from_arpa_and_churn(100, 0.10) == pytest.approx(1000.0)


def test_ltv_from_a_monthly_arpa_and_churn_is_arpa_times_average_lifespan():
    # $50 a month at 2% monthly churn: lifespan 1 / 0.02 = 50 months -> $2,500.
    assert ltv_from_arpa_and_churn(50.0, 0.02) == pytest.approx(2500.0)


def test_zero_churn_gives_missing_ltv_with_a_warning_and_keeps_the_series_index():
    churn = pd.Series([0.05, 0.0, np.nan], index=["Jan", "Feb", "Mar"])
    with pytest.warns(UserWarning, match=r"churn is 0 in 1 period\(s\)"):
        ltv = ltv_from_arpa_and_churn(100.0, churn)
    assert ltv.index.tolist() == ["Jan", "Feb", "Mar"]
    assert ltv.iloc[0] == pytest.approx(2000.0)  # 100 / 0.05
    assert ltv.iloc[1:].isna().all()


# --- expected_lifetime_months and the survival tail -------------------------------------

HAND_CURVE = pd.DataFrame({"months_since_start": [0, 1, 2, 3], "at_risk": [4, 4, 3, 1],
                           "churned": [0, 1, 1, 0], "survival": [1.0, 0.75, 0.5, 0.5]})


def test_expected_lifetime_is_the_sum_of_survival_over_the_horizon():
    assert expected_lifetime_months(HAND_CURVE, horizon_months=4) == pytest.approx(2.75)
    # A 2-month horizon only sums S(0) + S(1) = 1.75.
    assert expected_lifetime_months(HAND_CURVE, horizon_months=2) == pytest.approx(1.75)


def test_discounting_takes_t_over_12_years_off_month_t():
    # 1 + 0.75 * 1.1 ** (-1/12) = 1 + 0.75 * 0.992089 = 1.744067
    assert expected_lifetime_months(HAND_CURVE, horizon_months=2, discount_rate=0.10) == (
        pytest.approx(1.744067, abs=1e-6))


def test_the_curve_is_extended_past_the_data_at_the_pooled_tail_churn():
    # Last 2 months: 1 churn of 3 + 1 at risk = 1/4 -> S(4) = 0.5 * 0.75 = 0.375,
    # S(5) = 0.28125; sum over 6 months = 2.75 + 0.375 + 0.28125 = 3.40625.
    survival, hazard = survival_extension(HAND_CURVE, horizon_months=6, window=2)
    assert hazard == pytest.approx(0.25)
    assert survival.tolist() == pytest.approx([1, 0.75, 0.5, 0.5, 0.375, 0.28125])
    assert expected_lifetime_months(HAND_CURVE, horizon_months=6, window=2) == (
        pytest.approx(3.40625))


def test_a_constant_churn_curve_gives_the_simple_lifespan_over_a_long_horizon():
    # 10% a month: S(t) = 0.9 ** t, sum to infinity = 1 / 0.1 = 10 months (= simple method).
    curve = pd.DataFrame({"months_since_start": [0, 1, 2], "at_risk": [1000, 1000, 900],
                          "churned": [0, 100, 90], "survival": [1.0, 0.9, 0.81]})
    assert expected_lifetime_months(curve, horizon_months=600, window=2) == pytest.approx(10.0)


def test_an_empty_curve_has_no_expected_lifetime():
    assert np.isnan(expected_lifetime_months(HAND_CURVE.iloc[:0], horizon_months=3))


def test_bad_horizon_window_or_discount_is_a_config_error():
    with pytest.raises(ConfigError, match="`horizon_months` must be a whole number >= 1, got 0"):
        expected_lifetime_months(HAND_CURVE, horizon_months=0)
    with pytest.raises(ConfigError, match="`window` must be a whole number >= 1, got 2.5"):
        expected_lifetime_months(HAND_CURVE, window=2.5)
    with pytest.raises(ConfigError, match="`discount_rate` must be an annual rate above -1"):
        expected_lifetime_months(HAND_CURVE, discount_rate=-1)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
       st.integers(1, 40), st.floats(0.0, 0.5))
def test_expected_lifetime_lies_between_zero_and_the_horizon(drops, horizon, rate):
    survival = np.minimum.accumulate(np.concatenate([[1.0], drops]))
    curve = pd.DataFrame({"months_since_start": np.arange(len(survival)), "at_risk": 10,
                          "churned": 1, "survival": survival})
    lifetime = expected_lifetime_months(curve, horizon_months=horizon, discount_rate=rate)
    assert 1.0 - 1e-9 <= lifetime <= horizon + 1e-9


# --- lifetime_value on subscriptions ----------------------------------------------------


def four_customers():
    """Four customers at $100 a month from January 2024, observed to June 2024.

    A leaves on 1 March (last month-end February), B on 1 May (last April); C, D stay.
    Month:            Jan  Feb  Mar   Apr  May   Jun
    customers at end    4    4    3     3    2     2     ARPA $100 every month
    churn rate          -    0  1/4     0  1/3     0
    """
    return pd.DataFrame({
        "subscription_id": ["s1", "s2", "s3", "s4"],
        "customer_id": pd.Series(["A", "B", "C", "D"], dtype="str"),
        "start_date": pd.to_datetime(["2024-01-01"] * 4),
        "end_date": pd.to_datetime(["2024-03-01", "2024-05-01", None, None]),
        "mrr": [100.0] * 4,
    })


def test_simple_ltv_is_arpa_over_that_months_churn():
    # Mar: 100 / (1/4) = 400; May: 100 / (1/3) = 300; months with churn 0 are NaN.
    # June, the latest month, has churn 0: its LTV is NaN and a warning says so.
    with pytest.warns(UserWarning, match=r"churn is 0 in the latest month"):
        out = lifetime_value(four_customers(), as_of="2024-06-30")
    assert out["month"].dt.strftime("%Y-%m").tolist() == [
        "2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert out["arpa"].tolist() == [100.0] * 6
    assert out["ltv"].tolist() == pytest.approx([np.nan, np.nan, 400, np.nan, 300, np.nan],
                                                 nan_ok=True)
    assert (out["method"] == "simple").all()


def test_zero_churn_only_in_earlier_months_does_not_warn():
    import warnings

    # May (the as-of month) has churn 1/3; Jan, Feb and Apr have churn 0 and are NaN quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = lifetime_value(four_customers(), as_of="2024-05-31")
    assert out["ltv"].iloc[-1] == pytest.approx(300)


def test_smoothed_ltv_uses_the_trailing_mean_of_monthly_churn():
    # window 3 over rates (-, 0, 1/4, 0, 1/3, 0): full windows from April.
    # Apr mean (0 + 1/4 + 0)/3 = 1/12 -> 1200; May (1/4 + 0 + 1/3)/3 = 7/36 -> 514.29;
    # Jun (0 + 1/3 + 0)/3 = 1/9 -> 900.
    out = lifetime_value(four_customers(), method="smoothed", window=3, as_of="2024-06")
    assert out["churn_rate"].iloc[3:].tolist() == pytest.approx([1 / 12, 7 / 36, 1 / 9])
    assert out["ltv"].iloc[3:].tolist() == pytest.approx([1200, 3600 / 7, 900])
    assert out["ltv"].iloc[:3].isna().all()


def test_survival_ltv_sums_the_kaplan_meier_curve_times_arpa_and_margin():
    # Lifetimes: A churned at 2, B churned at 4, C and D censored at 5 (Jan -> Jun).
    # S(0..5) = 1, 1, 3/4, 3/4, 1/2, 1/2 -> 4.5 months over a 6-month horizon;
    # LTV = 100 * 0.8 * 4.5 = 360.
    out = lifetime_value(four_customers(), method="survival", horizon_months=6,
                         gross_margin=0.8, as_of="2024-06")
    assert out["lifetime_months"].iloc[-1] == pytest.approx(4.5)
    assert out["ltv"].iloc[-1] == pytest.approx(360.0)
    assert out["churn_rate"].isna().all()
    assert out[["horizon_months", "observed_months"]].iloc[-1].tolist() == [6, 6]


def test_survival_ltv_extends_the_curve_past_the_data():
    # window 2: months 4-5 have 1 churn of 3 + 2 at risk -> tail churn 1/5.
    # S(6) = 0.5 * 0.8 = 0.4, S(7) = 0.32 -> 4.5 + 0.72 = 5.22 months -> $522.
    out = lifetime_value(four_customers(), method="survival", horizon_months=8, window=2,
                         as_of="2024-06")
    assert out["tail_churn_rate"].iloc[-1] == pytest.approx(0.2)
    assert out["ltv"].iloc[-1] == pytest.approx(522.0)
    assert out["observed_months"].iloc[-1] == 6


def test_lifetime_value_rejects_unknown_methods_and_misplaced_options():
    subs = four_customers()
    with pytest.raises(ConfigError, match=r"`method` must be one of \['simple', 'smoothed', "
                                          r"'survival'\], got 'cohort'"):
        lifetime_value(subs, method="cohort")
    with pytest.raises(ConfigError, match="`discount_rate` applies only to method='survival'"):
        lifetime_value(subs, method="simple", discount_rate=0.1)
    with pytest.raises(ConfigError, match=r"`gross_margin` must be in \(0, 1\], got 80"):
        lifetime_value(subs, gross_margin=80)


# --------------------------------------------------------------------------- mutation survivors


def test_the_default_tail_pools_the_last_six_months_of_the_curve():
    # 8 months; the only churn is 5 of 10 in month 1. The last six months (2-7) have no churn,
    # so the default tail churn is 0; pooling seven (1-7) would give 5 / (10 + 6 * 5) = 1/8.
    curve = pd.DataFrame({"months_since_start": range(8), "at_risk": [10, 10] + [5] * 6,
                          "churned": [0, 5] + [0] * 6, "survival": [1.0] + [0.5] * 7})
    survival, hazard = survival_extension(curve, horizon_months=10)
    assert hazard == 0.0
    assert survival.tolist() == [1.0] + [0.5] * 9
    assert survival_extension(curve, horizon_months=10, window=7)[1] == pytest.approx(1 / 8)


def test_a_tail_with_nobody_at_risk_extends_the_curve_flat():
    # A curve padded to a 4-month grid: nobody reached months 2-3 (0 at risk, 0 churned), so
    # the tail churn over them is 0 (not 0/0) and S stays at 0.5 past the data.
    curve = pd.DataFrame({"months_since_start": [0, 1, 2, 3], "at_risk": [4, 4, 0, 0],
                          "churned": [0, 2, 0, 0], "survival": [1.0, 0.5, 0.5, 0.5]})
    survival, hazard = survival_extension(curve, horizon_months=6, window=2)
    assert hazard == 0.0
    assert survival.tolist() == [1.0, 0.5, 0.5, 0.5, 0.5, 0.5]


def test_a_tail_whose_last_customer_churns_has_churn_one_and_extends_at_zero_quietly():
    # Window 1: month 2 has 1 at risk, 1 churn -> tail churn 1/1 = 1; S(2) = 0.5 * 0 = 0 and
    # every later month stays 0, with no numpy warning about powers of zero along the way.
    import warnings

    curve = pd.DataFrame({"months_since_start": [0, 1, 2], "at_risk": [2, 2, 1],
                          "churned": [0, 1, 1], "survival": [1.0, 0.5, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        survival, hazard = survival_extension(curve, horizon_months=5, window=1)
    assert hazard == 1.0
    assert survival.tolist() == [1.0, 0.5, 0.0, 0.0, 0.0]


def test_survival_ltv_is_discounted_and_has_the_documented_columns():
    # four_customers: S(0) = S(1) = 1. Two months at 10% a year: 1 + 1.1 ** (-1/12)
    # = 1 + 0.992089 = 1.992089 months -> LTV = $100 * 1.992089 = $199.2089.
    out = lifetime_value(four_customers(), method="survival", horizon_months=2,
                         discount_rate=0.10, as_of="2024-06")
    assert out["lifetime_months"].iloc[-1] == pytest.approx(1.992089, abs=1e-6)
    assert out["ltv"].iloc[-1] == pytest.approx(199.2089, abs=1e-4)
    assert list(out.columns) == ["month", "arpa", "churn_rate", "lifetime_months", "ltv",
                                 "method", "horizon_months", "observed_months",
                                 "tail_churn_rate"]
    assert out["month"].dt.strftime("%Y-%m").tolist()[0] == "2024-01"
    assert out["arpa"].tolist() == [100.0] * 6
    assert (out["method"] == "survival").all()
