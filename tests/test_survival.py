"""Tests for csm_kit.survival: lifetimes, Kaplan–Meier curves, median lifetime, log-rank."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.duration.survfunc import SurvfuncRight

from csm_kit.errors import ConfigError
from csm_kit.survival import (
    customer_lifetimes,
    kaplan_meier,
    logrank_test,
    median_lifetime,
    median_survival_time,
    survival_curve,
)

# Freireich et al. (1963) leukaemia remission times in weeks (the "gehan" data, R MASS).
# 6-MP arm: 0 = censored. Placebo arm: every patient relapsed.
SIX_MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO_TIMES = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def subscriptions_from_lifetimes(durations, churned, *, as_of="2023-12", prefix="c"):
    """Subscriptions whose customers have exactly the given lifetimes as of ``as_of``.

    A churned customer starts in January 2020 and ends on the first day of month k after it
    (not active at that month's end: lifetime k). A censored one starts k months before
    as_of and never ends (active at as_of, k months after its start).
    """
    as_of_month = pd.Period(as_of, "M")
    starts, ends = [], []
    for k, event in zip(durations, churned, strict=True):
        if event:
            start = pd.Period("2020-01", "M")
            starts.append(start.start_time)
            ends.append((start + k).start_time)
        else:
            starts.append((as_of_month - k).start_time + pd.Timedelta(days=3))
            ends.append(pd.NaT)
    n = len(starts)
    return pd.DataFrame({
        "subscription_id": [f"s-{prefix}{i}" for i in range(n)],
        "customer_id": pd.Series([f"{prefix}{i:03d}" for i in range(n)], dtype="str"),
        "start_date": pd.Series(starts, dtype="datetime64[ns]"),
        "end_date": pd.Series(ends, dtype="datetime64[ns]"),
        "mrr": 100.0,
    })


def freireich_tables():
    six_mp = subscriptions_from_lifetimes(SIX_MP_TIMES, SIX_MP_EVENT, prefix="m")
    placebo = subscriptions_from_lifetimes(PLACEBO_TIMES, [1] * 21, prefix="p")
    subs = pd.concat([six_mp, placebo], ignore_index=True)
    customers = pd.DataFrame({
        "customer_id": subs["customer_id"],
        "signup_date": subs["start_date"],
        "segment": ["6-MP"] * 21 + ["placebo"] * 21,
    })
    return subs, customers


# --- kaplan_meier: the product-limit estimate on a month grid --------------------------


def test_kaplan_meier_matches_a_product_limit_worked_by_hand_on_six_customers():
    # lifetimes 1, 2, 2+, 3, 4+, 5+   (+ = still active, censored)
    # month 1: 6 at risk, 1 churns      S = 5/6            = 0.8333
    # month 2: 5 at risk, 1 churns      S = 5/6 * 4/5      = 0.6667 (one censored here)
    # month 3: 3 at risk, 1 churns      S = 4/6 * 2/3      = 0.4444
    # months 4, 5: nobody churns        S stays 0.4444
    km = kaplan_meier([1, 2, 2, 3, 4, 5], [True, True, False, True, False, False])
    assert km["months_since_start"].tolist() == [0, 1, 2, 3, 4, 5]
    assert km["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert km["churned"].tolist() == [0, 1, 1, 1, 0, 0]
    assert km["censored"].tolist() == [0, 0, 1, 0, 1, 1]
    assert km["survival"].tolist() == pytest.approx([1, 5 / 6, 4 / 6, 8 / 18, 8 / 18, 8 / 18])


def test_kaplan_meier_band_is_the_log_log_greenwood_interval_worked_by_hand():
    # Same six customers. Greenwood at month 3: 1/(6*5) + 1/(5*4) + 1/(3*2) = 0.25.
    # sigma = sqrt(0.25) / |ln 0.4444| = 0.5 / 0.81093 = 0.61657; z * sigma = 1.20845
    # low  = 0.4444 ** exp(+1.20845) = 0.4444 ** 3.3484  = 0.0662
    # high = 0.4444 ** exp(-1.20845) = 0.4444 ** 0.29865 = 0.7849
    # Month 1: Greenwood 1/30, sigma = 0.18257 / 0.18232 = 1.00136 -> (0.2731, 0.9747)
    km = kaplan_meier([1, 2, 2, 3, 4, 5], [True, True, False, True, False, False])
    assert km.loc[3, ["ci_low", "ci_high"]].tolist() == pytest.approx([0.0662, 0.7849], abs=1e-4)
    assert km.loc[1, ["ci_low", "ci_high"]].tolist() == pytest.approx([0.2731, 0.9747], abs=1e-4)
    assert km.loc[0, ["ci_low", "ci_high"]].tolist() == [1.0, 1.0]


def test_kaplan_meier_reproduces_the_freireich_6mp_textbook_curve():
    # Kleinbaum & Klein, Survival Analysis (3rd ed.), ch. 2, 6-MP group: S(6) = 0.857,
    # S(7) = 0.807, S(10) = 0.753, S(13) = 0.690, S(16) = 0.627, S(22) = 0.538, S(23) = 0.448.
    # Log-log 95% band at week 6 by hand: Greenwood 3/(21*18) = 0.0079365,
    # sigma = 0.089087 / 0.15415 = 0.57793, z*sigma = 1.13272 -> 0.857 ** 3.1041 = 0.6197,
    # 0.857 ** 0.32215 = 0.9516 (also what Stata's `sts list` prints for these data).
    km = kaplan_meier(SIX_MP_TIMES, np.array(SIX_MP_EVENT, dtype=bool)).set_index(
        "months_since_start")
    expected = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for week, survival in expected.items():
        assert km.loc[week, "survival"] == pytest.approx(survival, abs=5e-4)
    assert km.loc[9, "survival"] == km.loc[7, "survival"]  # flat between churns
    assert km.loc[6, ["ci_low", "ci_high"]].tolist() == pytest.approx([0.6197, 0.9516], abs=1e-4)
    assert km.loc[35, "at_risk"] == 1


def test_kaplan_meier_agrees_with_statsmodels_at_every_churn_month():
    rng = np.random.default_rng(7)
    durations = rng.integers(0, 24, size=200)
    churned = (rng.random(200) < 0.6) & (durations > 0)
    km = kaplan_meier(durations, churned).set_index("months_since_start")
    fit = SurvfuncRight(durations, churned.astype(int))
    months = fit.surv_times.astype(int)
    assert km.loc[months, "survival"].to_numpy() == pytest.approx(fit.surv_prob)
    assert km.loc[months, "at_risk"].tolist() == fit.n_risk.tolist()
    assert km.loc[months, "churned"].tolist() == fit.n_events.tolist()


def test_kaplan_meier_with_nobody_churned_stays_at_one():
    km = kaplan_meier([0, 3, 3], [False, False, False])
    assert km["survival"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert km["at_risk"].tolist() == [3, 2, 2, 2]


def test_kaplan_meier_band_is_missing_once_everyone_has_churned():
    km = kaplan_meier([1, 1], [True, True])
    assert km.loc[1, "survival"] == 0.0
    assert km.loc[1, ["ci_low", "ci_high"]].isna().all()


def test_kaplan_meier_of_no_customers_is_an_empty_table():
    km = kaplan_meier([], [])
    assert km.empty
    assert list(km.columns) == ["months_since_start", "at_risk", "churned", "censored",
                                "survival", "ci_low", "ci_high"]


def test_kaplan_meier_rejects_bad_input():
    with pytest.raises(ConfigError, match="`confidence` must be between 0 and 1, got 95"):
        kaplan_meier([1], [True], confidence=95)
    with pytest.raises(ConfigError, match="`durations` must be >= 0"):
        kaplan_meier([-1, 2], [True, False])
    with pytest.raises(ConfigError, match="same length"):
        kaplan_meier([1, 2], [True])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=40))
def test_kaplan_meier_is_a_falling_curve_inside_its_band_and_ignores_row_order(rows):
    durations = np.array([d for d, _ in rows])
    churned = np.array([c and d > 0 for d, c in rows])
    km = kaplan_meier(durations, churned)
    survival = km["survival"].to_numpy()
    assert survival[0] == 1.0
    assert np.all(np.diff(survival) <= 1e-12)
    assert np.all((survival >= 0) & (survival <= 1))
    inside = km["survival"].between(km["ci_low"] - 1e-12, km["ci_high"] + 1e-12)
    assert inside[km["ci_low"].notna()].all()
    assert km["at_risk"].iloc[0] == len(rows)
    assert km["churned"].sum() + km["censored"].sum() == len(rows)
    order = np.argsort(-durations, kind="stable")
    pd.testing.assert_frame_equal(kaplan_meier(durations[order], churned[order]), km)


# --- customer_lifetimes: first spell, censoring -----------------------------------------


def months_frame(rows):
    ids, months = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"),
                         "month": pd.to_datetime(list(months))})


def test_a_customer_still_active_at_as_of_is_censored_after_its_months_so_far():
    # Feb, Mar, Apr active; as of April: 2 months since start, not churned.
    cm = months_frame([("A", "2024-02-01"), ("A", "2024-03-01"), ("A", "2024-04-01")])
    out = customer_lifetimes(cm, as_of="2024-04-30")
    assert out[["months", "churned"]].values.tolist() == [[2, False]]
    assert out["start_month"].iloc[0] == pd.Timestamp("2024-02-01")


def test_a_customer_gone_before_as_of_churned_after_its_active_months():
    # Jan, Feb active, gone at end of March: lifetime 2 months (as of June).
    cm = months_frame([("A", "2024-01-01"), ("A", "2024-02-01")])
    assert customer_lifetimes(cm, as_of="2024-06").values[0, 2:].tolist() == [2, True]


def test_reactivation_is_ignored_and_the_first_spell_counts():
    # Jan; gap in Feb; Mar-Apr again. First spell = Jan only -> churned after 1 month.
    cm = months_frame([("A", "2024-01-01"), ("A", "2024-03-01"), ("A", "2024-04-01")])
    assert customer_lifetimes(cm, as_of="2024-04").values[0, 2:].tolist() == [1, True]


def test_months_after_as_of_are_ignored_and_late_starters_left_out():
    # As of February: A is active Jan-Feb (censored at 1); B starts in March (not counted);
    # A's gap in March is after as_of, so A is not churned.
    cm = months_frame([("A", "2024-01-01"), ("A", "2024-02-01"), ("B", "2024-03-01")])
    out = customer_lifetimes(cm, as_of="2024-02-29")
    assert out[["customer_id", "months", "churned"]].values.tolist() == [["A", 1, False]]


def test_a_customer_starting_in_the_as_of_month_is_censored_at_zero():
    cm = months_frame([("A", "2024-01-01"), ("B", "2024-03-01")])
    out = customer_lifetimes(cm)  # as_of = latest month in the frame = March
    assert out[["customer_id", "months", "churned"]].values.tolist() == [
        ["A", 1, True], ["B", 0, False]]


def test_customer_months_with_zero_mrr_do_not_extend_a_lifetime():
    cm = months_frame([("A", "2024-01-01"), ("A", "2024-02-01")]).assign(mrr=[50.0, 0.0])
    assert customer_lifetimes(cm, as_of="2024-03").values[0, 2:].tolist() == [1, True]


def test_lifetimes_keep_string_ids_and_ignore_row_order():
    cm = months_frame([("007", "2024-02-01"), ("007", "2024-01-01"), ("010", "2024-02-01")])
    out = customer_lifetimes(cm.iloc[::-1], as_of="2024-02")
    assert out["customer_id"].tolist() == ["007", "010"]
    assert out["months"].tolist() == [1, 0]


def test_lifetimes_of_no_customer_months_is_an_empty_table():
    out = customer_lifetimes(months_frame([("A", "2024-01-01")]).iloc[:0])
    assert out.empty and list(out.columns) == ["customer_id", "start_month", "months", "churned"]


# --- median_survival_time ---------------------------------------------------------------


def test_median_is_the_first_month_at_or_below_one_half():
    # S(1) = 3/4, S(2) = 1/2 exactly -> median 2 (statsmodels' strict rule would say 3).
    km = kaplan_meier([1, 2, 3, 3], [True, True, True, False])
    assert median_survival_time(km) == 2.0


def test_median_is_missing_when_fewer_than_half_have_churned():
    assert np.isnan(median_survival_time(kaplan_meier([1, 5, 5], [True, False, False])))


# --- survival_curve, median_lifetime and logrank_test on subscriptions ------------------


def test_survival_curve_from_subscriptions_reproduces_the_6mp_curve_per_segment():
    subs, customers = freireich_tables()
    curve = survival_curve(subs, by="segment", customers=customers, as_of="2023-12-31")
    six_mp = curve[curve["segment"] == "6-MP"].set_index("months_since_start")
    placebo = curve[curve["segment"] == "placebo"].set_index("months_since_start")
    assert six_mp.loc[23, "survival"] == pytest.approx(0.448, abs=5e-4)  # Kleinbaum & Klein
    # Placebo, all 21 relapse: S(8) = 8/21 (13 relapsed by week 8, counts 2+2+1+2+2+4).
    assert placebo.loc[8, "survival"] == pytest.approx(8 / 21)
    assert list(curve.columns[:2]) == ["segment", "months_since_start"]


def test_median_lifetime_per_segment_matches_the_textbook_medians():
    # Kleinbaum & Klein: median remission 23 weeks on 6-MP, 8 weeks on placebo.
    subs, customers = freireich_tables()
    medians = median_lifetime(subs, by="segment", customers=customers, as_of="2023-12")
    assert medians.to_dict() == {"6-MP": 23.0, "placebo": 8.0}
    # Both arms pooled (42): S(5) = 33/42; t=6: 33 at risk, 3 churn -> 30/42 = 0.714;
    # t=7: 29, 1 -> 0.690; t=8: 28, 4 -> 0.591; t=10: 23, 1 -> 0.565; t=11: 21, 2 -> 0.512;
    # t=12: 18 at risk, 2 churn -> 0.455 <= 0.5, so the pooled median is 12.
    assert median_lifetime(subs, as_of="2023-12") == pytest.approx(12.0)


def test_logrank_separates_6mp_from_placebo_as_r_survdiff_does():
    # R: survdiff(Surv(time, cens) ~ treat, data = MASS::gehan) -> Chisq = 16.8 on 1 df,
    # p = 4.17e-05.
    subs, customers = freireich_tables()
    result = logrank_test(subs, by="segment", customers=customers, as_of="2023-12")
    assert result.statistic == pytest.approx(16.79, abs=0.01)
    assert result.df == 1
    assert result.p_value == pytest.approx(4.17e-05, rel=0.01)
    assert result.p_value < 0.05
    assert result.groups == ("6-MP", "placebo")


def test_logrank_of_two_segments_with_identical_lifetimes_has_p_value_one():
    subs = pd.concat([
        subscriptions_from_lifetimes([1, 2, 3, 4], [1, 1, 0, 1], prefix="a"),
        subscriptions_from_lifetimes([1, 2, 3, 4], [1, 1, 0, 1], prefix="b"),
    ], ignore_index=True)
    customers = pd.DataFrame({"customer_id": subs["customer_id"],
                              "segment": ["SMB"] * 4 + ["ENT"] * 4})
    result = logrank_test(subs, by="segment", customers=customers, as_of="2023-12")
    assert result.statistic == pytest.approx(0.0, abs=1e-12)
    assert result.p_value == pytest.approx(1.0)


def test_logrank_with_one_segment_warns_and_returns_missing_values():
    subs = subscriptions_from_lifetimes([1, 2], [1, 0])
    customers = pd.DataFrame({"customer_id": subs["customer_id"], "segment": "SMB"})
    with pytest.warns(UserWarning, match="at least two `segment` groups"):
        result = logrank_test(subs, by="segment", customers=customers, as_of="2023-12")
    assert np.isnan(result.p_value) and result.df == 0


def test_survival_curve_by_a_segment_needs_the_customers_table():
    subs = subscriptions_from_lifetimes([1], [1])
    with pytest.raises(ConfigError, match="pass `customers=`"):
        survival_curve(subs, by="segment")
    with pytest.raises(ConfigError, match="`by` must be one of the customers columns"):
        survival_curve(subs, by="tier", customers=pd.DataFrame({"customer_id": ["c000"],
                                                                "segment": ["SMB"]}))


def test_customers_without_a_segment_are_left_out_with_a_warning():
    subs = subscriptions_from_lifetimes([1, 2, 3], [1, 1, 0])
    customers = pd.DataFrame({"customer_id": ["c000", "c001"], "segment": ["SMB", None]})
    with pytest.warns(UserWarning, match=r"2 customer\(s\) have no `segment`"):
        curve = survival_curve(subs, by="segment", customers=customers, as_of="2023-12")
    assert curve["segment"].unique().tolist() == ["SMB"]
    assert curve["at_risk"].iloc[0] == 1


def test_default_as_of_counts_a_customer_gone_before_the_data_ends_as_churned():
    # A (Jan-Feb) leaves on 1 March; B runs Jan-May. Data reaches 31 May, so as_of = May and
    # A churned after 2 months (not censored in February).
    subs = pd.DataFrame({
        "subscription_id": ["s1", "s2"], "customer_id": ["A", "B"],
        "start_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
        "end_date": pd.to_datetime(["2024-03-01", "2024-06-01"]), "mrr": [10.0, 10.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = survival_curve(subs)
    assert curve["churned"].tolist() == [0, 0, 1, 0, 0]
    assert curve["censored"].tolist() == [0, 0, 0, 0, 1]
    assert curve["survival"].tolist() == [1.0, 1.0, 0.5, 0.5, 0.5]
