"""Backtest: AUC, churn labels over the horizon, lift, calibration and suggested weights."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.backtest import auc, backtest, churn_history
from csm_kit.health.bands import suggest_bands

# --------------------------------------------------------------------------- AUC


def test_auc_of_a_perfect_ranking_is_one():
    assert auc([4, 3, 2, 1], [True, True, False, False]) == 1.0


def test_auc_with_one_swapped_pair_out_of_four_is_three_quarters():
    # churners 4 and 2, stayers 3 and 1: pairs (4,3) (4,1) (2,1) right, (2,3) swapped
    assert auc([4, 2, 3, 1], [True, True, False, False]) == 0.75


def test_auc_counts_ties_as_half_and_a_constant_score_is_a_coin_toss():
    # churner 2 vs stayers 2 (tie, 1/2) and 1 (right): (0.5 + 1) / 2
    assert auc([2, 2, 1], [True, False, False]) == 0.75
    assert auc([5, 5, 5, 5], [True, False, True, False]) == 0.5


def test_auc_ignores_missing_risks_and_is_nan_without_both_outcomes():
    assert auc([4, np.nan, 1], [True, True, False]) == 1.0
    assert np.isnan(auc([1, 2], [False, False]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=30))
def test_auc_matches_scipys_mann_whitney_u(rows):
    risk, churned = (np.array(v) for v in zip(*rows, strict=True))
    if churned.all() or not churned.any():
        return
    u = mannwhitneyu(risk[churned], risk[~churned]).statistic
    assert auc(risk, churned) == pytest.approx(u / (churned.sum() * (~churned).sum()))
    assert auc(-risk, churned) == pytest.approx(1 - auc(risk, churned))


# --------------------------------------------------------------------------- a tiny company


ONE_COMPONENT = {"components": {
    "adoption": {"signal": "adoption", "method": "linear", "low": 0, "high": 1,
                 "direction": "higher_is_better", "weight": 0.5},
    "nps": {"signal": "nps_latest", "method": "linear", "low": 0, "high": 10,
            "direction": "higher_is_better", "weight": 0.5}}}


def tiny_company() -> Dataset:
    """40 customers since January 2023; the 20 even ones cancel on 15 March 2024.

    Churners use 10% of their seats, stayers 90%, except churner c00 who uses 90% too.
    NPS answers (November 2023) are unrelated to churn. Usage runs to December 2024.
    """
    ids = np.array([f"c{i:02d}" for i in range(40)])
    churner = np.arange(40) % 2 == 0
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    usage = pd.DataFrame({"customer_id": np.repeat(ids, len(months)),
                          "month": np.tile(months, len(ids))})
    left = np.repeat(churner, len(months)) & (usage["month"] >= "2024-03-01")
    usage = usage[~left]
    busy = ~usage["customer_id"].map(dict(zip(ids, churner, strict=True))) \
        | (usage["customer_id"] == "c00")
    usage = usage.assign(active_users=np.where(busy, 9, 1), licensed_seats=10)
    return Dataset(
        customers=pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2023-01-01")}),
        subscriptions=pd.DataFrame({
            "customer_id": ids, "mrr": 100.0, "start_date": pd.Timestamp("2023-01-01"),
            "end_date": np.where(churner, pd.Timestamp("2024-03-15"), pd.NaT)}),
        usage=usage.reset_index(drop=True),
        surveys=pd.DataFrame({"customer_id": ids, "survey": "nps",
                              "date": pd.Timestamp("2023-11-15"),
                              "score": (np.arange(40) * 7 % 11).astype(float)}),
    )


@pytest.fixture(scope="module")
def tiny_result():
    return backtest(tiny_company(), config=ONE_COMPONENT, seed=1)


def test_default_scoring_days_are_the_month_ends_12_to_3_months_before_the_data_end(tiny_result):
    # data ends December 2024 -> 31 Dec 2023 ... 30 Sep 2024
    assert [f"{d:%Y-%m-%d}" for d in tiny_result.as_of_dates] == [
        f"{d:%Y-%m-%d}" for d in pd.date_range("2023-12-31", "2024-09-30", freq="ME")]


def test_churners_are_labelled_on_the_days_they_were_still_active(tiny_result):
    # churners are active on 31 Dec, 31 Jan and 29 Feb (3 dates x 20), stayers on all 10
    scores = tiny_result.scores
    assert len(scores) == 20 * 3 + 20 * 10
    assert scores["churned"].sum() == 60
    assert scores.loc[scores["churned"], "as_of"].dt.strftime("%m").unique().tolist() == \
        ["12", "01", "02"]


def test_auc_on_the_tiny_company_counts_the_tied_churner_as_half(tiny_result):
    # the adoption component alone: 57 churner-dates at risk 90 beat all 200 stayer-dates
    # (risk 10); c00's 3 dates tie with them: (57*200 + 0.5*3*200) / (60*200) = 0.975
    assert tiny_result.component_auc["adoption"] == pytest.approx(0.975)
    scores = tiny_result.scores
    u = mannwhitneyu(100 - scores.loc[scores["churned"], "score"],
                     100 - scores.loc[~scores["churned"], "score"]).statistic
    assert tiny_result.auc == pytest.approx(u / (60 * 200))


def test_lift_is_each_bands_churn_rate_over_the_overall_rate(tiny_result):
    lift = tiny_result.lift.set_index("band")
    overall = 60 / 260
    assert lift["customers"].sum() == 260 and lift["churned"].sum() == 60
    assert lift["churn_rate"].tolist() == pytest.approx((lift["churned"] / lift["customers"]).tolist())
    assert lift["lift"].tolist() == pytest.approx((lift["churn_rate"] / overall).tolist())
    assert list(lift.index) == [b for b in ("red", "yellow", "green") if b in lift.index]


def test_calibration_deciles_cover_every_customer_date_in_score_order(tiny_result):
    cal = tiny_result.calibration
    assert cal["customers"].sum() == 260 and cal["churned"].sum() == 60
    assert cal["decile"].is_monotonic_increasing and cal["decile"].between(1, 10).all()
    assert (cal["score_min"].iloc[1:].to_numpy() > cal["score_max"].iloc[:-1].to_numpy()).all()


def test_suggested_weights_are_non_negative_sum_to_one_and_favour_the_real_signal(tiny_result):
    w = tiny_result.suggested_weights
    assert list(w.index) == ["adoption", "nps"]
    assert (w >= 0).all() and w.sum() == pytest.approx(1)
    assert w["adoption"] > w["nps"]


def test_held_out_aucs_are_measured_on_the_held_out_customers_only(tiny_result):
    # Held out (seed 1): c00, c06, c16, c22, c28 (churners, 3 dates each = 15 churner-dates)
    # and c03, c07, c09, c15, c17, c23, c29 (stayers, 10 dates each = 70 stayer-dates).
    # NPS is unrelated to churn among the training customers (negative coefficient, clipped),
    # so the suggested weights are adoption 1, NPS 0: risk = 100 − adoption score. c06, c16,
    # c22, c28 (risk 90) beat all 70 stayer-dates (risk 10); c00 (90% of seats, risk 10) ties
    # with them: (12·70 + ½·3·70) / (15·70) = 945 / 1050 = 0.9.
    scores = tiny_result.scores
    held = scores[scores["split"] == "test"]
    assert sorted(held["customer_id"].unique()) == ["c00", "c03", "c06", "c07", "c09", "c15",
                                                    "c16", "c17", "c22", "c23", "c28", "c29"]
    assert tiny_result.suggested_weights.tolist() == pytest.approx([1.0, 0.0])
    assert tiny_result.held_out_auc_suggested == pytest.approx(0.9)
    # With the configured weights: the Mann–Whitney U of the held-out rows alone.
    u = mannwhitneyu(100 - held.loc[held["churned"], "score"],
                     100 - held.loc[~held["churned"], "score"]).statistic
    assert tiny_result.held_out_auc_default == pytest.approx(u / (15 * 70))


def test_suggested_weights_are_fitted_without_the_held_out_customers(tiny_result):
    # Turn the held-out customers' data upside down (seats used 1 <-> 9, NPS s -> 10 − s):
    # the split depends only on the customer ids and the seed, so the training rows, and
    # therefore the suggested weights, must not move; the held-out AUC must.
    held = set(tiny_result.scores.loc[tiny_result.scores["split"] == "test", "customer_id"])
    flipped = tiny_company()
    usage, surveys = flipped.usage, flipped.surveys
    usage.loc[usage["customer_id"].isin(held), "active_users"] = \
        10 - usage.loc[usage["customer_id"].isin(held), "active_users"]
    surveys.loc[surveys["customer_id"].isin(held), "score"] = \
        10 - surveys.loc[surveys["customer_id"].isin(held), "score"]
    result = backtest(flipped, config=ONE_COMPONENT, seed=1)
    pd.testing.assert_series_equal(result.suggested_weights, tiny_result.suggested_weights)
    assert result.held_out_auc_default < 0.5 < tiny_result.held_out_auc_default


def test_held_out_split_is_by_customer(tiny_result):
    per_customer = tiny_result.scores.groupby("customer_id")["split"].nunique()
    assert (per_customer == 1).all()
    assert (tiny_result.scores.drop_duplicates("customer_id")["split"] == "test").sum() == 12


def test_summary_prints_auc_lift_and_weights(tiny_result):
    text = str(tiny_result)
    assert f"AUC: {tiny_result.auc:.3f}" in text
    assert "Churn by band:" in text and "lift" in text
    assert "suggested" in text and "adoption" in text


# --------------------------------------------------------------------------- the horizon


def horizon_company() -> Dataset:
    """x leaves on 31 March, y on 1 April, w pauses 10 Feb - 5 March, z stays; data to June."""
    ids = ["w", "x", "y", "z"]
    return Dataset(
        customers=pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2023-01-01")}),
        subscriptions=pd.DataFrame({
            "customer_id": ["w", "w", "x", "y", "z"], "mrr": 10.0,
            "start_date": pd.to_datetime(["2023-01-01", "2024-03-05", "2023-01-01",
                                          "2023-01-01", "2023-01-01"]),
            "end_date": pd.to_datetime(["2024-02-10", None, "2024-03-31", "2024-04-01", None])}),
        usage=pd.DataFrame({"customer_id": ids, "month": pd.Timestamp("2024-06-01"),
                            "active_users": [1, 2, 3, 4], "licensed_seats": 4}),
    )


def test_churn_is_read_at_the_first_month_end_on_or_after_day_plus_horizon():
    # 31 Jan + 30 days = 1 March -> read at 31 March: x (ended that day) churned; y (ends
    # 1 April) and w (back on 5 March) are active on 31 March -> not churned
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = backtest(horizon_company(), as_of_dates=["2024-01-31"], horizon_days=30,
                          config=ONE_COMPONENT)
    churned = result.scores.set_index("customer_id")["churned"]
    assert churned.to_dict() == {"w": False, "x": True, "y": False, "z": False}


@pytest.mark.filterwarnings("ignore:no component raises churn risk")
@pytest.mark.filterwarnings("ignore:too few customer-dates")  # four customers: no weights to fit
def test_scoring_days_whose_horizon_passes_the_data_end_are_dropped_with_a_warning():
    # data ends 30 June; 31 May + 30 days is read at 30 June (kept), 15 June at 31 July
    with pytest.warns(UserWarning, match="1 scoring days dropped"):
        result = backtest(horizon_company(), as_of_dates=["2024-01-31", "2024-05-31",
                                                          "2024-06-15"],
                          horizon_days=30, config=ONE_COMPONENT)
    assert result.as_of_dates == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-05-31")]
    with pytest.raises(ConfigError, match="no scoring day leaves 30 days of data"), \
            pytest.warns(UserWarning, match="1 scoring days dropped"):
        backtest(horizon_company(), as_of_dates=["2024-06-15"], horizon_days=30)


def test_components_that_move_together_still_get_suggested_weights():
    # the same signal twice: the Newton step cannot invert the Hessian; BFGS splits the weight
    twice = {"components": {name: {**ONE_COMPONENT["components"]["adoption"]}
                            for name in ("adoption", "adoption_again")}}
    result = backtest(tiny_company(), config=twice, seed=1)
    assert result.suggested_weights.tolist() == pytest.approx([0.5, 0.5], abs=0.01)


@pytest.mark.parametrize("options, message", [
    ({"horizon_days": 0}, "`horizon_days` must be a whole number of days >= 1, got 0"),
    ({"horizon_days": 90.5}, "`horizon_days` must be a whole number"),
    ({"test_size": 1.5}, "`test_size` must be a share between 0 and 1"),
])
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        backtest(horizon_company(), **options)


def test_backtest_needs_subscriptions():
    ds = horizon_company()
    ds.subscriptions = None
    with pytest.raises(ConfigError, match="needs the subscriptions table"):
        backtest(ds)


# --------------------------------------------------------------------------- bands in the result


def test_backtest_result_suggests_bands_and_says_how_many_churners_each_band_holds(tiny_result):
    lift = tiny_result.lift
    assert lift["share_of_churners"].sum() == pytest.approx(1)
    assert lift["share_of_churners"].tolist() == pytest.approx((lift["churned"] / 60).tolist())
    scores = tiny_result.scores
    assert tiny_result.suggested_bands == suggest_bands(scores["score"], scores["churned"])


def test_a_precomputed_history_gives_the_same_backtest(tiny_result):
    history = churn_history(tiny_company(), config=ONE_COMPONENT)
    assert history.attrs["horizon_days"] == 90 and history.columns[0] == "as_of"
    again = backtest(tiny_company(), config=ONE_COMPONENT, seed=1, history=history)
    assert again.auc == tiny_result.auc and again.as_of_dates == tiny_result.as_of_dates
    pd.testing.assert_frame_equal(again.lift, tiny_result.lift)




def test_component_lift_is_the_churn_rate_when_the_component_is_poor_over_the_overall_rate(
        tiny_result):
    # adoption is poor (score 10 < 50) on the 57 churner-dates of churners using 10% of
    # their seats and never otherwise: 57/57 churned against 60/260 overall -> 260/60
    assert tiny_result.component_lift["adoption"] == pytest.approx(260 / 60)
    scores = tiny_result.scores
    poor = scores["nps_score"] < 50
    expected = scores.loc[poor, "churned"].mean() / scores["churned"].mean()
    assert tiny_result.component_lift["nps"] == pytest.approx(expected)


# --------------------------------------------------------------------------- mutation survivors


def hand_result(churned):
    """A backtest result written by hand: 3 scoring days, the given churn labels."""
    from csm_kit.health.backtest import BacktestResult

    components = ["adoption", "nps"]
    return BacktestResult(
        auc=0.75,
        lift=pd.DataFrame({"band": ["red", "green"], "customers": [1, 3], "churned": [1, 0],
                           "churn_rate": [1.0, 0.0], "lift": [4.0, 0.0]}),
        calibration=pd.DataFrame(),
        component_auc=pd.Series([0.975, 0.5], index=components),
        suggested_weights=pd.Series([1.0, 0.0], index=components),
        current_weights=pd.Series([0.5, 0.5], index=components),
        held_out_auc_default=0.7, held_out_auc_suggested=0.8,
        scores=pd.DataFrame({"churned": churned}),
        as_of_dates=list(pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])),
        horizon_days=90, suggested_bands={"red": 40.0, "yellow": 70.0},
        component_lift=pd.Series([13 / 3, 1.2], index=components))


def test_summary_reads_line_by_line_with_tables_to_three_decimals():
    # 4 customer-dates, 1 churned: 1/4 = 25.0%. Scoring days first … last. Tables: the band
    # table without the row numbers, the weights table by component; floats to 3 decimals
    # (13/3 -> 4.333).
    lines = hand_result([True, False, False, False]).summary().split("\n")
    assert lines[:7] == [
        "Health score backtest: 3 scoring days (2024-01-31 … 2024-03-31), churn within 90 days",
        "4 customer-dates, 1 churned (25.0%)",
        "AUC: 0.750",
        "Held-out AUC: default weights 0.700, suggested weights 0.800",
        "Suggested bands (red: churn >= 3x the overall rate): {'red': 40.0, 'yellow': 70.0}",
        "",
        "Churn by band:",
    ]
    assert [line.split() for line in lines[7:10]] == [
        ["band", "customers", "churned", "churn_rate", "lift"],
        ["red", "1", "1", "1.000", "4.000"],
        ["green", "3", "0", "0.000", "0.000"],
    ]
    assert lines[10:12] == ["", "Weights (suggested: logistic regression on the training "
                                "customers):"]
    assert [line.split() for line in lines[12:]] == [
        ["current", "suggested", "auc_alone", "lift_when_poor"],
        ["adoption", "0.500", "1.000", "0.975", "4.333"],
        ["nps", "0.500", "0.000", "0.500", "1.200"],
    ]


def test_summary_of_a_single_churned_customer_date_shows_all_of_it_churned():
    # 1 customer-date, 1 churned: 1/1 = 100.0% (the max(n, 1) guard only matters for n = 0).
    lines = hand_result([True]).summary().split("\n")
    assert lines[1] == "1 customer-dates, 1 churned (100.0%)"
