"""Parsing raw text into the contract's types: nothing silently coerced, every bad value reported."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from csm_kit.data.contract import TABLES
from csm_kit.data.parsing import _text_to_float, coerce_table


def checks(failures):
    return sorted(f["check"] for f in failures)


def test_ids_stay_strings_with_their_leading_zeros():
    raw = pd.DataFrame({"customer_id": ["00123", "7"], "signup_date": ["2024-01-01", "2024-01-02"]})
    df, failures, _ = coerce_table(raw, TABLES["customers"])
    assert failures == []
    assert df["customer_id"].tolist() == ["00123", "7"]


def test_numeric_ids_from_a_database_become_whole_number_strings():
    raw = pd.DataFrame({"customer_id": [12.0, 7.0], "signup_date": ["2024-01-01", "2024-01-02"]})
    df, _, _ = coerce_table(raw, TABLES["customers"])
    assert df["customer_id"].tolist() == ["12", "7"]


def test_a_date_that_does_not_parse_is_reported_not_turned_into_nat():
    raw = pd.DataFrame({"customer_id": ["A", "B", "C"],
                        "signup_date": ["2024-01-31", "31/01/2024", ""]})
    df, failures, _ = coerce_table(raw, TABLES["customers"])
    assert checks(failures) == ["unparseable_date"]
    assert failures[0]["rows"] == 1  # the empty one is missing, not unparseable
    assert "B: '31/01/2024'" in failures[0]["message"]
    assert "customers.signup_date" in failures[0]["message"]


def test_timestamps_with_an_offset_are_converted_to_the_reporting_zone_and_made_naive():
    raw = pd.DataFrame({"ticket_id": ["T1", "T2"], "customer_id": ["A", "A"],
                        "opened_at": ["2024-03-31T23:30:00Z", "2024-03-31T23:30:00"]})
    df, failures, _ = coerce_table(raw, TABLES["tickets"], timezone="Europe/Berlin")
    assert failures == []
    # 23:30 UTC on 31 March 2024 is 01:30 on 1 April in Berlin (CEST, UTC+2);
    # a timestamp without an offset is taken as Berlin wall-clock time already.
    assert df["opened_at"].tolist() == [pd.Timestamp("2024-04-01 01:30"),
                                        pd.Timestamp("2024-03-31 23:30")]
    assert df["opened_at"].dt.tz is None


def test_numbers_with_currency_symbols_are_reported():
    raw = pd.DataFrame({"subscription_id": ["S1", "S2"], "customer_id": ["A", "B"],
                        "start_date": ["2024-01-01"] * 2, "mrr": ["100.5", "$1,200"]})
    df, failures, _ = coerce_table(raw, TABLES["subscriptions"])
    assert checks(failures) == ["unparseable_number"]
    assert "S2: '$1,200'" in failures[0]["message"]
    assert df["mrr"].iloc[0] == 100.5


def test_fractional_contacts_are_not_whole_numbers():
    raw = pd.DataFrame({"ticket_id": ["T1"], "customer_id": ["A"],
                        "opened_at": ["2024-01-01"], "contacts": ["1.5"]})
    _, failures, _ = coerce_table(raw, TABLES["tickets"])
    assert checks(failures) == ["not_whole_number"]


def test_flags_accept_yes_no_and_report_anything_else():
    raw = pd.DataFrame({"ticket_id": ["T1", "T2", "T3"], "customer_id": ["A"] * 3,
                        "opened_at": ["2024-01-01"] * 3,
                        "first_contact_resolved": ["Yes", "0", "maybe"]})
    df, failures, _ = coerce_table(raw, TABLES["tickets"])
    assert df["first_contact_resolved"].tolist()[:2] == [True, False]
    assert checks(failures) == ["unparseable_boolean"]


def test_input_frames_are_not_mutated():
    raw = pd.DataFrame({"customer_id": ["00123"], "signup_date": ["2024-01-01"]})
    before = raw.copy()
    coerce_table(raw, TABLES["customers"])
    pd.testing.assert_frame_equal(raw, before)


# --------------------------------------------------------------------------- numbers read by Arrow

_DECIMALS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(min_value=-1e9, max_value=1e9).map(lambda x: f"{x:.2f}"),
    st.floats(min_value=1e-300, max_value=1e300).map(lambda x: f"{x:.6e}"),
    st.integers(-10**18, 10**18).map(str),
    st.sampled_from(["-0", "-0.0", "+5", ".5", "5.", "00012", "1E-3"]),
)


@given(st.lists(st.one_of(_DECIMALS, st.none()), max_size=30))
def test_clean_number_columns_read_as_python_reads_each_number(values):
    # Reference: Python's float(), correctly rounded; negative zero made zero.
    text = pd.Series(values, dtype="str")
    expected = [float("nan") if v is None else float(v) + 0.0 for v in values]
    got = _text_to_float(text)
    assert list(got.index) == list(text.index)
    assert np.array_equal(got.to_numpy(), np.array(expected, dtype="float64"), equal_nan=True)
    assert not np.signbit(got.to_numpy()[got.to_numpy() == 0]).any()


@given(st.lists(_DECIMALS, max_size=20), st.sampled_from(["abc", "1,5", " ", "1_000", "0x10", "€5"]),
       st.integers(0, 20))
def test_one_value_that_is_not_a_number_leaves_the_column_to_pandas(values, junk, at):
    at = min(at, len(values))
    values = [*values[:at], junk, *values[at:]]
    text = pd.Series(values, dtype="str")
    expected = pd.to_numeric(text, errors="coerce").astype("float64") + 0.0
    got = _text_to_float(text)
    assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True)
    assert np.isnan(got.iloc[at])


def test_numbers_that_are_not_finite_are_still_reported_by_the_fast_path():
    raw = pd.DataFrame({"subscription_id": ["s1", "s2", "s3", "s4"], "customer_id": ["a"] * 4,
                        "start_date": ["2024-01-01"] * 4, "mrr": ["10.5", "inf", "NaN", "1e999"]})
    df, failures, _ = coerce_table(raw, TABLES["subscriptions"])
    assert [(f["check"], f["rows"]) for f in failures] == [("unparseable_number", 3)]
    assert df["mrr"].tolist()[0] == 10.5 and df["mrr"].isna().tolist() == [False, True, True, True]
