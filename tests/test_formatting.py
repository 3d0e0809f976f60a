"""How numbers read: money with its currency and K/M, shares, changes, p-values."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.formatting import (
    format_axis_money,
    format_change,
    format_money,
    format_p_value,
    format_value,
    reporting_currency,
)


def test_money_values_carry_the_reporting_currency():
    # 5,798,178 -> three significant digits in millions; 4,868.3 -> whole units
    assert format_value(5_798_178, "money", currency="USD") == "$5.8M"
    assert format_value(4_868.3, "money", currency="EUR") == "€4,868"
    assert format_change(-63.0, "money", currency="USD", before=4_931.0) == "−$63 (−1.3%)"


def test_format_value_writes_missing_values_as_a_dash():
    assert format_value(np.nan, "share") == "–"


@pytest.mark.parametrize(("value", "text"), [
    (0, "$0"), (950, "$950"), (9_999, "$9,999"),      # whole units below 10,000
    (10_000, "$10K"), (48_412, "$48.4K"), (123_456, "$123K"),  # three significant digits
    (5_798_178, "$5.8M"), (69_578_136, "$69.6M"), (-1_250_000, "−$1.25M"),
])
def test_money_is_compact_with_three_significant_digits(value, text):
    assert format_money(value, "USD") == text


def test_money_without_a_currency_has_no_sign_and_an_unknown_code_is_an_error():
    assert format_money(5_798_178) == "5.8M"
    with pytest.raises(ConfigError, match="three-letter ISO 4217 code"):
        format_money(10, "dollars")


@pytest.mark.parametrize(("value", "text"), [
    (0, "€0"), (500, "€500"), (250_000, "€250K"), (1_500_000, "€1.5M"), (2e9, "€2B")])
def test_axis_money_is_never_scientific(value, text):
    assert format_axis_money(value, "EUR") == text


@settings(max_examples=60, deadline=None)
@given(st.floats(-1e13, 1e13, allow_nan=False))
def test_no_money_text_is_ever_in_scientific_notation(value):
    for text in (format_money(value, "USD"), format_axis_money(value, "USD")):
        assert "e+" not in text and "e-" not in text and "E" not in text


@pytest.mark.parametrize(("p", "text"), [(0.0, "p < 0.001"), (0.000999, "p < 0.001"),
                                         (0.001, "p = 0.001"), (0.0432, "p = 0.043"), (1.0, "p = 1")])
def test_p_values_read_as_a_reader_expects(p, text):
    assert format_p_value(p) == text


def test_the_reporting_currency_is_the_one_code_the_data_names():
    subs = pd.DataFrame({"currency": ["usd", " USD", None]})
    orders = pd.DataFrame({"currency": ["USD"]})
    assert reporting_currency([subs, orders, None]) == "USD"
    assert reporting_currency([subs, orders.assign(currency="EUR")]) is None  # mixed: no sign
    assert reporting_currency([pd.DataFrame({"mrr": [1.0]})]) is None
