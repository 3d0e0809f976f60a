"""Tests for csm_kit.survival: customer lifetimes, survival curves, median lifetime, log-rank.

The Kaplan–Meier estimator itself (on plain durations) is tested in tests/test_stats.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.survival import customer_lifetimes, logrank_test, median_lifetime, survival_curve
from tests.test_stats import SIX_MP_EVENT, SIX_MP_TIMES

# Freireich et al. (1963) leukaemia remission times in weeks (the "gehan" data, R MASS); the
# 6-MP arm is in tests/test_stats.py. Placebo arm: every patient relapsed.
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


# --- customer_lifetimes: first spell, censoring -----------------------------------------


def months_frame(rows):
    ids, months = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"),
                         "month": pd.to_datetime(list(months))})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 11)),
                min_size=1, max_size=40),
       st.integers(0, 11))
def test_each_lifetime_is_the_first_run_of_consecutive_months_read_customer_by_customer(
        rows, last):
    # The documented rule, one customer at a time: the first spell runs from the first month
    # while the months follow one another; it churned when it ends by the as-of month, else
    # it is censored at as-of month − start. Any row order, repeats counted once.
    cm = months_frame([(c, f"2024-{m + 1:02d}-01") for c, m in rows])
    expected = []
    for customer in sorted({c for c, m in rows if m <= last}):
        months = sorted({m for c, m in rows if c == customer and m <= last})
        spell = 1
        while months[0] + spell in months:
            spell += 1
        churned = months[0] + spell <= last
        expected.append((customer, pd.Timestamp(2024, months[0] + 1, 1),
                         spell if churned else last - months[0], churned))
    out = customer_lifetimes(cm, as_of=f"2024-{last + 1:02d}")
    assert list(out.itertuples(index=False, name=None)) == expected


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


def test_logrank_p_value_of_strongly_separated_segments_is_tiny_but_not_zero():
    # 66 customers per segment. SMB: all churn at month 1; ENT: all still active at month 10.
    # One churn month (t=1): N = 132 at risk, d = 66 churns, all SMB (n_SMB = n_ENT = 66).
    # O_SMB = 66, E_SMB = d * 66/132 = 33, V = d * (1/2)(1/2)(N - d)/(N - 1) = 66*66/(4*131),
    # chi2 = (O - E)^2 / V = 33^2 * 4 * 131 / 66^2 = 131 on 1 df -> p = chi2.sf(131, 1) ~ 2.4e-30,
    # which 1 - cdf rounds to exactly 0.
    from scipy.stats import chi2

    subs = pd.concat([
        subscriptions_from_lifetimes([1] * 66, [1] * 66, prefix="a"),
        subscriptions_from_lifetimes([10] * 66, [0] * 66, prefix="b"),
    ], ignore_index=True)
    customers = pd.DataFrame({"customer_id": subs["customer_id"],
                              "segment": ["SMB"] * 66 + ["ENT"] * 66})
    result = logrank_test(subs, by="segment", customers=customers, as_of="2023-12")
    assert result.statistic == pytest.approx(131.0)
    assert result.p_value > 0
    assert result.p_value == pytest.approx(chi2.sf(131.0, 1), rel=1e-9)
    assert 1e-31 < result.p_value < 1e-29


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


# --------------------------------------------------------------------------- mutation survivors


def two_segments(smb, ent, *, as_of="2023-12"):
    """Subscriptions and customers of an SMB and an ENT segment: (durations, churned) each."""
    subs = pd.concat([subscriptions_from_lifetimes(*smb, as_of=as_of, prefix="s"),
                      subscriptions_from_lifetimes(*ent, as_of=as_of, prefix="e")],
                     ignore_index=True)
    customers = pd.DataFrame({"customer_id": subs["customer_id"],
                              "segment": ["SMB"] * len(smb[0]) + ["ENT"] * len(ent[0])})
    return subs, customers


def test_median_lifetime_per_segment_counts_a_curve_landing_exactly_on_one_half():
    # SMB: one churns after 1 month, one censored at 3 -> S(1) = 1 - 1/2 = 0.5 exactly: the
    # median is 1 month ("at or below one half"). ENT: nobody churns -> no median (NaN), but
    # the segment is still listed.
    subs, customers = two_segments(([1, 3], [1, 0]), ([2, 4], [0, 0]))
    medians = median_lifetime(subs, by="segment", customers=customers, as_of="2023-12")
    assert medians.index.tolist() == ["ENT", "SMB"]
    assert medians["SMB"] == 1.0
    assert np.isnan(medians["ENT"])
    # a tidy per-segment figure: the index is named after `by`, the values after the metric
    assert medians.reset_index().columns.tolist() == ["segment", "median_lifetime_months"]


def test_logrank_warning_points_at_the_caller_not_inside_the_survival_module():
    # stacklevel=2 names the line that called logrank_test (here this file; under mutmut its
    # trampoline stands in between, so the test only asks that it is not survival.py itself).
    import csm_kit.survival

    subs = subscriptions_from_lifetimes([1, 2], [1, 0])
    customers = pd.DataFrame({"customer_id": subs["customer_id"], "segment": "SMB"})
    with pytest.warns(UserWarning, match="found 1 group") as record:
        result = logrank_test(subs, by="segment", customers=customers, as_of="2023-12")
    assert record[0].filename != csm_kit.survival.__file__
    # one group: statistic and p-value missing, df 0, the one label reported
    assert np.isnan(result.statistic) and np.isnan(result.p_value)
    assert result.df == 0 and result.groups == ("SMB",)


def test_logrank_of_two_segments_without_a_churn_warns_and_keeps_one_degree_of_freedom():
    # Two groups -> df = 2 - 1 = 1, but with no churn there is nothing to compare.
    subs, customers = two_segments(([1, 2], [0, 0]), ([3], [0]))
    with pytest.warns(UserWarning, match=r"found 2 group\(s\) and 0 churn\(s\)"):
        result = logrank_test(subs, by="segment", customers=customers, as_of="2023-12")
    assert result.df == 1 and result.groups == ("ENT", "SMB")
    assert np.isnan(result.statistic) and np.isnan(result.p_value)
