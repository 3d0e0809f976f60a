"""MRR engine: customer-months, movements, the bridge and the MRR summary, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.errors import ConfigError, DataContractError
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements, mrr_summary


def subscriptions(rows) -> pd.DataFrame:
    """Build a subscriptions frame from (customer_id, start_date, end_date or None, mrr) rows."""
    frame = pd.DataFrame(rows, columns=["customer_id", "start_date", "end_date", "mrr"])
    return pd.DataFrame({
        "subscription_id": pd.array([f"S{i}" for i in range(len(frame))], dtype="str"),
        "customer_id": frame["customer_id"].astype("str"),
        "start_date": pd.to_datetime(frame["start_date"]).astype("datetime64[ns]"),
        "end_date": pd.to_datetime(frame["end_date"]).astype("datetime64[ns]"),
        "mrr": frame["mrr"].astype("float64"),
    })


def five_customer_history() -> pd.DataFrame:
    """Every movement type in six months (January–June 2024).

    A  100 from 1 Jan, open; a second subscription of 50 from 10 March.
    B  200 from 15 Jan to 1 Apr (last active day 31 Mar), back at 150 from 5 June.
    C  two subscriptions from 1 Feb, 100 and 60; the 60 one ends 1 May.
    D  999 from 3 Mar to 20 Mar: joins and leaves inside March, never active at a month end.
    E  80 from 20 May, open.

    Month by month (end-of-month MRR per customer → movements):
      Jan  A 0→100 new, B 0→200 new                 start   0 + new 300            = 300
      Feb  C 0→160 new                              start 300 + new 160            = 460
      Mar  A 100→150 expansion (D invisible)        start 460 + expansion 50       = 510
      Apr  B 200→0 churn                            start 510 − churn 200          = 310
      May  C 160→100 contraction, E 0→80 new        start 310 + 80 − 60            = 330
      Jun  B 0→150 reactivation                     start 330 + reactivation 150   = 480
    """
    return subscriptions([
        ("A", "2024-01-01", None, 100.0),
        ("A", "2024-03-10", None, 50.0),
        ("B", "2024-01-15", "2024-04-01", 200.0),
        ("B", "2024-06-05", None, 150.0),
        ("C", "2024-02-01", None, 100.0),
        ("C", "2024-02-01", "2024-05-01", 60.0),
        ("D", "2024-03-03", "2024-03-20", 999.0),
        ("E", "2024-05-20", None, 80.0),
    ])


MONTHS = pd.date_range("2024-01-01", "2024-06-01", freq="MS").astype("datetime64[ns]")


def test_five_customer_history_bridge_matches_the_hand_computation():
    bridge = mrr_bridge(five_customer_history(), as_of="2024-06-30")
    expected = pd.DataFrame({  # the table in five_customer_history's docstring
        "month": MONTHS,
        "start_mrr": [0.0, 300, 460, 510, 310, 330],
        "new": [300.0, 160, 0, 0, 80, 0],
        "expansion": [0.0, 0, 50, 0, 0, 0],
        "reactivation": [0.0, 0, 0, 0, 0, 150],
        "contraction": [0.0, 0, 0, 0, 60, 0],
        "churn": [0.0, 0, 0, 200, 0, 0],
        "end_mrr": [300.0, 460, 510, 310, 330, 480],
    })
    pd.testing.assert_frame_equal(bridge, expected)


def test_bridge_balances_and_each_closing_mrr_opens_the_next_month():
    bridge = mrr_bridge(five_customer_history(), as_of="2024-06")
    flows = (bridge["start_mrr"] + bridge["new"] + bridge["expansion"] + bridge["reactivation"]
             - bridge["contraction"] - bridge["churn"])
    assert np.allclose(flows, bridge["end_mrr"])
    assert bridge["end_mrr"].iloc[:-1].tolist() == bridge["start_mrr"].iloc[1:].tolist()


def test_five_customer_history_movements_name_every_change():
    moves = mrr_movements(five_customer_history(), as_of="2024-06")
    got = [(r.customer_id, r.month.strftime("%Y-%m"), r.movement, r.mrr_before, r.mrr_after)
           for r in moves.itertuples()]
    assert got == [
        ("A", "2024-01", "new", 0.0, 100.0),
        ("A", "2024-03", "expansion", 100.0, 150.0),
        ("B", "2024-01", "new", 0.0, 200.0),
        ("B", "2024-04", "churn", 200.0, 0.0),
        ("B", "2024-06", "reactivation", 0.0, 150.0),
        ("C", "2024-02", "new", 0.0, 160.0),
        ("C", "2024-05", "contraction", 160.0, 100.0),
        ("E", "2024-05", "new", 0.0, 80.0),
    ]
    assert (moves["mrr_change"] == moves["mrr_after"] - moves["mrr_before"]).all()


def test_cancelling_one_of_two_subscriptions_is_contraction_not_churn():
    # C holds 100 + 60 from February; the 60 ends 1 May: 160 → 100 in May.
    subs = subscriptions([("C", "2024-02-01", None, 100.0), ("C", "2024-02-01", "2024-05-01", 60.0)])
    moves = mrr_movements(subs, as_of="2024-05")
    assert moves["movement"].tolist() == ["new", "contraction"]
    assert moves["mrr_change"].tolist() == [160.0, -60.0]


def test_customer_joining_and_leaving_inside_a_month_is_invisible():
    # D is active 3–19 March only: never on a month's last day.
    subs = subscriptions([("A", "2024-01-01", None, 10.0), ("D", "2024-03-03", "2024-03-20", 999.0)])
    assert "D" not in set(customer_months(subs, as_of="2024-04")["customer_id"])
    assert "D" not in set(mrr_movements(subs, as_of="2024-04")["customer_id"])
    bridge = mrr_bridge(subs, as_of="2024-04")
    assert bridge[["new", "churn"]].sum().tolist() == [10.0, 0.0]


def test_subscription_ending_on_a_months_last_day_is_not_active_that_month_end():
    # end_date is exclusive: ending 31 March means the last active day is 30 March.
    subs = subscriptions([("A", "2024-01-01", "2024-03-31", 10.0)])
    assert customer_months(subs, as_of="2024-04")["month"].dt.month.tolist() == [1, 2]


def test_annual_plan_counts_one_twelfth_a_month_for_its_twelve_months():
    # A 1,200-a-year plan from 1 Jan 2024 to 1 Jan 2025 is 100 MRR for January–December,
    # churned in January 2025; ARR = 12 × 100 = 1,200.
    subs = subscriptions([("A", "2024-01-01", "2025-01-01", 1200 / 12)])
    months = customer_months(subs, as_of="2025-01")
    assert len(months) == 12 and (months["mrr"] == 100.0).all()
    summary = mrr_summary(subs, as_of="2025-01")
    assert summary["arr"].iloc[0] == 1200.0
    assert summary["customers"].tolist() == [1] * 12 + [0]


def test_mrr_is_counted_in_whole_cents():
    # 1,000 a year is 83.333… a month, counted as 83.33; ARR is then 12 × 83.33 = 999.96.
    subs = subscriptions([("A", "2024-01-01", None, 1000 / 12)])
    assert customer_months(subs, as_of="2024-01")["mrr"].tolist() == [83.33]
    assert mrr_summary(subs, as_of="2024-01")["arr"].tolist() == [999.96]


def test_open_subscriptions_run_up_to_as_of():
    subs = subscriptions([("A", "2024-01-10", None, 10.0)])
    months = customer_months(subs, as_of="2024-04-15")  # as_of keeps its month: April
    assert months["month"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02", "2024-03",
                                                             "2024-04"]


def test_as_of_defaults_to_the_last_complete_month_of_the_data():
    # Latest date in the history: B's restart on 5 June, so June is incomplete → May.
    bridge = mrr_bridge(five_customer_history())
    assert bridge["month"].iloc[-1] == pd.Timestamp("2024-05-01")
    assert bridge["reactivation"].sum() == 0


def test_default_as_of_reads_an_end_date_as_its_last_active_day():
    # Ending 1 July means active to 30 June: June is complete (latest date 30 June).
    subs = subscriptions([("A", "2024-01-01", "2024-07-01", 10.0), ("B", "2024-02-01", None, 5.0)])
    assert mrr_bridge(subs)["month"].iloc[-1] == pd.Timestamp("2024-06-01")


def test_explicit_as_of_cuts_every_later_change():
    bridge = mrr_bridge(five_customer_history(), as_of="2024-03")
    assert bridge["month"].iloc[-1] == pd.Timestamp("2024-03-01")
    assert bridge["end_mrr"].iloc[-1] == 510.0 and bridge["churn"].sum() == 0


def test_mrr_summary_reports_mrr_arr_customers_and_arpa():
    summary = mrr_summary(five_customer_history(), as_of="2024-06")
    # Customers at month ends: Jan A,B; Feb +C; Mar 3; Apr A,C; May A,C,E; Jun +B.
    assert summary["customers"].tolist() == [2, 3, 3, 2, 3, 4]
    assert summary["mrr"].tolist() == [300.0, 460, 510, 310, 330, 480]
    assert summary["arr"].tolist() == [3600.0, 5520, 6120, 3720, 3960, 5760]
    assert summary["arpa"].tolist() == [150.0, 460 / 3, 170.0, 155.0, 110.0, 120.0]


def test_bridge_by_group_uses_each_customers_current_value():
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"],
                              "csm": ["Ann", "Bob", "Ann", "Bob", "Bob"]})
    bridge = mrr_bridge(five_customer_history(), by="csm", customers=customers, as_of="2024-06")
    ann = bridge[bridge["csm"] == "Ann"].set_index("month")
    # Ann holds A and C: Jan 100, Feb +160 = 260, Mar +50 = 310, May −60 = 250.
    assert ann["end_mrr"].tolist() == [100.0, 260, 310, 310, 250, 250]
    totals = bridge.groupby("month")["end_mrr"].sum().tolist()
    assert totals == [300.0, 460, 510, 310, 330, 480]


def test_customers_missing_from_the_customers_table_are_grouped_as_missing_with_a_warning():
    customers = pd.DataFrame({"customer_id": ["A"], "csm": ["Ann"]})
    with pytest.warns(UserWarning, match="missing from `customers`"):
        bridge = mrr_bridge(five_customer_history(), by="csm", customers=customers, as_of="2024-06")
    assert bridge["csm"].isna().sum() == 6


def test_ids_stay_strings_with_their_leading_zeros():
    subs = subscriptions([("00123", "2024-01-01", None, 10.0)])
    months = customer_months(subs, as_of="2024-01")
    assert months["customer_id"].tolist() == ["00123"]
    assert months["customer_id"].dtype == "str"


def test_subscriptions_without_an_end_date_column_are_all_open():
    subs = subscriptions([("A", "2024-01-01", None, 10.0)]).drop(columns="end_date")
    assert len(customer_months(subs, as_of="2024-03")) == 3


def test_customer_whose_subscriptions_sum_to_zero_or_less_is_not_active():
    # A credit of −10 cancels A's 10 in February: A churns in February, returns in March.
    subs = subscriptions([("A", "2024-01-01", None, 10.0), ("A", "2024-02-01", "2024-03-01", -10.0)])
    moves = mrr_movements(subs, as_of="2024-03")
    assert moves["movement"].tolist() == ["new", "churn", "reactivation"]


def test_empty_subscriptions_give_an_empty_bridge():
    bridge = mrr_bridge(subscriptions([]))
    assert bridge.empty and "end_mrr" in bridge.columns


def test_missing_required_column_is_a_data_contract_error():
    subs = five_customer_history().drop(columns="mrr")
    with pytest.raises(DataContractError, match="subscriptions has no column 'mrr'"):
        mrr_bridge(subs)


def test_unknown_engine_is_a_config_error():
    with pytest.raises(ConfigError, match="`engine` must be one of"):
        customer_months(five_customer_history(), engine="spark")


def test_by_without_customers_is_a_config_error():
    with pytest.raises(ConfigError, match="`customers` is required"):
        mrr_bridge(five_customer_history(), by="csm")


def test_unknown_by_column_is_a_config_error():
    customers = pd.DataFrame({"customer_id": ["A"], "csm": ["Ann"]})
    with pytest.raises(ConfigError, match="`by` must be a column of customers"):
        mrr_bridge(five_customer_history(), by="segment", customers=customers)


def test_input_frame_is_not_modified():
    subs = five_customer_history()
    before = subs.copy()
    mrr_movements(subs, as_of="2024-06")
    customer_months(subs, as_of="2024-06")
    pd.testing.assert_frame_equal(subs, before)


def test_mrr_summary_of_a_month_without_customers_is_zero_mrr_and_no_arpa():
    # a (100) leaves at the end of January, b (50) starts in March: February has no customer,
    # so MRR and ARR are 0 and ARPA (MRR ÷ 0 customers) is NaN, not 0; no subscriptions at
    # all give an empty table with the same columns.
    subs = subscriptions([("a", "2024-01-01", "2024-02-01", 100.0),
                          ("b", "2024-03-01", None, 50.0)])
    out = mrr_summary(subs, as_of="2024-03")
    assert out[["mrr", "arr", "customers"]].values.tolist() == [
        [100.0, 1200.0, 1], [0.0, 0.0, 0], [50.0, 600.0, 1]]
    assert out["arpa"].iloc[[0, 2]].tolist() == [100.0, 50.0] and np.isnan(out["arpa"].iloc[1])
    empty = mrr_summary(subs.iloc[:0], as_of="2024-03")
    assert empty.empty and list(empty.columns) == ["month", "mrr", "arr", "customers", "arpa"]
