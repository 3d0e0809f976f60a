"""The checks that catch wrong money and wrong joins, and currency conversion by month."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit import DataContractError, load_dataset
from csm_kit.data.validator import (
    convert_currencies,
    mixed_currencies,
    not_counted_status,
    undivided_annual,
    unmatched_customer_ids,
)
from tests.conftest import write_tables

CUSTOMERS = "customer_id,signup_date\nC1,2024-01-01\nC2,2024-01-01\nC3,2024-01-01\n"


def subs(**columns):
    n = len(next(iter(columns.values())))
    base = {"subscription_id": [f"S{i}" for i in range(n)], "customer_id": ["C1"] * n,
            "start_date": pd.to_datetime(["2024-01-01"] * n), "mrr": [100.0] * n}
    return pd.DataFrame({**base, **columns})


def test_an_annual_plan_at_twelve_times_the_monthly_price_was_not_divided():
    table = subs(plan=["Pro", "Pro", "Pro", "Team"], mrr=[100.0, 110.0, 1200.0, 50.0],
                 billing_interval_months=[1, 1, 12, 12])
    found = undivided_annual({"subscriptions": table})
    # Pro: 1,200 ÷ median(100, 110) = 11.4 ≥ 0.6 × 12 = 7.2 → S2; Team has no monthly peer
    assert found[0]["rows"] == 1 and found[0]["examples"] == ["S2"]


def test_an_annual_plan_divided_by_twelve_with_a_discount_passes():
    table = subs(plan=["Pro", "Pro"], mrr=[100.0, 85.0], billing_interval_months=[1, 12])
    assert undivided_annual({"subscriptions": table}) == []


def test_trialing_and_unpaid_rows_with_mrr_are_errors_past_due_is_not():
    table = subs(status=["trialing", "unpaid", "past_due", "trialing"], mrr=[50.0, 20.0, 30.0, 0.0])
    found = not_counted_status({"subscriptions": table})
    assert found[0]["rows"] == 2 and "trialing, unpaid" in found[0]["message"]


def test_a_canceled_subscription_without_an_end_date_is_an_error():
    table = subs(status=["canceled"], end_date=pd.to_datetime([None]))
    found = not_counted_status({"subscriptions": table})
    assert found[0]["column"] == "end_date" and "active forever" in found[0]["message"]


def test_two_currencies_are_an_error_one_currency_in_two_spellings_is_not():
    assert mixed_currencies({"subscriptions": subs(currency=["USD", "usd "])}) == []
    found = mixed_currencies({"subscriptions": subs(currency=["USD", "USD", "EUR"])})
    assert found[0]["rows"] == 1 and found[0]["examples"] == ["S2"] and "fx:" in found[0]["message"]


def test_most_ids_matching_no_customer_is_an_error_a_few_are_left_to_the_warning():
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"]})
    few = pd.DataFrame({"ticket_id": ["T1", "T2", "T3"], "customer_id": ["C1", "C2", "X9"]})
    most = pd.DataFrame({"ticket_id": ["T1", "T2", "T3"], "customer_id": ["a@x.com", "b@y.com", "C1"]})
    assert unmatched_customer_ids({"customers": customers, "tickets": few}) == []
    found = unmatched_customer_ids({"customers": customers, "tickets": most})
    assert found[0]["rows"] == 2 and "67%" in found[0]["message"]
    assert "'C1', 'C2', 'C3'" in found[0]["message"]  # what customer ids look like


def test_rates_are_taken_from_the_latest_month_at_or_before_each_row():
    table = subs(currency=["EUR", "EUR", "USD"], mrr=[100.0, 100.0, 100.0],
                 start_date=pd.to_datetime(["2024-01-31", "2024-03-15", "2024-03-15"]))
    rates = pd.DataFrame({"month": ["2024-01-01", "2024-02-01"], "currency": ["eur", "eur"],
                          "rate": ["1.10", "1.20"]})
    out, failures = convert_currencies({"subscriptions": table}, {"reporting_currency": "USD"},
                                       reader=lambda name, entry: rates)
    # January row at January's 1.10; March has no rate of its own, so February's 1.20
    assert failures == []
    assert out["subscriptions"]["mrr"].tolist() == pytest.approx([110.0, 120.0, 100.0])
    assert out["subscriptions"]["original_currency"].tolist() == ["EUR", "EUR", "USD"]


def test_a_currency_without_any_earlier_rate_is_an_error():
    table = subs(currency=["GBP"])
    rates = pd.DataFrame({"month": ["2024-01-01"], "currency": ["EUR"], "rate": ["1.1"]})
    _, failures = convert_currencies({"subscriptions": table}, {"reporting_currency": "USD"},
                                     reader=lambda name, entry: rates)
    assert failures[0]["check"] == "missing_fx_rate" and "GBP 2024-01" in failures[0]["message"]


def test_the_checks_stop_loading_unless_the_mapping_accepts_them(tmp_path):
    folder = write_tables(tmp_path / "d", {
        "customers": CUSTOMERS,
        "subscriptions": ("subscription_id,customer_id,start_date,mrr,currency\n"
                          "S1,C1,2024-01-01,100,USD\nS2,C2,2024-01-01,100,EUR\n"),
    })
    with pytest.raises(DataContractError, match="subscriptions.currency: amounts in 2 currencies"):
        load_dataset(folder)
    ds = load_dataset(folder, mapping={"accept": ["mixed_currencies"]})
    assert ds.subscriptions["mrr"].sum() == 200
