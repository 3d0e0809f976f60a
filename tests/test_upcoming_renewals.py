"""Renewals coming up: contracts due in the next 30/60/90 days with their ARR and health."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.errors import ConfigError
from csm_kit.upcoming_renewals import renewals_due_summary, upcoming_renewals


def contracts():
    # As of 31 March 2024: k1 is past (20 March); k2 due in 10 days, k3 in 45, k4 in 75 (signed
    # early, on 1 March); k5 in 123 days, beyond the horizon.
    return pd.DataFrame({
        "contract_id": ["k1", "k2", "k3", "k4", "k5"], "customer_id": list("abcde"),
        "due_date": pd.to_datetime(["2024-03-20", "2024-04-10", "2024-05-15", "2024-06-14",
                                    "2024-08-01"]),
        "arr_due": [100.0, 200.0, 300.0, 400.0, 500.0],
        "renewed_on": pd.to_datetime([None, None, None, "2024-03-01", None]),
        "arr_renewed": [120.0, None, None, 400.0, None]})


def test_contracts_due_after_the_as_of_day_and_within_the_horizon_are_listed():
    out = upcoming_renewals(contracts(), as_of="2024-03-31")
    assert out[["contract_id", "days_to_due", "arr_due", "renewed_early"]].values.tolist() == [
        ["k2", 10, 200.0, False], ["k3", 45, 300.0, False], ["k4", 75, 400.0, True]]
    assert (out["source"] == "renewals").all()


def test_the_summary_windows_are_cumulative_and_show_the_arr_with_red_accounts():
    health = pd.DataFrame({"customer_id": ["b", "c", "d"], "score": [20.0, 55.0, 90.0],
                           "band": ["red", "yellow", "green"]})
    up = upcoming_renewals(contracts(), as_of="2024-03-31", health=health)
    summary = renewals_due_summary(up).set_index("window")
    # 30 days: k2 (200, red). 60: + k3 (300, yellow). 90: + k4 (400, green, signed early).
    assert summary["contracts"].tolist() == [1, 2, 3]
    assert summary["arr_due"].tolist() == [200.0, 500.0, 900.0]
    assert summary["arr_red"].tolist() == [200.0, 200.0, 200.0]
    assert summary.loc["next 90 days", ["red", "yellow", "green", "unscored", "renewed_early"]
                       ].tolist() == [1, 1, 1, 0, 1]


def test_the_next_term_of_a_renewed_contract_is_projected_when_the_export_has_none():
    # k1 (customer a) fell due on 15 April 2023 and was renewed at 120: its next term falls
    # due on 15 April 2024, 15 days after 31 March 2024, for 120.
    data = contracts()
    data.loc[0, "due_date"] = pd.Timestamp("2023-04-15")
    out = upcoming_renewals(data, as_of="2024-03-31", project=True)
    projected = out[out["source"] == "projected"]
    assert projected[["contract_id", "customer_id", "days_to_due", "arr_due"]].values.tolist() == [
        ["k1+next", "a", 15, 120.0]]
    # d's k4 (renewed, due 14 June 2024) is in the future: nothing projected for d.
    assert (out["customer_id"] == "d").sum() == 1


def test_a_lost_contract_or_a_stale_one_is_not_projected():
    data = contracts()
    data.loc[0, ["due_date", "arr_renewed"]] = [pd.Timestamp("2023-04-15"), 0.0]  # lost
    assert "projected" not in set(upcoming_renewals(data, as_of="2024-03-31", project=True)["source"])
    data.loc[0, ["due_date", "arr_renewed"]] = [pd.Timestamp("2022-04-15"), 120.0]  # next term past
    assert "projected" not in set(upcoming_renewals(data, as_of="2024-03-31", project=True)["source"])


@pytest.mark.parametrize("days", [0, -5, 1.5, True])
def test_the_horizon_must_be_a_whole_number_of_days(days):
    with pytest.raises(ConfigError, match="`days` must be a whole number"):
        upcoming_renewals(contracts(), as_of="2024-03-31", days=days)
