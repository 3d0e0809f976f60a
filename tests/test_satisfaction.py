"""Tests for csm_kit.satisfaction: NPS, CSAT, CES and the NPS change test.

Expected numbers are worked out by hand in the comments. The adjusted-Wald NPS interval follows
Sauro & Lewis, *Quantifying the User Experience* (2nd ed.), ch. 5: add 3 to n and 3/4 to
promoters and detractors, then p~ - d~ +- 1.96 * sqrt((p~ + d~ - (p~ - d~)^2) / (n + 3)).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.satisfaction import ces, csat, nps, nps_categories, nps_change


def responses(scores, *, survey="nps", dates="2024-01-15", customers=None, **extra):
    """Survey responses with one row per score (customers c0, c1, ... unless given)."""
    n = len(scores)
    dates = [dates] * n if isinstance(dates, str) else dates
    ids = customers if customers is not None else [f"c{i}" for i in range(n)]
    frame = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(n)],
        "customer_id": pd.array(ids, dtype="str"),
        "date": pd.to_datetime(dates).astype("datetime64[ns]"),
        "survey": survey,
        "score": np.asarray(scores, dtype=float),
        **extra,
    })
    return frame


# --------------------------------------------------------------------------- NPS


def test_nps_of_100_promoters_40_detractors_60_passives_is_30_with_interval_18_8_to_40_3():
    # (100 - 40) / 200 = 30 points. Adjusted Wald: p~ = 100.75/203 = 0.4963, d~ = 40.75/203 =
    # 0.2007, centre 0.2956, var = (0.6970 - 0.0874)/203 = 0.003003, half = 1.96 * 0.0548 = 0.1074
    # -> [18.8, 40.3].
    surveys = responses([10] * 100 + [3] * 40 + [8] * 60, dates="2024-01-31")
    row = nps(surveys).iloc[0]
    assert row["value"] == 30.0
    assert (row["n"], row["promoters"], row["passives"], row["detractors"]) == (200, 100, 60, 40)
    assert row["ci_low"] == pytest.approx(18.8, abs=0.05)
    assert row["ci_high"] == pytest.approx(40.3, abs=0.05)


def test_five_promoters_of_five_give_nps_100_with_a_lower_bound_far_below_100():
    # p~ = 5.75/8 = 0.71875, d~ = 0.75/8 = 0.09375, centre 0.625,
    # var = (0.8125 - 0.390625)/8 = 0.052734, half = 1.96 * 0.22964 = 0.4501 -> low 17.5;
    # the high end (107.5) is clipped to 100.
    row = nps(responses([9, 10, 10, 9, 10], dates="2024-01-31"), min_n=30).iloc[0]
    assert row["value"] == 100.0
    assert row["ci_low"] == pytest.approx(17.49, abs=0.01)
    assert row["ci_high"] == 100.0
    assert row["small_sample"]


def test_scores_7_and_8_are_passives_and_6_is_a_detractor():
    # 9 promoter; 8, 7 passives; 6, 0 detractors: (1 - 2)/5 = -20.
    row = nps(responses([9, 8, 7, 6, 0], dates="2024-01-31")).iloc[0]
    assert (row["promoters"], row["passives"], row["detractors"]) == (1, 2, 2)
    assert row["value"] == -20.0


def test_nps_gives_one_row_per_month_with_responses_and_no_row_for_an_empty_month():
    # January: 10, 0 -> 0; February: none; March: 10 -> 100 (data ends 31 March).
    surveys = responses([10, 0, 10], dates=["2024-01-03", "2024-01-20", "2024-03-31"])
    out = nps(surveys)
    assert out["period"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-03"]
    assert out["value"].tolist() == [0.0, 100.0]


def test_nps_by_quarter_pools_the_months_of_the_quarter():
    # Q1: 10 (Jan), 0 (Mar), 9 (Mar) -> (2 - 1)/3 = 33.3.
    surveys = responses([10, 0, 9], dates=["2024-01-03", "2024-03-20", "2024-03-31"])
    out = nps(surveys, freq="Q")
    assert out["period"].tolist() == [pd.Timestamp("2024-01-01")]
    assert out["value"].iloc[0] == pytest.approx(100 / 3)


def test_nps_reads_only_nps_responses_whatever_their_case():
    surveys = pd.concat([
        responses([10], survey="NPS", dates="2024-01-31"),
        responses([1], survey="csat", dates="2024-01-31"),
        responses([1], survey="ces", dates="2024-01-31"),
    ])
    out = nps(surveys)
    assert out["n"].tolist() == [1]
    assert out["value"].tolist() == [100.0]


def test_small_sample_flag_marks_figures_from_fewer_than_min_n_responses():
    # January has 3 responses, February 2; min_n = 3 flags February only.
    surveys = responses([10, 9, 0, 10, 10], dates=["2024-01-05"] * 3 + ["2024-02-29"] * 2)
    assert nps(surveys, min_n=3)["small_sample"].tolist() == [False, True]


def test_default_as_of_leaves_out_a_partial_last_month_and_explicit_as_of_cuts_later_ones():
    # Data ends 2024-02-14, so February is incomplete; as_of="2024-01" also drops February.
    surveys = responses([10, 0], dates=["2024-01-10", "2024-02-14"])
    assert nps(surveys)["period"].dt.strftime("%Y-%m").tolist() == ["2024-01"]
    assert len(nps(surveys, as_of="2024-02")) == 2
    assert len(nps(surveys, as_of="2024-01-31")) == 1


def test_nps_by_segment_joins_the_customers_table():
    # SMB (a, b): 10, 0 -> 0; Enterprise (c): 9 -> 100.
    surveys = responses([10, 0, 9], customers=["a", "b", "c"], dates="2024-01-31")
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "segment": ["SMB", "SMB", "Enterprise"]})
    out = nps(surveys, by="segment", customers=customers)
    assert list(out.columns[:2]) == ["period", "segment"]
    by_segment = out.set_index("segment")["value"]
    assert (by_segment["SMB"], by_segment["Enterprise"]) == (0.0, 100.0)


def test_the_surveys_own_csm_column_wins_over_the_current_owner_in_customers():
    # The response was owned by Ana at the time; the account has since moved to Ben.
    surveys = responses([10], customers=["a"], dates="2024-01-31", csm=["Ana"])
    customers = pd.DataFrame({"customer_id": ["a"], "csm": ["Ben"]})
    assert nps(surveys, by="csm", customers=customers)["csm"].tolist() == ["Ana"]


def test_responses_of_customers_missing_from_customers_stay_under_a_missing_group():
    surveys = responses([10, 0], customers=["a", "zz"], dates="2024-01-31")
    customers = pd.DataFrame({"customer_id": ["a"], "segment": ["SMB"]})
    out = nps(surveys, by="segment", customers=customers)
    assert out["n"].sum() == 2
    assert out["segment"].isna().sum() == 1


def test_grouping_by_a_column_of_neither_table_names_the_column():
    surveys = responses([10], dates="2024-01-31")
    customers = pd.DataFrame({"customer_id": ["c0"], "segment": ["SMB"]})
    with pytest.raises(ConfigError, match=r"`by='region'` is neither a column of surveys"):
        nps(surveys, by="region", customers=customers)


def test_grouping_by_a_customer_column_without_customers_asks_for_them():
    with pytest.raises(ConfigError, match=r"`by='segment'`.*pass customers="):
        nps(responses([10], dates="2024-01-31"), by="segment")


def test_an_unknown_freq_is_refused():
    with pytest.raises(ConfigError, match=r"freq must be one of \['M', 'Q', 'Y'\], got 'W'"):
        nps(responses([10], dates="2024-01-31"), freq="W")


def test_a_negative_min_n_is_refused():
    with pytest.raises(ConfigError, match=r"`min_n` must be a whole number >= 0, got -1"):
        nps(responses([10], dates="2024-01-31"), min_n=-1)


def test_responses_without_a_score_are_left_out_with_a_warning():
    surveys = responses([10, np.nan], dates="2024-01-31")
    with pytest.warns(UserWarning, match="1 nps responses have no score"):
        assert nps(surveys)["n"].tolist() == [1]


def test_nps_categories_give_the_mix_of_each_month():
    # January: 10, 8, 8, 2 -> 1/4 promoters, 2/4 passives, 1/4 detractors.
    out = nps_categories(responses([10, 8, 8, 2], dates="2024-01-31")).iloc[0]
    assert (out["promoters_share"], out["passives_share"], out["detractors_share"]) == (
        0.25, 0.5, 0.25)
    assert out["n"] == 4


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=60), st.randoms())
def test_nps_lies_in_its_interval_range_and_row_order_never_changes_it(scores, rnd):
    surveys = responses(scores, dates="2024-01-31")
    shuffled = surveys.sample(frac=1, random_state=rnd.randint(0, 10_000))
    a, b = nps(surveys), nps(shuffled)
    pd.testing.assert_frame_equal(a, b)
    row = a.iloc[0]
    assert -100 <= row["ci_low"] <= row["ci_high"] <= 100
    assert -100 <= row["value"] <= 100
    shares = nps_categories(surveys).iloc[0]
    assert shares[["promoters_share", "passives_share", "detractors_share"]].sum() == (
        pytest.approx(1.0))


# --------------------------------------------------------------------------- NPS change


def _two_months():
    # January: 50 promoters, 30 passives, 20 detractors (NPS 30);
    # February: 60 promoters, 30 passives, 10 detractors (NPS 50).
    jan = responses([10] * 50 + [7] * 30 + [0] * 20, dates="2024-01-15")
    feb = responses([10] * 60 + [7] * 30 + [0] * 10, dates="2024-02-29")
    return pd.concat([jan, feb], ignore_index=True)


def test_nps_change_between_two_months_gives_the_difference_its_interval_and_p_value():
    # Adjusted: Jan p~ = 50.75/103, d~ = 20.75/103, var 0.0059159; Feb p~ = 60.75/103,
    # d~ = 10.75/103, var 0.0044517. Difference 0.19417, se = sqrt(0.0103676) = 0.10182,
    # z = 1.907, p = 2(1 - Phi(1.907)) = 0.0565, CI 19.42 +- 19.96 -> [-0.54, 39.37].
    res = nps_change(_two_months(), a="2024-01", b="2024-02")
    assert (res.nps_a, res.nps_b, res.n_a, res.n_b) == (30.0, 50.0, 100, 100)
    assert res.difference == pytest.approx(20.0)
    assert res.p_value == pytest.approx(0.0565, abs=0.0005)
    assert res.ci_low == pytest.approx(-0.54, abs=0.01)
    assert res.ci_high == pytest.approx(39.37, abs=0.01)


def test_nps_change_between_two_segments_compares_their_responses():
    surveys = _two_months()
    surveys["segment"] = np.where(surveys["date"].dt.month == 1, "SMB", "Enterprise")
    res = nps_change(surveys, a="SMB", b="Enterprise", by="segment")
    assert (res.nps_a, res.nps_b, res.difference) == (30.0, 50.0, pytest.approx(20.0))


def test_nps_change_to_a_month_without_responses_is_refused():
    with pytest.raises(ConfigError, match=r"`b=Timestamp\('2024-05-01.*has no NPS responses"):
        nps_change(_two_months(), a="2024-01", b="2024-05")


# --------------------------------------------------------------------------- CSAT and CES


def test_csat_with_8_of_10_in_the_top_two_boxes_is_80_percent():
    # Scores 5,5,5,4,4,4,4,4,3,1: 8 of 10 are 4 or 5. Mean 39/10 = 3.9.
    # Wilson 95% for 8/10 is [0.490, 0.943] (Wilson 1927; statsmodels gives the same).
    row = csat(responses([5, 5, 5, 4, 4, 4, 4, 4, 3, 1], survey="csat",
                         dates="2024-01-31")).iloc[0]
    assert (row["value"], row["n"], row["satisfied"], row["mean"]) == (0.8, 10, 8, 3.9)
    assert row["ci_low"] == pytest.approx(0.490, abs=0.001)
    assert row["ci_high"] == pytest.approx(0.943, abs=0.001)


def test_csat_on_a_seven_point_scale_counts_6_and_7_as_satisfied():
    # 7, 6, 5, 5 -> 2 of 4.
    row = csat(responses([7, 6, 5, 5], survey="csat", dates="2024-01-31"), scale=(1, 7)).iloc[0]
    assert row["value"] == 0.5


def test_csat_scores_outside_the_configured_scale_are_refused():
    with pytest.raises(ConfigError, match=r"1 csat scores lie outside the csat scale 1-5, e.g. 7; .*--survey-scales csat="):
        csat(responses([5, 7], survey="csat", dates="2024-01-31"))


def test_a_scale_that_is_not_two_whole_numbers_is_refused():
    with pytest.raises(ConfigError, match=r"`scale` must be \(lowest, highest\)"):
        csat(responses([5], survey="csat", dates="2024-01-31"), scale=(5, 1))


def test_ces_where_low_means_little_effort_counts_answers_below_the_midpoint():
    # 1-7 scale, midpoint 4. Scores 1, 1, 2, 5, 7: mean 16/5 = 3.2; low effort 1, 1, 2 -> 3/5.
    # t interval: sd = sqrt(28.8/4) = 2.683, se = 1.2, t(4) = 2.7764 -> 3.2 +- 3.332.
    row = ces(responses([1, 1, 2, 5, 7], survey="ces", dates="2024-01-31"),
              low_effort_is="low").iloc[0]
    assert (row["value"], row["low_effort"], row["low_effort_share"]) == (3.2, 3, 0.6)
    assert row["ci_low"] == pytest.approx(-0.132, abs=0.001)
    assert row["ci_high"] == pytest.approx(6.532, abs=0.001)


def test_ces_where_high_means_little_effort_counts_answers_above_the_midpoint():
    # Same answers; 5 and 7 are above 4 -> 2/5. The midpoint answer 4 is neutral either way.
    surveys = responses([1, 1, 2, 5, 7, 4], survey="ces", dates="2024-01-31")
    row = ces(surveys, low_effort_is="high").iloc[0]
    assert (row["low_effort"], row["low_effort_share"]) == (2, pytest.approx(2 / 6))


def test_ces_on_a_five_point_scale_uses_its_own_midpoint():
    # 1-5, midpoint 3, "high" is easy: 4 and 5 count, 3 does not -> 2 of 3.
    row = ces(responses([3, 4, 5], survey="ces", dates="2024-01-31"), scale=(1, 5),
              low_effort_is="high").iloc[0]
    assert row["low_effort"] == 2


def test_ces_direction_must_be_low_or_high():
    with pytest.raises(ConfigError, match=r"`low_effort_is` must be one of \['high', 'low'\]"):
        ces(responses([1], survey="ces", dates="2024-01-31"), low_effort_is="easy")


def test_ces_interval_is_missing_for_a_single_answer():
    row = ces(responses([2], survey="ces", dates="2024-01-31")).iloc[0]
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])


def test_nothing_here_warns_on_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nps(_two_months())
        csat(responses([5, 4], survey="csat", dates="2024-01-31"))


def test_ces_intervals_belong_to_their_own_group():
    # Agent x: 1, 3 -> mean 2, sd 1.414, se 1, t(1) = 12.706 -> [-10.71, 14.71];
    # agent y: a single answer -> no interval.
    surveys = responses([1, 3, 7], survey="ces", dates="2024-01-31", agent=["x", "x", "y"])
    out = ces(surveys, by="agent").set_index("agent")
    assert out.loc["x", "ci_low"] == pytest.approx(-10.706, abs=0.001)
    assert out.loc["x", "ci_high"] == pytest.approx(14.706, abs=0.001)
    assert np.isnan(out.loc["y", "ci_low"])


def test_surveys_without_responses_of_the_type_give_an_empty_table_with_its_columns():
    surveys = responses([5], survey="csat", dates="2024-01-31")
    out = ces(surveys)
    assert out.empty
    assert list(out.columns) == ["period", "value", "n", "low_effort", "low_effort_share",
                                 "ci_low", "ci_high", "small_sample"]


# --------------------------------------------------------------------------- survey settings


def test_csat_on_1_to_10_counts_9_and_10_as_satisfied():
    from csm_kit.data.survey_settings import survey_settings

    # 10, 9, 8, 7 on 1–10: top two boxes are 9–10 -> 2 of 4; on 0–10 the same.
    data = responses([10, 9, 8, 7], survey="csat", dates="2024-01-31")
    for scale in ("csat=1-10", "csat=0-10"):
        out = csat(data, settings=survey_settings(scales=scale))
        assert out[["satisfied", "value"]].values.tolist() == [[2, 0.5]]


def test_csat_satisfied_can_be_a_minimum_score_and_an_explicit_argument_wins():
    from csm_kit.data.survey_settings import survey_settings

    data = responses([10, 9, 8, 7], survey="csat", dates="2024-01-31")
    settings_8 = survey_settings(scales="csat=1-10", satisfied="csat=>=8")
    assert csat(data, settings=settings_8)["satisfied"].tolist() == [3]  # 10, 9, 8
    assert csat(data, settings=settings_8, satisfied=10)["satisfied"].tolist() == [1]
    assert csat(data, scale=(1, 10), satisfied="top-two-box")["satisfied"].tolist() == [2]


def test_ces_direction_comes_from_the_settings_unless_given():
    from csm_kit.data.survey_settings import survey_settings

    # 1, 2, 3 and 7 on 1–7 (midpoint 4): low = easy -> 1, 2, 3 (3 of 4); high = easy -> 7.
    data = responses([1, 2, 3, 7], survey="ces", dates="2024-01-31")
    high = survey_settings(ces_direction="high")
    assert ces(data)["low_effort"].tolist() == [3]
    assert ces(data, settings=high)["low_effort"].tolist() == [1]
    assert ces(data, settings=high, low_effort_is="low")["low_effort"].tolist() == [3]


def test_settings_must_be_survey_settings():
    with pytest.raises(ConfigError, match="SurveySettings"):
        csat(responses([5], survey="csat"), settings={"csat": (1, 10)})


# --------------------------------------------------------------------------- mutation survivors


def test_a_three_point_scale_is_the_narrowest_allowed():
    # On 1-3 the top two boxes are 2 and 3: answers 3, 2, 1 -> 2 of 3 satisfied.
    row = csat(responses([3, 2, 1], survey="csat", dates="2024-01-31"), scale=(1, 3)).iloc[0]
    assert (row["satisfied"], row["n"]) == (2, 3)


@pytest.mark.parametrize("scale", [(1, 2), ("low", "high"), (1,), (1, 5.5)])
def test_a_scale_too_narrow_or_not_two_whole_numbers_is_refused(scale):
    with pytest.raises(ConfigError, match=r"`scale` must be \(lowest, highest\) whole numbers at "
                                          r"least 2 apart, e.g. \(1, 5\), got "):
        csat(responses([1], survey="csat", dates="2024-01-31"), scale=scale)


def test_nps_change_returns_the_periods_it_was_asked_about():
    res = nps_change(_two_months(), a="2024-01", b="2024-02")
    assert (res.a, res.b) == ("2024-01", "2024-02")


def test_nps_change_by_quarter_reads_any_date_in_the_quarter_as_the_quarter():
    # _two_months() is all in Q1 2024 (NPS 40 over the 200 answers: 110 promoters,
    # 30 detractors); Q2 gets 1 promoter in May (NPS 100). "2024-02" names Q1, "2024-05" Q2.
    surveys = pd.concat([_two_months(), responses([10], dates="2024-05-20")], ignore_index=True)
    res = nps_change(surveys, a="2024-02", b="2024-05", freq="Q", as_of="2024-06")
    assert (res.nps_a, res.n_a, res.nps_b, res.n_b) == (40.0, 200, 100.0, 1)


def test_nps_change_between_segments_joins_customers_and_stops_at_as_of():
    # Customers a, b are SMB, c, d Enterprise. January: a 10, b 0 (SMB NPS 0), c 10, d 10
    # (Enterprise 100). February (after as_of): a 0, c 0 — left out.
    surveys = responses([10, 0, 10, 10, 0, 0], customers=["a", "b", "c", "d", "a", "c"],
                        dates=["2024-01-15"] * 4 + ["2024-02-15"] * 2)
    customers = pd.DataFrame({"customer_id": list("abcd"),
                              "segment": ["SMB", "SMB", "Enterprise", "Enterprise"]})
    res = nps_change(surveys, a="SMB", b="Enterprise", by="segment", customers=customers,
                     as_of="2024-01")
    assert (res.nps_a, res.n_a, res.nps_b, res.n_b) == (0.0, 2, 100.0, 2)


@pytest.mark.parametrize(("a", "b", "name", "value"), [("soon", "2024-02", "a", "soon"),
                                                       ("2024-01", "later", "b", "later")])
def test_nps_change_periods_that_are_not_dates_are_refused_by_name(a, b, name, value):
    with pytest.raises(ConfigError, match=rf"^`{name}` must be a date naming a period, "
                                          rf"e.g. '2024-01', got '{value}'$"):
        nps_change(_two_months(), a=a, b=b)


def test_nps_change_to_a_group_without_responses_names_a_and_the_groups_with_some():
    surveys = _two_months()
    surveys["segment"] = np.where(surveys["date"].dt.month == 1, "SMB", "Enterprise")
    with pytest.raises(ConfigError, match=r"^`a='Mid-market'` has no NPS responses in segment; "
                                          r"values with responses: \['Enterprise', 'SMB'\]$"):
        nps_change(surveys, a="Mid-market", b="SMB", by="segment")


def test_a_missing_period_lists_the_first_six_periods_with_responses_as_dates():
    # One answer in each month January-July 2024; asking for December 2023 shows six months.
    dates = [f"2024-{m:02d}-15" for m in range(1, 8)]
    shown = ", ".join(f"'2024-{m:02d}-01'" for m in range(1, 7))
    with pytest.raises(ConfigError, match=r"values with responses: \[" + shown + r"\]$"):
        nps_change(responses([10] * 7, dates=dates), a="2023-12", b="2024-01", as_of="2024-07")
