"""Tests for csm_kit.stats: the Kaplan–Meier estimator on plain durations and its median.

Expected numbers are worked out by hand in the comments or cite their source (Kleinbaum &
Klein's 6-MP example, Stata's ``sts list``, statsmodels' SurvfuncRight).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.duration.survfunc import SurvfuncRight

from csm_kit.errors import ConfigError
from csm_kit.stats import kaplan_meier, mean_interval, median_survival_time, wilson_interval

# Freireich et al. (1963) leukaemia remission times in weeks (the "gehan" data, R MASS).
# 6-MP arm: 0 = censored.
SIX_MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


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


# --- median_survival_time ---------------------------------------------------------------


def test_median_is_the_first_month_at_or_below_one_half():
    # S(1) = 3/4, S(2) = 1/2 exactly -> median 2 (statsmodels' strict rule would say 3).
    km = kaplan_meier([1, 2, 3, 3], [True, True, True, False])
    assert median_survival_time(km) == 2.0


def test_median_is_missing_when_fewer_than_half_have_churned():
    assert np.isnan(median_survival_time(kaplan_meier([1, 5, 5], [True, False, False])))


def test_ratio_interval_is_the_ratio_estimators_linearised_variance():
    # Cochran (Sampling Techniques, 3rd ed., eq. 6.9): v(R) = (s_y² − 2R s_xy + R² s_x²) / (n x̄²),
    # computed here from numpy's sample (co)variances — a different route to the same number.
    import numpy as np
    import pandas as pd

    from csm_kit.stats import ratio_interval

    x = np.array([100.0, 250.0, 80.0, 400.0, 120.0])
    y = np.array([110.0, 200.0, 0.0, 480.0, 120.0])
    r = y.sum() / x.sum()
    cov = np.cov(x, y, ddof=1)
    var = (cov[1, 1] - 2 * r * cov[0, 1] + r * r * cov[0, 0]) / (len(x) * x.mean() ** 2)
    out = ratio_interval(pd.DataFrame({"x": x, "y": y}), numerator="y", denominator="x").iloc[0]
    assert out["ratio"] == pytest.approx(r)
    assert out["ci_high"] - out["ratio"] == pytest.approx(1.959964 * np.sqrt(var), rel=1e-6)


def test_ratio_interval_per_group_is_missing_for_one_unit_and_clipped_at_the_bounds():
    import pandas as pd

    from csm_kit.stats import ratio_interval

    f = pd.DataFrame({"g": ["a", "a", "b"], "x": [100.0, 100.0, 50.0], "y": [100.0, 0.0, 50.0]})
    out = ratio_interval(f, numerator="y", denominator="x", keys=["g"], upper=1.0)
    assert out.loc["a", "ratio"] == 0.5 and out.loc["a", "ci_low"] >= 0 and out.loc["a", "ci_high"] <= 1
    assert pd.isna(out.loc["b", "ci_low"]) and out.loc["b", "units"] == 1


# The intervals compute their normal and t quantiles with scipy.special and the Wilson bounds
# step for step as statsmodels does, so that a report kernel imports neither statsmodels nor
# scipy.stats for them. The references below are those libraries themselves: equal to the bit.

def test_wilson_interval_equals_statsmodels_proportion_confint_exactly():
    from statsmodels.stats.proportion import proportion_confint

    n = np.array([1, 2, 3, 5, 10, 37, 120, 1000, 98765], dtype=float)
    for confidence in (0.8, 0.9, 0.95, 0.99):
        for total in n:
            successes = np.arange(0, total + 1, max(1, total // 50))
            low, high = wilson_interval(successes, np.full_like(successes, total),
                                        confidence=confidence)
            ref_low, ref_high = proportion_confint(successes, np.full_like(successes, total),
                                                   alpha=1 - confidence, method="wilson")
            assert np.array_equal(low, np.clip(ref_low, 0.0, 1.0))
            assert np.array_equal(high, np.clip(ref_high, 0.0, 1.0))


def test_the_quantiles_equal_scipy_stats_exactly():
    from scipy import stats as scipy_stats

    from csm_kit.stats import _normal_quantile, _normal_tail

    p = np.concatenate([np.linspace(0.001, 0.999, 999), [0.5 + c / 2 for c in (0.8, 0.9, 0.95)]])
    assert np.array_equal(_normal_quantile(p), scipy_stats.norm.ppf(p))
    assert _normal_quantile(0.975) == scipy_stats.norm.ppf(0.975)
    z = np.linspace(0, 8, 801)
    assert np.array_equal(_normal_tail(z), scipy_stats.norm.sf(z))
    values = [3.0, 5.0, 4.0, 9.0, 1.0]
    mean, se = np.mean(values), np.std(values, ddof=1) / np.sqrt(len(values))
    t = scipy_stats.t.ppf(0.975, len(values) - 1)
    assert mean_interval(values) == (float(mean - t * se), float(mean + t * se))
