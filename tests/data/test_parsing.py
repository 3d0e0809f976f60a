"""Parsing raw text into the contract's types: nothing silently coerced, every bad value reported."""

import pandas as pd

from csm_kit.data.contract import TABLES
from csm_kit.data.parsing import coerce_table


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
