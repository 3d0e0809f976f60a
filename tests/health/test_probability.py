"""Churn probability: a logistic regression on the history, judged on held-out customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.probability import calibration_table, churn_probability, fit_churn_model

#: One component that is either 0 (adoption below 0.5) or 100: a binary input.
BINARY = {"components": {"adoption": {
    "signal": "adoption", "method": "thresholds", "thresholds": [[0, 0], [0.5, 100]],
    "direction": "higher_is_better", "weight": 1}}}


def history(groups: list[tuple[float, int, int]], days: int = 2) -> pd.DataFrame:
    """A hand-made churn history: per group (adoption, customers, churners), ``days`` dates.

    Customer k of a group churns on every date when k < churners, so each date has the
    group's churn rate.
    """
    rows = []
    for g, (adoption, customers, churners) in enumerate(groups):
        for k in range(customers):
            for d in range(days):
                rows.append({"as_of": pd.Timestamp("2024-01-31") + pd.offsets.MonthEnd(d),
                             "customer_id": f"g{g}-{k:03d}", "segment": None,
                             "adoption": adoption, "churned": k < churners})
    out = pd.DataFrame(rows)
    out.attrs["horizon_days"] = 90
    return out


def test_with_one_binary_input_the_probability_is_each_groups_training_churn_rate():
    # maximum likelihood with an intercept and one 0/1 input reproduces the two groups'
    # training churn rates exactly, whatever the held-out split took away
    h = history([(0.2, 100, 40), (0.9, 300, 30)])
    model = fit_churn_model(None, config=BINARY, history=h, test_size=0.3, seed=3)
    train = h[~h["customer_id"].isin(model.held_out["customer_id"])]
    rates = train.groupby("adoption")["churned"].mean()
    signals = pd.DataFrame({"customer_id": ["x", "y"], "adoption": [0.2, 0.9]})
    assert model.predict(signals) == pytest.approx(rates.loc[[0.2, 0.9]].to_numpy(), abs=1e-6)
    assert model.base_rate == pytest.approx(train["churned"].mean())


def test_the_mean_training_probability_equals_the_training_churn_rate():
    # the score equation of a logistic regression with an intercept: sum(p) = sum(y)
    rng = np.random.default_rng(5)
    adoption = rng.uniform(0, 1, 600)
    churners = rng.random(600) < 1 / (1 + np.exp(-(2 - 6 * adoption)))
    h = pd.DataFrame({"as_of": pd.Timestamp("2024-01-31"), "customer_id": np.arange(600).astype(str),
                      "segment": None, "adoption": adoption, "churned": churners})
    config = {"components": {"adoption": {"signal": "adoption", "method": "linear", "low": 0,
                                          "high": 1, "direction": "higher_is_better",
                                          "weight": 1}}}
    model = fit_churn_model(None, config=config, history=h, seed=1)
    train = h[~h["customer_id"].isin(model.held_out["customer_id"])]
    assert model.predict(train).mean() == pytest.approx(train["churned"].mean(), abs=1e-6)
    # the true slope is 6 per unit of adoption: the fitted risk coefficient is positive
    assert model.coefficients.loc["risk_adoption", "coef"] > 0
    assert model.auc > 0.7 and model.brier < model.base_rate_brier


def test_held_out_figures_are_computed_on_customers_the_model_never_saw():
    h = history([(0.2, 50, 20), (0.9, 150, 15)], days=3)
    model = fit_churn_model(None, config=BINARY, history=h, test_size=0.3, seed=0)
    held = model.held_out
    assert model.n_test == len(held) and model.n_train + model.n_test == len(h)
    assert held["customer_id"].nunique() == round(0.3 * 200)  # 30% of customers, all dates
    assert len(held) == 3 * held["customer_id"].nunique()
    # Brier: mean squared distance between probability and outcome, by hand
    y = held["churned"].to_numpy(float)
    assert model.brier == pytest.approx(np.mean((held["probability"] - y) ** 2))
    assert model.base_rate_brier == pytest.approx(np.mean((model.base_rate - y) ** 2))


def test_risk_bands_are_three_times_and_once_the_base_rate():
    h = history([(0.2, 100, 40), (0.9, 300, 30)])
    model = fit_churn_model(None, config=BINARY, history=h, seed=3)
    assert model.bands == pytest.approx({"red": 3 * model.base_rate, "yellow": model.base_rate})
    b = model.bands
    assert model.band([b["red"], b["red"] - 1e-9, b["yellow"], 0.0]).tolist() == [
        "red", "yellow", "yellow", "green"]
    groups = model.risk_groups.set_index("band")
    assert groups["customers"].sum() == model.n_test
    assert groups["share_of_churners"].sum() == pytest.approx(1)


def test_too_few_churners_to_fit_is_a_clear_error():
    h = history([(0.2, 20, 3), (0.9, 30, 0)], days=1)
    with pytest.raises(ConfigError, match="at least 10 of each are needed"):
        fit_churn_model(None, config=BINARY, history=h)


def test_calibration_deciles_have_equal_sizes_and_wilson_intervals():
    p = np.linspace(0.01, 0.99, 95)
    y = np.arange(95) % 3 == 0
    table = calibration_table(p, y)
    # row i (by probability) goes to decile i * 10 // 95 + 1: rows 0-9, 10-18, 19-28, ...
    assert table["customers"].tolist() == [10, 9, 10, 9, 10, 9, 10, 9, 10, 9]
    assert table["decile"].tolist() == list(range(1, 11))
    assert (table["ci_low"] <= table["observed"]).all()
    assert (table["observed"] <= table["ci_high"]).all()
    assert table["gap"].tolist() == pytest.approx((table["observed"] - table["predicted"]).tolist())


def test_churn_probability_scores_active_accounts_with_their_expected_mrr_at_risk():
    h = history([(0.2, 100, 40), (0.9, 300, 30)])
    model = fit_churn_model(None, config=BINARY, history=h, seed=3)
    ds = Dataset(
        customers=pd.DataFrame({"customer_id": ["a", "b"], "signup_date": pd.Timestamp("2023-01-01")}),
        subscriptions=pd.DataFrame({"customer_id": ["a", "b"], "mrr": [100.0, 1000.0],
                                    "start_date": pd.Timestamp("2023-01-01")}),
        usage=pd.DataFrame({"customer_id": ["a", "b"], "month": pd.Timestamp("2024-03-01"),
                            "active_users": [1, 9], "licensed_seats": 10}))
    out = churn_probability(ds, as_of="2024-03-31", model=model).set_index("customer_id")
    low, high = model.predict(pd.DataFrame({"customer_id": ["x", "y"], "adoption": [0.9, 0.1]}))
    assert out.loc["a", "probability"] == pytest.approx(high)
    assert out.loc["b", "probability"] == pytest.approx(low)
    assert out.loc["a", "expected_mrr_at_risk"] == pytest.approx(100 * high)
    assert out.loc["b", "expected_mrr_at_risk"] == pytest.approx(1000 * low)
    assert out.loc["a", "risk_band"] == model.band([high])[0]
