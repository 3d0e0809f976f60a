"""Hostile values in well-formed files: every bad value named by table, column and file line,
and `csm-kit validate` exits 2 without a traceback.

Each class of issue 16 ("Hostile input, round two") that is about values: pandera's crash on
masks kept in ``DataFrame.attrs``, problems reported per column and empty rows by line,
dates as real systems write them (ISO 8601 offsets, "never ends" sentinels, out-of-range and
partial dates) and numbers that are not finite. Line numbers count the header as line 1.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from csm_kit.cli import app
from csm_kit.data.contract import EARLIEST_DATE, OPEN_ENDED_FROM, TABLES, check_table
from csm_kit.data.loading import load_dataset
from csm_kit.data.parsing import coerce_table
from csm_kit.data.quality import data_quality
from csm_kit.errors import DataContractError
from tests.conftest import GOOD_TABLES, write_tables

runner = CliRunner()

CUSTOMERS = "customer_id,signup_date\n" + "".join(f"C{i},2024-01-0{i % 9 + 1}\n" for i in range(12))
SUBSCRIPTIONS_HEADER = "subscription_id,customer_id,start_date,end_date,mrr"


def subscriptions_csv(rows: list[list[str]]) -> str:
    return SUBSCRIPTIONS_HEADER + "\n" + "".join(",".join(r) + "\n" for r in rows)


def good_rows(n: int = 12) -> list[list[str]]:
    """n valid subscriptions, S0 on line 2, S1 on line 3, ... (one per customer)."""
    return [[f"S{i}", f"C{i}", "2024-02-01", "", str(100 + i)] for i in range(n)]


def validate(folder: Path, *args: str):
    """Run `csm-kit validate`; return (exit code, the output with the table borders removed)."""
    result = runner.invoke(app, ["validate", "--data", str(folder), *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exception  # a crash, not a kit error
    assert "Traceback" not in result.output
    flat = " ".join(result.output.replace("│", " ").split())
    return result.exit_code, flat


# --------------------------------------------------------------------------- 1. pandera's crash


def test_an_unparseable_value_and_another_rule_break_are_both_reported(tmp_path):
    # Before: masks in DataFrame.attrs made pandas raise "The truth value of a Series is
    # ambiguous" when pandera concatenated the two failures.
    rows = good_rows(3)
    rows[0][4] = "abc"   # S0, line 2
    rows[1][4] = "-5"    # S1, line 3
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS,
                                           "subscriptions": subscriptions_csv(rows)})
    code, out = validate(folder)
    assert code == 2
    assert "subscriptions.mrr: values that are not (finite) numbers in 1 row (e.g. S0 on line 2: 'abc')" in out
    assert "subscriptions.mrr: negative values in 1 row (e.g. S1 on line 3)" in out
    assert "use plain numbers" in out and "negative values are not allowed" in out


def test_a_us_date_and_an_empty_row_are_read_and_reported(tmp_path):
    # 03/14/2024 can only be month-first, so it is read; the ",," row is line 3. (Excel's
    # empty rows at the end of a file are dropped: tests/data/test_hostile_files.py.)
    folder = write_tables(tmp_path / "d", {
        "customers": "customer_id,signup_date,name\nC1,03/14/2024,Acme\n,,\nC2,2024-01-02,Beta\n"})
    code, out = validate(folder)
    assert code == 2
    assert "customers: rows with no value at all in 1 row (e.g. line 3)" in out
    assert "delete the empty rows" in out
    assert "nan" not in out.lower().replace("financ", "")
    assert "customers.customer_id" not in out and "customers.signup_date" not in out


def test_check_table_ignores_whatever_a_frame_carries_in_attrs():
    subs = pd.DataFrame({"subscription_id": ["S1", "S1"], "customer_id": ["A", None],
                         "start_date": pd.to_datetime(["2024-01-01"] * 2), "mrr": [-1.0, 5.0]})
    subs.attrs["anything"] = {"mrr": pd.Series([True, False])}  # what broke pandas before
    checks = sorted(f["check"] for f in check_table(subs, TABLES["subscriptions"]))
    assert checks == ["field_uniqueness", "not_negative", "not_nullable"]


def test_parsing_keeps_nothing_in_attrs():
    raw = pd.DataFrame({"customer_id": ["A", "B"], "signup_date": ["x", "2024-01-01"]})
    df, _, unparsed = coerce_table(raw, TABLES["customers"])
    assert df.attrs == {}
    assert unparsed["signup_date"].tolist() == [True, False]


# A property test: any mix of rule breaks, one per row, is reported exactly — one failure per
# column and check, with the right row count and every row's line — and never a crash.
# Each break: (what it writes into a row, the (column, check) it must produce or None).
BREAKS = {
    "text_mrr": ({"mrr": "abc"}, ("mrr", "unparseable_number")),
    "inf_mrr": ({"mrr": "inf"}, ("mrr", "unparseable_number")),
    "huge_mrr": ({"mrr": "1e999"}, ("mrr", "unparseable_number")),
    "nan_mrr": ({"mrr": "NaN"}, ("mrr", "unparseable_number")),
    "negative_mrr": ({"mrr": "-5"}, ("mrr", "not_negative")),
    "duplicate_id": ({"subscription_id": "S0"}, ("subscription_id", "field_uniqueness")),
    "reversed": ({"end_date": "2024-01-15"}, ("end_date", "end_before_start")),
    "no_customer": ({"customer_id": ""}, ("customer_id", "not_nullable")),
    "no_start": ({"start_date": ""}, ("start_date", "not_nullable")),
    "no_mrr": ({"mrr": ""}, ("mrr", "not_nullable")),
    "text_start": ({"start_date": "soon"}, ("start_date", "unparseable_date")),
    "partial_start": ({"start_date": "2024-03"}, ("start_date", "partial_date")),
    "old_start": ({"start_date": "1850-06-01"}, ("start_date", "date_out_of_range")),
    "empty_row": ({c: "" for c in SUBSCRIPTIONS_HEADER.split(",")}, (None, "empty_rows")),
    "never_ends": ({"end_date": "9999-12-31"}, ("end_date", "open_ended_date")),
    "postgres_offset": ({"start_date": "2024-02-01 10:00:00-05"}, None),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(BREAKS)), min_size=1, max_size=8, unique=True))
def test_any_mix_of_rule_breaks_is_reported_per_column_with_its_lines(breaks):
    columns = SUBSCRIPTIONS_HEADER.split(",")
    rows = good_rows()
    expected: dict[tuple, set[int]] = {}  # (column, check) -> file lines
    for row, name in enumerate(breaks, start=1):  # S0 (line 2) stays intact
        change, outcome = BREAKS[name]
        for column, value in change.items():
            rows[row][columns.index(column)] = value
        if outcome is not None:
            lines = expected.setdefault(outcome, set())
            lines |= {row + 2} | ({2} if name == "duplicate_id" else set())
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tables(Path(tmp), {"customers": CUSTOMERS,
                                          "subscriptions": subscriptions_csv(rows)})
        errors = {k: v for k, v in expected.items() if k[1] != "open_ended_date"}
        if errors:
            with pytest.raises(DataContractError) as info:
                load_dataset(folder)
            found = info.value.failures.to_dict("records")
        else:
            found = load_dataset(folder).notes
    wanted = errors or expected
    by_key = {(f["column"] if isinstance(f["column"], str) else None, f["check"]): f for f in found}
    assert len(by_key) == len(found)  # one failure per column and check
    assert set(by_key) == set(wanted)
    for (column, check), lines in wanted.items():
        record = by_key[(column, check)]
        assert record["rows"] == len(lines)
        assert record["message"].startswith(f"subscriptions.{column}:" if column else "subscriptions:")
        for line in sorted(lines)[:3]:
            assert f"line {line}" in record["message"]


# --------------------------------------------------------------------------- 2. every problem


def test_missing_values_in_three_required_columns_are_each_named(tmp_path):
    # Before: all three were reported under subscriptions.customer_id.
    rows = good_rows(4)
    rows[0][1] = ""  # S0 customer_id, line 2
    rows[1][2] = ""  # S1 start_date, line 3
    rows[2][4] = ""  # S2 mrr, line 4
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS,
                                           "subscriptions": subscriptions_csv(rows)})
    code, out = validate(folder)
    assert code == 2
    for column, label in (("customer_id", "S0 on line 2"), ("start_date", "S1 on line 3"),
                          ("mrr", "S2 on line 4")):
        assert (f"subscriptions.{column}: missing values in a required column in 1 row "
                f"(e.g. {label})") in out
    assert "fill in the missing values" in out


def test_rows_without_their_id_are_named_by_line_not_nan(tmp_path):
    rows = good_rows(3)
    rows[1][0] = ""  # S1's id is gone: line 3
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS,
                                           "subscriptions": subscriptions_csv(rows)})
    code, out = validate(folder)
    assert code == 2
    assert "subscriptions.subscription_id: missing values in a required column in 1 row (e.g. line 3)" in out
    assert "e.g. nan" not in out


def test_title_lines_above_the_header_count_in_line_numbers(tmp_path):
    # One title line and a blank one: the header is line 3, S0 line 4, S1 line 5.
    text = "Subscriptions export\n\n" + subscriptions_csv([["S0", "C0", "2024-02-01", "", "10"],
                                                         ["S1", "C1", "2024-02-01", "", "x"]])
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS})
    (folder / "subscriptions.csv").write_text(text)
    code, out = validate(folder)
    assert code == 2
    assert "S1 on line 5: 'x'" in out


# --------------------------------------------------------------------------- 3. dates


OFFSET_FORMS = ["2024-03-01 10:00:00-05", "2024-03-01 10:00:00-0500", "2024-03-01T10:00:00-05:00",
                "2024-03-01T15:00:00Z", "2024-03-01 15:00:00 UTC", "2024-03-01T20:30:00+05:30",
                "2024-03-01T10:00-05"]


@pytest.mark.parametrize("timezone, expected", [
    ("UTC", "2024-03-01 15:00"),               # 10:00 at UTC-5 is 15:00 UTC
    ("America/New_York", "2024-03-01 10:00"),  # New York is at UTC-5 in March (before DST)
    ("Asia/Tokyo", "2024-03-02 00:00"),        # Tokyo is UTC+9: 15:00 + 9 h
])
def test_every_iso_offset_form_is_the_same_instant_in_the_reporting_zone(timezone, expected):
    raw = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(len(OFFSET_FORMS))],
                        "customer_id": "A", "opened_at": OFFSET_FORMS})
    df, failures, _ = coerce_table(raw, TABLES["tickets"], timezone=timezone)
    assert failures == []
    assert set(df["opened_at"]) == {pd.Timestamp(expected)}


def test_a_date_column_with_an_offset_takes_the_day_in_the_reporting_zone():
    # 23:00 at UTC-5 on 1 March is 04:00 UTC on 2 March.
    raw = pd.DataFrame({"customer_id": ["A"], "signup_date": ["2024-03-01 23:00:00-05"]})
    df, failures, _ = coerce_table(raw, TABLES["customers"])
    assert failures == [] and df["signup_date"].tolist() == [pd.Timestamp("2024-03-02")]


def test_postgres_offsets_pass_validate(tmp_path):
    folder = write_tables(tmp_path / "d", {**GOOD_TABLES, "tickets": (
        "ticket_id,customer_id,opened_at,closed_at\n"
        "T1,00123,2024-03-01 10:00:00-05,2024-03-01 12:00:00-0500\n")})
    code, out = validate(folder, "--timezone", "America/New_York")
    assert code == 0, out


@pytest.mark.parametrize("sentinel", ["9999-12-31", "2999-12-31", "2200-01-01", "9999-12-31 23:59:59"])
def test_a_never_ends_end_date_is_open_ended_and_reported(tmp_path, sentinel):
    rows = good_rows(3)
    rows[1][3] = sentinel  # S1, line 3
    rows[2][3] = sentinel  # S2, line 4
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS,
                                           "subscriptions": subscriptions_csv(rows)})
    dataset = load_dataset(folder)
    assert dataset.subscriptions["end_date"].isna().all()
    notes = data_quality(dataset)
    note = notes[notes["check"] == "open_ended_date"].iloc[0]
    assert (note["severity"], note["column"], note["rows"]) == ("warning", "end_date", 2)
    assert "line 3" in note["message"] and "line 4" in note["message"]
    assert "S1" not in note["message"]  # warnings reach reports: lines, not ids
    code, out = validate(folder)
    assert code == 0
    assert "subscriptions.end_date: dates from 2200-01-01 on" in out and "open-ended" in out


def test_a_sentinel_in_a_typed_parquet_column_is_open_ended_too(tmp_path):
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS})
    pd.DataFrame({"subscription_id": ["S0", "S1"], "customer_id": ["C0", "C1"],
                  "start_date": pd.to_datetime(["2024-01-01", "2024-02-01"]).astype("datetime64[us]"),
                  "end_date": pd.Series([pd.Timestamp("9999-12-31"), pd.NaT], dtype="datetime64[us]"),
                  "mrr": [10.0, 20.0]}).to_parquet(folder / "subscriptions.parquet")
    dataset = load_dataset(folder)
    assert dataset.subscriptions["end_date"].isna().all()
    assert [n["check"] for n in dataset.notes] == ["open_ended_date"]
    assert dataset.notes[0]["examples"] == ["row 1: '9999-12-31'"]  # no file lines: row 1


@pytest.mark.parametrize("value", ["9999-12-31", "1850-06-01", "0001-01-01"])
def test_a_date_out_of_range_outside_an_end_column_is_an_error_naming_the_setting(tmp_path, value):
    folder = write_tables(tmp_path / "d", {
        "customers": f"customer_id,signup_date\nC1,2024-01-05\nC2,{value}\n"})
    code, out = validate(folder)
    assert code == 2
    assert (f"customers.signup_date: dates before {EARLIEST_DATE:%Y-%m-%d} or from "
            f"{OPEN_ENDED_FROM:%Y-%m-%d} on in 1 row (e.g. C2 on line 3: '{value}')") in out
    assert "EARLIEST_DATE and OPEN_ENDED_FROM in csm_kit.data.contract" in out


@pytest.mark.parametrize("value", ["2024", "2024-03", "2024/3"])
def test_a_year_or_month_alone_is_not_taken_as_a_full_date(tmp_path, value):
    folder = write_tables(tmp_path / "d", {
        "customers": f"customer_id,signup_date\nC1,2024-01-05\nC2,{value}\n"})
    code, out = validate(folder)
    assert code == 2
    assert f"customers.signup_date: dates without a day (a year or a month alone) in 1 row (e.g. C2 on line 3: '{value}')" in out
    assert "write full dates such as 2024-03-01" in out


def test_a_month_column_still_takes_a_year_and_month():
    raw = pd.DataFrame({"customer_id": ["A"], "month": ["2024-03"], "active_users": ["3"]})
    df, failures, _ = coerce_table(raw, TABLES["usage"])
    assert failures == [] and df["month"].tolist() == [pd.Timestamp("2024-03-01")]


# --------------------------------------------------------------------------- 4. numbers


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "NaN", "Infinity"])
def test_a_number_that_is_not_finite_is_rejected_with_its_line(tmp_path, value):
    rows = good_rows(2)
    rows[1][4] = value  # S1, line 3
    folder = write_tables(tmp_path / "d", {"customers": CUSTOMERS,
                                           "subscriptions": subscriptions_csv(rows)})
    code, out = validate(folder)
    assert code == 2
    assert f"subscriptions.mrr: values that are not (finite) numbers in 1 row (e.g. S1 on line 3: '{value}')" in out
    assert "inf and NaN are not amounts" in out


def test_an_infinite_number_typed_by_a_database_is_rejected():
    raw = pd.DataFrame({"subscription_id": ["S1", "S2", "S3"], "customer_id": ["A"] * 3,
                        "start_date": ["2024-01-01"] * 3, "mrr": [10.0, np.inf, np.nan]})
    df, failures, _ = coerce_table(raw, TABLES["subscriptions"])
    # inf is reported; a typed NaN is a missing value (reported later, by the rules, as missing)
    assert [(f["check"], f["rows"]) for f in failures] == [("unparseable_number", 1)]
    assert df["mrr"].isna().tolist() == [False, True, True]


def test_an_infinite_whole_number_is_rejected():
    raw = pd.DataFrame({"ticket_id": ["T1"], "customer_id": ["A"], "opened_at": ["2024-01-01"],
                        "contacts": ["inf"]})
    _, failures, _ = coerce_table(raw, TABLES["tickets"])
    assert [f["check"] for f in failures] == ["not_whole_number"]


# --------------------------------------------------------------------------- all at once


def test_the_bundled_sample_with_a_break_of_every_class_names_them_all(tmp_path):
    # The bundled sample's customers, subscriptions, tickets and usage, each broken in a
    # few lines; one validate run must name every problem with its line, and read the
    # PostgreSQL offsets and the "never ends" date.
    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    folder = tmp_path / "d"
    folder.mkdir()
    edits = {  # table: {line: (column, value)} — line 1 is the header
        "customers": {2: ("signup_date", "03/14/2024"), 3: ("signup_date", "2024-03")},
        "subscriptions": {2: ("mrr", "inf"), 3: ("mrr", "-5"), 4: ("end_date", "9999-12-31"),
                          5: ("customer_id", ""), 6: ("start_date", "")},
        "tickets": {2: ("opened_at", "2024-03-01 10:00:00-05"), 3: ("closed_at", "1e999")},
        "usage": {2: ("active_users", "NaN"), 3: ("month", "1850-01-01")},
    }
    for table, changes in edits.items():
        lines = (sample / f"{table}.csv").read_text().splitlines()
        header = lines[0].split(",")
        for line, (column, value) in changes.items():
            cells = lines[line - 1].split(",")
            cells[header.index(column)] = value
            lines[line - 1] = ",".join(cells)
        if table == "customers":
            lines.insert(4, "," * (len(header) - 1))  # an empty row, line 5
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n")
    code, out = validate(folder)
    assert code == 2
    expected = [
        "customers.signup_date: dates without a day (a year or a month alone) in 1 row (e.g. C000002 on line 3: '2024-03')",
        "customers: rows with no value at all in 1 row (e.g. line 5)",
        "subscriptions.mrr: values that are not (finite) numbers in 1 row (e.g. S000001 on line 2: 'inf')",
        "subscriptions.mrr: negative values in 1 row",
        "subscriptions.customer_id: missing values in a required column in 1 row",
        "subscriptions.start_date: missing values in a required column in 1 row",
        "tickets.closed_at: timestamps that do not parse in 1 row",
        "usage.active_users: values that are not whole numbers in 1 row (e.g. customer C000002 on line 2: 'NaN')",
        "usage.month: dates before 1900-01-01 or from 2200-01-01 on in 1 row",
    ]
    for text in expected:
        assert text in out
    assert "opened_at" not in out and "end_date" not in out  # read, not errors
