"""Money and dates as exports write them, into plain numbers and ISO text — never guessed."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.data.contract import TABLES
from csm_kit.data.values import (
    date_order,
    dates_to_iso,
    decimal_evidence,
    numbers_from_text,
    resolve_decimal,
    tidy_canonical,
)


def test_money_with_symbols_codes_groups_and_accounting_negatives_becomes_numbers():
    text = pd.Series(["$1,200.50", "€ 99", "(15.25)", "1 234.5 USD", "-$3", ""])
    assert numbers_from_text(text, decimal=".").tolist()[:5] == [1200.5, 99.0, -15.25, 1234.5, -3.0]


def test_decimal_commas_read_with_points_as_thousands():
    assert numbers_from_text(pd.Series(["1.234.567,8", "0,25"]), decimal=",").tolist() == [1234567.8, 0.25]


def test_a_value_that_is_not_money_stays_as_written_for_the_parser_to_report():
    out = numbers_from_text(pd.Series(["12", "twelve", "1,2,3"]), decimal=".")
    assert out.tolist() == [12.0, "twelve", "1,2,3"]


def test_wrongly_grouped_thousands_are_not_read_as_numbers():
    assert numbers_from_text(pd.Series(["1,23.5"]), decimal=".").tolist() == ["1,23.5"]


def test_the_decimal_mark_comes_from_the_values_or_else_from_the_tables_other_columns():
    marks, failures = resolve_decimal("t", {"a": pd.Series(["1.234", "7"]),
                                            "b": pd.Series(["0,5"])}, None)
    assert marks == {"a": ",", "b": ","} and failures == []


def test_a_decimal_mark_nothing_proves_is_an_error_naming_the_setting():
    marks, failures = resolve_decimal("subscriptions", {"mrr": pd.Series(["1,200", "2,500"])}, None)
    assert "mrr" not in marks
    assert failures[0]["check"] == "ambiguous_number"
    assert "decimal: ','" in failures[0]["message"] and "'1,200'" in failures[0]["message"]


def test_both_marks_in_one_column_are_an_error():
    assert decimal_evidence(pd.Series(["1,234.50", "1.234,50"])) == {".", ","}
    _, failures = resolve_decimal("t", {"mrr": pd.Series(["1,234.50", "1.234,50"])}, None)
    assert "both a decimal point and a decimal comma" in failures[0]["message"]


@settings(deadline=None)  # pandas string ops on a loaded 2-core machine exceed 200 ms
@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))
def test_any_amount_formatted_either_way_reads_back_the_same(amount):
    us = f"{amount:,.2f}"
    eu = us.replace(",", "_").replace(".", ",").replace("_", ".")
    assert numbers_from_text(pd.Series([us]), decimal=".").iloc[0] == float(amount)
    assert numbers_from_text(pd.Series([eu]), decimal=",").iloc[0] == float(amount)


def test_one_date_with_a_day_above_12_settles_the_order_of_the_whole_table():
    # 13/04/2024 can only be day-first, so 03/04/2024 in another column is 3 April.
    order, failures = date_order("t", {"start": pd.Series(["03/04/2024"]),
                                       "end": pd.Series(["13/04/2024"])}, None)
    assert (order, failures) == ("dmy", [])
    assert dates_to_iso(pd.Series(["03/04/2024"]), order=order).tolist() == ["2024-04-03"]


def test_dates_that_could_be_either_order_are_an_error_naming_date_format():
    order, failures = date_order("customers", {"signup_date": pd.Series(["03/04/2024", "05/06/2024"])}, None)
    assert order is None
    message = failures[0]["message"]
    assert failures[0]["check"] == "ambiguous_date" and "customers.signup_date" in message
    assert "date_format: '%d/%m/%Y'" in message and "'03/04/2024'" in message


def test_dates_in_both_orders_in_one_table_are_an_error():
    _, failures = date_order("t", {"d": pd.Series(["13/01/2024", "01/13/2024"])}, None)
    assert "both day-first and month-first" in failures[0]["message"]


def test_a_date_format_setting_wins_and_keeps_offsets():
    out = dates_to_iso(pd.Series(["04.03.2024 10:15 +0100"]), order=None,
                       date_format="%d.%m.%Y %H:%M %z")
    assert out.tolist() == ["2024-03-04T10:15:00+01:00"]


def test_epoch_seconds_and_milliseconds_are_utc_timestamps():
    out = dates_to_iso(pd.Series([1709251200, 1709251200123]), order=None, epoch=True)
    # 1709251200 s after 1970-01-01 UTC is 2024-03-01 00:00:00 (19783 days × 86400 s)
    assert out.tolist() == ["2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z"]


def test_twelve_hour_clocks_and_two_digit_years_are_read():
    out = dates_to_iso(pd.Series(["3/4/24 12:05 AM", "3/4/24 12:05 PM", "3/4/24 1:05 PM"]), order="mdy")
    assert out.tolist() == ["2024-03-04T00:05:00", "2024-03-04T12:05:00", "2024-03-04T13:05:00"]


def test_an_impossible_date_stays_as_written_for_the_parser_to_report():
    assert dates_to_iso(pd.Series(["31/02/2024"]), order="dmy").tolist() == ["31/02/2024"]


def test_a_whole_table_is_tidied_and_the_input_is_not_changed():
    raw = pd.DataFrame({"subscription_id": ["S1"], "customer_id": ["C1"],
                        "start_date": ["1/31/2024"], "mrr": ["$1,200.00"]})
    before = raw.copy()
    out, failures = tidy_canonical(raw, TABLES["subscriptions"])
    assert failures == [] and out["start_date"].tolist() == ["2024-01-31"]
    assert out["mrr"].tolist() == [1200.0]
    pd.testing.assert_frame_equal(raw, before)
