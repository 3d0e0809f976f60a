"""Renewal forecast: ARR due × P(renew) by health band and lead time, with an interval."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.forecast import (
    renewal_forecast,
    renewal_forecast_and_backtest,
    renewal_forecast_backtest,
)

#: Everyone signed up a while ago scores 100 on tenure: every account is green.
GREEN = {"components": {"t": {"signal": "tenure_days", "method": "linear", "low": 0, "high": 1,
                              "direction": "higher_is_better", "weight": 1}}}
#: Adoption below 0.5 scores 0 (red), above 100 (green).
BY_ADOPTION = {"components": {"a": {"signal": "adoption", "method": "thresholds",
                                    "thresholds": [[0, 0], [0.5, 100]],
                                    "direction": "higher_is_better", "weight": 1}}}


def company(renewals: pd.DataFrame, **tables) -> Dataset:
    ids = sorted(set(renewals["customer_id"]))
    return Dataset(customers=pd.DataFrame({"customer_id": ids,
                                           "signup_date": pd.Timestamp("2022-01-01")}),
                   renewals=renewals.assign(contract_id=[str(i) for i in range(len(renewals))]),
                   **tables)


def contracts(rows) -> pd.DataFrame:
    customer, due, arr, renewed, signed = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": customer, "due_date": pd.to_datetime(due),
                         "arr_due": [float(a) for a in arr],
                         "arr_renewed": [float("nan") if r is None else float(r) for r in renewed],
                         "renewed_on": pd.to_datetime(signed)})


def test_a_contract_counts_once_per_month_end_it_was_unsigned_in_the_92_days_before_it():
    # due 10 June 2023, not renewed: unsigned on 31 May (10 days: lead 30), 30 April (41: 60)
    # and 31 March (71: 92); 28 February is 102 days out. Due 20 June, signed 15 May:
    # unsigned on 30 April (51: 60) and 31 March (81: 92) only -> both renewed cases
    rows = [("a", "2023-06-10", 100, 0, None), ("b", "2023-06-20", 100, 100, "2023-05-15")]
    f = renewal_forecast(company(contracts(rows)), as_of="2024-03-31", config=GREEN)
    rates = f.rates.set_index(["band", "lead"])
    assert rates.loc[("green", 30), ["contracts", "renewed"]].tolist() == [1, 0]
    assert rates.loc[("green", 60), ["contracts", "renewed"]].tolist() == [2, 1]
    assert rates.loc[("green", 92), ["contracts", "renewed"]].tolist() == [2, 1]
    # Laplace: (renewed + 1) / (contracts + 2)
    assert rates.loc[("green", 30), "p_renew"] == pytest.approx(1 / 3)
    assert rates.loc[("green", 60), "p_renew"] == pytest.approx(2 / 4)
    assert rates.loc[("red", 30), "p_renew"] == pytest.approx(1 / 2)  # no case: 1 / 2


def test_expected_arr_is_arr_due_times_the_bands_rate_and_signed_contracts_count_in_full():
    # past: red accounts' contracts (adoption 0.1) renewed 0 of 2, green 2 of 2 (each 3 cases
    # at leads 30/60/92). Ahead: a (red) 1,000 due in 20 days -> p = (0 + 1) / (2 + 2) = 1/4;
    # b (green) 2,000 due in 45 days -> (2 + 1) / (2 + 2) = 3/4; c (green) 500 due in 70
    # days, already signed 25 March -> p = 1.
    past = [("a", "2023-06-10", 100, 0, None), ("b", "2023-06-10", 100, 100, None),
            ("c", "2023-06-10", 100, 0, None), ("d", "2023-06-10", 100, 100, None)]
    ahead = [("a", "2024-04-20", 1000, None, None), ("b", "2024-05-15", 2000, None, None),
             ("c", "2024-06-09", 500, None, "2024-03-25")]
    months = pd.date_range("2023-01-01", "2024-03-01", freq="MS")
    usage = pd.DataFrame({"customer_id": [c for c in "abcd" for _ in months],
                          "month": list(months) * 4, "licensed_seats": 10,
                          "active_users": [1] * len(months) * 3 + [9] * len(months)})
    usage.loc[usage["customer_id"].isin(["b"]), "active_users"] = 9
    usage.loc[usage["customer_id"].isin(["c"]), "active_users"] = 1
    # a: red, b: green, c: red, d: green
    ds = company(contracts(past + ahead), usage=usage)
    f = renewal_forecast(ds, as_of="2024-03-31", config=BY_ADOPTION)
    rows = f.contracts.set_index("customer_id")
    assert rows.loc["a", ["band", "lead"]].tolist() == ["red", 30]
    assert rows.loc["a", "p_renew"] == pytest.approx(1 / 4)
    assert rows.loc["b", "p_renew"] == pytest.approx(3 / 4)
    assert rows.loc["c", "signed"] and rows.loc["c", "p_renew"] == 1
    summary = f.summary.set_index("window_days")
    assert summary.loc[30, "expected_arr"] == pytest.approx(1000 / 4)
    assert summary.loc[60, "expected_arr"] == pytest.approx(1000 / 4 + 2000 * 3 / 4)
    assert summary.loc[90, "expected_arr"] == pytest.approx(1000 / 4 + 1500 + 500)
    assert summary.loc[90, "signed_arr"] == 500 and summary.loc[90, "arr_due"] == 3500
    # the interval: the signed 500 always renews; at most all 3,500
    assert 500 <= summary.loc[90, "low"] <= summary.loc[90, "expected_arr"]
    assert summary.loc[90, "expected_arr"] <= summary.loc[90, "high"] <= 3500


def test_the_backtest_compares_each_past_quarter_with_the_arr_that_renewed():
    # data to 31 March 2024 (the last renewal signed in March): the latest quarter end whose
    # 90 days end by then is 31 December 2023 (31 Dec + 90 = 30 March)
    rows = [("a", "2023-02-10", 100, 100, "2023-02-01"), ("b", "2023-03-10", 100, 0, None),
            ("a", "2024-01-15", 300, 300, "2024-01-10"), ("b", "2024-02-20", 200, 0, None),
            ("c", "2024-03-01", 50, 80, "2024-03-01")]
    ds = company(contracts(rows))
    ds.customers.loc[len(ds.customers)] = ["z", pd.Timestamp("2024-03-31")]  # data to March
    table = renewal_forecast_backtest(ds, quarters=1, config=GREEN, windows=(30, 60, 90))
    assert table["as_of"].unique().tolist() == [pd.Timestamp("2023-12-31")]
    q = table.set_index("window_days")
    # renewed within 30 days: a's 300; 60: + b's 200 lost; 90: + c's 50, renewed at 80
    assert q["actual_arr"].tolist() == [300, 300, 350]
    assert q["arr_renewed"].tolist() == [300, 300, 380]
    assert q["contracts"].tolist() == [1, 2, 3]
    assert (q["error"] == q["expected_arr"] - q["actual_arr"]).all()


def test_forecast_needs_renewals_and_sane_windows():
    with pytest.raises(ConfigError, match="needs the renewals table"):
        renewal_forecast(Dataset(customers=pd.DataFrame({"customer_id": ["a"],
                                                         "signup_date": pd.Timestamp("2024-01-01")})))
    ds = company(contracts([("a", "2024-03-01", 1, 1, None)]))
    with pytest.raises(ConfigError, match="`windows` must be whole numbers of days"):
        renewal_forecast(ds, as_of="2024-03-31", windows=(0, 30))


def test_forecast_and_backtest_together_equal_the_two_separate_calls_on_the_sample(monkeypatch):
    # the reference is the two public functions called one after the other, as the report
    # called them before; together they share the health bands of the days both score
    from csm_kit.data.loading import load_dataset
    from csm_kit.health import forecast as module

    ds = load_dataset()
    scored = []
    original = module.customer_signals
    monkeypatch.setattr(module, "customer_signals",
                        lambda *a, **k: scored.append(k["as_of"]) or original(*a, **k))
    forecast, backtest = renewal_forecast_and_backtest(ds, as_of="2026-10-31")
    together = len(scored)
    expected_forecast = renewal_forecast(ds, as_of="2026-10-31")
    expected_backtest = renewal_forecast_backtest(ds)
    assert together < len(scored) - together  # fewer days scored than by the separate calls
    pd.testing.assert_frame_equal(forecast.summary, expected_forecast.summary)
    pd.testing.assert_frame_equal(forecast.contracts, expected_forecast.contracts)
    pd.testing.assert_frame_equal(forecast.rates, expected_forecast.rates)
    assert forecast.as_of == expected_forecast.as_of
    pd.testing.assert_frame_equal(backtest, expected_backtest)


def test_scoring_days_are_the_days_the_forecast_and_its_backtest_score(monkeypatch):
    # The report checks these days × customers against its budget before running the
    # forecast, so they must be exactly the days the run scores: recorded here by watching
    # every day the bands are asked for (the bundled sample, as the health report runs it).
    import csm_kit as ck
    from csm_kit.health import forecast

    ds = ck.load_sample()
    asked = []
    real = forecast._bands_on

    def watched(dataset, day, config, cache):
        asked.append(day)
        return real(dataset, day, config, cache)

    monkeypatch.setattr(forecast, "_bands_on", watched)
    forecast.renewal_forecast_and_backtest(ds, as_of="2026-10-31", draws=10)
    assert forecast.scoring_days(ds, as_of="2026-10-31") == sorted(set(asked))
    assert len(set(asked)) > 12  # the sample's history: more than a year of month ends


def test_the_forecast_and_its_backtest_score_all_their_days_together(monkeypatch):
    # renewal_forecast_and_backtest scores scoring_days at once (signals_by_day): no day is
    # left for _bands_on to score alone, and the results are the separate calls' (above).
    import csm_kit as ck
    from csm_kit.health import forecast

    def alone(*args, **kwargs):
        raise AssertionError("a day scored on its own")

    monkeypatch.setattr(forecast, "customer_signals", alone)
    result, checked = forecast.renewal_forecast_and_backtest(ck.load_sample(), as_of="2026-10-31",
                                                             draws=10)
    assert len(result.contracts) and len(checked)
