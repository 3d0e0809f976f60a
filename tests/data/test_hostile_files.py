"""Hostile files: every file-level problem is exit 2 naming the file, table, lines and fix.

Each test breaks one file of a small generated sample (tests/hostile_files.py) the way real
exports break, runs ``csm-kit validate`` (and ``report`` where validate accepts), and checks
the message names what a person needs to fix it, with no traceback.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from csm_kit import cli
from csm_kit.cli import app
from csm_kit.data.loading import load_dataset
from csm_kit.data.readers import ReadOptions, read_csv_file
from csm_kit.errors import ConfigError, DataContractError
from tests import hostile_files as hf

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return hf.sample_folder(tmp_path_factory.mktemp("pristine") / "data")


@pytest.fixture
def folder(pristine, tmp_path, monkeypatch) -> Path:
    # Each finding on one line of the CLI's table. The consoles may have fixed their width
    # when csm_kit.cli was first imported (from COLUMNS then), so set it on them, restored after.
    monkeypatch.setattr(cli.err, "_width", 1000)
    monkeypatch.setattr(cli.stdout, "_width", 1000)
    return Path(shutil.copytree(pristine, tmp_path / "data"))


def validate(folder: Path, *args: str):
    result = runner.invoke(app, ["validate", "--data", str(folder), *args])
    assert "Traceback" not in result.output
    return result, " ".join(result.output.split())


def refused(folder: Path, *args: str) -> str:
    result, flat = validate(folder, *args)
    assert result.exit_code == 2, result.output
    return flat


# --------------------------------------------------------------------------- empty files


def test_a_zero_byte_csv_is_refused_as_empty(folder):
    hf.break_empty(folder, "tickets")
    flat = refused(folder)
    assert "tickets: " in flat and "tickets.csv is empty (0 bytes)" in flat
    # A whole-file problem has no row count: the rows column shows a dash, not "0".
    assert "│ error │ — │ tickets: " in flat


def test_a_header_only_customers_file_is_refused_there_is_nothing_to_report(folder):
    hf.break_header_only(folder, "customers")
    flat = refused(folder)
    assert "customers: customers.csv has a header but no rows" in flat
    # ... and only that: not one "unmatched customer" error per other table
    assert "unmatched" not in flat and "not in the customers table" not in flat


def test_report_refuses_a_header_only_customers_file_as_validate_does(folder, tmp_path):
    hf.break_header_only(folder, "customers")
    result = runner.invoke(app, ["report", "--data", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "customers.csv has a header but no rows" in " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_an_empty_customers_table_in_a_database_is_refused_naming_it(folder, tmp_path):
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv('{folder}/customers.csv', "
                    "all_varchar=true) LIMIT 0")
    with pytest.raises(DataContractError, match="customers: the customers table has a header but no rows"):
        load_dataset(database)


def test_header_only_tables_other_than_customers_validate_and_report(folder, tmp_path):
    # Every table but customers and subscriptions exported with no rows: validate accepts
    # it, so report must run on it (here the notebooks that read those tables).
    for table in ("surveys", "tickets", "usage", "renewals", "activities", "transactions"):
        hf.break_header_only(folder, table)
    result, _ = validate(folder)
    assert result.exit_code == 0, result.output
    dataset = load_dataset(folder)
    assert len(dataset.tickets) == 0 and len(dataset.surveys) == 0
    report = runner.invoke(app, ["report", "--data", str(folder), "--out", str(tmp_path / "out"),
                                 "--notebooks", "03,07", "--jobs", "1"])
    assert report.exit_code == 0, report.output


# --------------------------------------------------------------------------- not CSV


def test_an_excel_workbook_saved_as_csv_is_named_as_such(folder):
    hf.break_as_xlsx(folder, "tickets")
    flat = refused(folder)
    assert "tickets.csv is not a CSV file: it is a zip archive (an Excel .xlsx" in flat
    assert "save it as CSV" in flat


@pytest.mark.parametrize(("content", "expected"), [
    (bytes(range(256)) * 20, "is not a text (CSV) file: no text encoding fits it"),
    (b"SQLite format 3\x00" + b"\x00" * 100, "is not a CSV file: it is a SQLite database"),
    (b"%PDF-1.7\n" + b"\x00\xff" * 50, "is not a CSV file: it is a PDF document"),
])
def test_a_binary_file_named_csv_is_a_clear_error(folder, content, expected):
    (folder / "usage.csv").write_bytes(content)
    flat = refused(folder)
    assert "usage: " in flat and f"usage.csv {expected}" in flat


def test_a_folder_under_a_table_file_name_is_a_clear_error(folder):
    (folder / "tickets.csv").unlink()
    (folder / "tickets.csv").mkdir()
    flat = refused(folder)
    assert "tickets.csv cannot be read (Is a directory)" in flat


def test_a_corrupt_parquet_file_is_a_clear_error(folder):
    hf.break_as_parquet(folder, "tickets")
    flat = refused(folder)
    assert "tickets: " in flat and "tickets.parquet is not a readable Parquet file" in flat


def test_a_text_file_named_duckdb_is_a_clear_error(tmp_path):
    fake = tmp_path / "crm.duckdb"
    fake.write_text("customer_id,signup_date\nC1,2024-01-01\n")
    result = runner.invoke(app, ["validate", "--data", str(fake)])
    assert result.exit_code == 2
    assert "cannot be opened as a DuckDB database" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_gzipped_csv_reads_and_a_broken_one_is_named(folder):
    import gzip

    rows = len(hf.lines(folder, "tickets")) - 1
    data = (folder / "tickets.csv").read_bytes()
    (folder / "tickets.csv").unlink()
    (folder / "tickets.csv.gz").write_bytes(gzip.compress(data))
    assert len(load_dataset(folder).tickets) == rows
    (folder / "tickets.csv.gz").write_bytes(gzip.compress(data)[:-40])  # cut short
    flat = refused(folder)
    assert "tickets.csv.gz is not a readable gzip file" in flat


def test_init_notes_a_file_it_cannot_read_instead_of_listing_no_columns(folder):
    hf.break_empty(folder, "tickets")
    hf.break_as_xlsx(folder, "usage")
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    for name in ("tickets.csv", "usage.csv"):
        assert f"{name} could not be read as CSV" in result.output


def test_a_cp1252_file_from_excel_still_reads(folder):
    hf.break_encoding(folder, "customers", "name", line=5)
    dataset = load_dataset(folder)
    assert dataset.customers["name"].iloc[3] == "Caf\u00e9"  # line 5 = the 4th data row


def test_a_file_that_is_not_the_encoding_the_mapping_says_names_the_line(folder, tmp_path):
    line = hf.break_encoding(folder, "customers", "name", line=7)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("customers:\n  encoding: utf-8\n")
    flat = refused(folder, "--mapping", str(mapping))
    assert f"customers.csv is not valid UTF-8 at line {line}" in flat
    assert "set encoding:" in flat


# --------------------------------------------------------------------------- fields and rows


def test_money_with_an_unquoted_thousands_separator_names_every_such_line(folder):
    hf.break_money(folder, line=4)
    hf.break_money(folder, line=9)
    flat = refused(folder)
    # the header has 8 fields; "$1,234.50" splits into two, so those lines have 9
    assert "subscriptions.csv: 2 lines have more fields than the header's 8" in flat
    assert "line 4 (9 fields), line 9 (9 fields)" in flat
    assert '"$1,234.50"' in flat


def test_an_extra_field_on_the_first_data_row_is_not_taken_as_an_index(folder):
    # pandas takes the first column as the index when row 1 is one field wider than the
    # header, shifting every value one column; the kit must refuse it instead.
    hf.break_money(folder, line=2)
    flat = refused(folder)
    assert "line 2 (9 fields)" in flat


def test_a_quote_that_is_never_closed_names_the_line_it_opens_on(folder):
    rows = hf.lines(folder, "tickets")
    rows[6] = rows[6].replace(",email,", ',"email,', 1) if ",email," in rows[6] else rows[6] + ',"x'
    hf.write_lines(folder, "tickets", rows)
    flat = refused(folder)
    assert "tickets.csv: the quote that opens a value on line 7 is never closed" in flat


def test_excel_trailing_empty_columns_and_rows_are_dropped_and_no_row_with_data(folder):
    rows = hf.break_excel_blanks(folder, "subscriptions", empty_rows=3)
    dataset = load_dataset(folder)
    assert len(dataset.subscriptions) == rows  # every data row; the 3 empty ones are gone
    assert not [c for c in dataset.subscriptions.columns if str(c).startswith("Unnamed")]


def test_an_empty_row_between_rows_with_data_is_not_dropped_silently(folder):
    rows = hf.lines(folder, "subscriptions")
    hf.write_lines(folder, "subscriptions", rows[:3] + ["," * rows[0].count(",")] + rows[3:])
    with pytest.raises(DataContractError, match="subscriptions: rows with no value at all in 1 row "
                                                r"\(e.g. line 4\)"):
        load_dataset(folder)


def test_a_us_date_and_excels_empty_trailing_rows_validate(folder):
    # the customers.csv: a month-first date (14 > 12 settles it) and ",," rows at
    # the end; the empty rows are dropped, the date is read as 14 March.
    rows = hf.lines(folder, "customers")
    header = rows[0].split(",")
    cells = rows[1].split(",")
    cells[header.index("signup_date")] = "03/14/2024"
    hf.write_lines(folder, "customers", [rows[0], ",".join(cells), *rows[2:]] + ["," * (len(header) - 1)] * 2)
    result, _ = validate(folder)
    assert result.exit_code == 0, result.output
    assert load_dataset(folder).customers["signup_date"].iloc[0] == pd.Timestamp("2024-03-14")


def test_a_semicolon_file_read_as_comma_separated_gets_the_separator_hint(folder, tmp_path):
    hf.break_separator(folder, "subscriptions", ";")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("subscriptions:\n  delimiter: ','\n")
    flat = refused(folder, "--mapping", str(mapping))
    assert "subscriptions.csv: the header (line 1) is one column" in flat
    assert "seems to use ';' as separator, not ','; set delimiter: ';'" in flat
    assert "required column is missing" not in flat


def test_a_tab_file_read_as_comma_separated_gets_the_separator_hint(folder):
    hf.break_separator(folder, "tickets", "\t")
    with pytest.raises(Exception, match=r"seems to use a tab as separator.*delimiter: \"\\t\""):
        read_csv_file(folder / "tickets.csv", ReadOptions(delimiter=",", skip_rows=0))


def test_semicolon_and_tab_files_are_still_detected_without_a_mapping(folder):
    rows = {table: len(hf.lines(folder, table)) - 1 for table in ("subscriptions", "tickets")}
    hf.break_separator(folder, "subscriptions", ";")
    hf.break_separator(folder, "tickets", "\t")
    dataset = load_dataset(folder)
    assert len(dataset.subscriptions) == rows["subscriptions"]
    assert len(dataset.tickets) == rows["tickets"]


def test_a_duplicated_header_is_refused_naming_the_column_and_both_positions(folder):
    first, second = hf.break_duplicate_header(folder, "subscriptions", "mrr")
    flat = refused(folder)
    # mrr is the 5th of 8 columns; the copy is appended as the 9th
    assert (first, second) == (5, 9)
    assert "subscriptions.csv: the header (line 1) names column 'mrr' twice, in columns 5 and 9" in flat


def test_a_query_result_with_two_columns_of_one_name_is_refused(folder, tmp_path):
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        for table in ("customers", "subscriptions"):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{folder / table}.csv', all_varchar=true)")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("subscriptions:\n  query: SELECT *, mrr FROM subscriptions\n")
    with pytest.raises(DataContractError, match="more than one column named 'mrr' in columns 5, 9"):
        load_dataset(database, mapping=mapping)


# --------------------------------------------------------------------------- the mapping file


@pytest.mark.parametrize(("content", "expected"), [
    (b"- customers\n- subscriptions\n", "the top level must be a dictionary of table names (customers:, subscriptions:, …), got a list"),
    (b"customers\n", "the top level must be a dictionary of table names (customers:, subscriptions:, …), got the text 'customers'"),
    (b"customers: 5\n", "mapping for customers must be a dictionary (table:, columns: …), got the number 5"),
    (b"customers:\n  table: 5\n", "mapping for customers.table must be text, got the number 5"),
    (b"customers:\n  columns: [a, b]\n", "mapping for customers.columns must map canonical names to yours"),
    (b"customers:\n  headers: id\n", "mapping for customers.headers must be a list of column names"),
    (b"recipe: 5\n", "recipe: must be a recipe name such as stripe"),
    (b"surveys:\n  scales: 5\n", "mapping for surveys: survey scales must be text like csat=1-10"),
    (b"customers:\n  table: caf\xe9.csv\n", "is not UTF-8 text (line 2 holds the byte 0xe9); save it as UTF-8"),
    (b"customers:\n  columns: {customer_id: id\n", "is not valid YAML at line 3, column 1"),
    (b"customers:\n  table: a.csv\ncustomers:\n  table: b.csv\n", "line 3: the key 'customers' is written twice (first at line 1)"),
])
def test_a_malformed_mapping_file_names_the_file_the_key_and_what_was_expected(
        folder, tmp_path, content, expected):
    mapping = tmp_path / "bad-mapping.yaml"
    mapping.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_dataset(folder, mapping=mapping)
    assert str(mapping) in str(caught.value)
    assert expected in str(caught.value)
    flat = refused(folder, "--mapping", str(mapping))
    assert expected in flat


@pytest.mark.parametrize(("content", "expected"), [
    ("customers:\n  sep: ';'\n", "got ['sep']; did you mean delimiter: instead of sep:?"),
    ("customers:\n  colums: {customer_id: id}\n", "did you mean columns: instead of colums:?"),
    ("customer:\n  table: customers.csv\n", "got 'customer'; did you mean customers: instead of customer:?"),
    ("customers:\n  table: customers.csv\n  query: SELECT 1\n", "has both table: and query:; keep one"),
])
def test_an_unknown_or_contradictory_mapping_key_is_refused_with_the_likely_one(
        folder, tmp_path, content, expected):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_dataset(folder, mapping=mapping)


def test_every_problem_of_a_mapping_file_is_named_in_one_run(folder, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("customers:\n  table: 5\nsubscriptions:\n  sep: ';'\n"
                       "surveys:\n  scales: 5\naccept: [nope]\n")
    with pytest.raises(ConfigError) as caught:
        load_dataset(folder, mapping=mapping)
    message = str(caught.value)
    assert message.startswith(f"mapping file {mapping}: 4 problems:")
    for expected in ("customers.table must be text", "did you mean delimiter: instead of sep:",
                     "mapping for surveys: survey scales must be text", "accept: must be a list"):
        assert expected in message


def test_a_query_on_a_folder_source_is_refused_not_ignored(folder, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("subscriptions:\n  query: SELECT * FROM billing WHERE mrr > 0\n")
    flat = refused(folder, "--mapping", str(mapping))
    assert "subscriptions: the mapping gives subscriptions a query:, which runs SQL on a database" in flat
    assert "name the file with table: instead" in flat


def test_a_column_mapping_for_a_table_that_is_not_there_is_refused(folder, tmp_path):
    (folder / "usage.csv").unlink()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("usage:\n  columns:\n    active_users: dau\n")
    flat = refused(folder, "--mapping", str(mapping))
    assert "usage: the mapping has an entry for usage, but" in flat
    assert "has no usage.csv, usage.csv.gz, usage.parquet" in flat


def test_a_recipe_entry_for_an_export_that_is_not_there_stays_optional(folder):
    # recipes find their exports by headers: a missing export is simply not used
    dataset = load_dataset(folder, mapping={"tickets": {"headers": ["Ticket ID", "Requester"],
                                                        "columns": {"ticket_id": "Ticket ID"}}})
    assert dataset.tickets is None


def test_csv_reading_options_on_a_parquet_file_are_refused(folder, tmp_path):
    pd.read_csv(folder / "tickets.csv", dtype=str).to_parquet(folder / "tickets.parquet")
    (folder / "tickets.csv").unlink()
    with pytest.raises(DataContractError, match=r"tickets: the mapping gives tickets encoding: "
                       r"which only a CSV file has, but tickets.parquet is Parquet"):
        load_dataset(folder, mapping={"tickets": {"encoding": "cp1252"}})


def test_a_query_the_database_cannot_run_is_named_with_its_table(folder, tmp_path):
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv('{folder}/customers.csv', all_varchar=true)")
    mapping = {"subscriptions": {"query": "SELECT * FROM billing"}, "tickets": {"table": "helpdesk"}}
    with pytest.raises(DataContractError) as caught:
        load_dataset(database, mapping=mapping)
    messages = caught.value.failures.set_index("table")["message"]
    assert "the query: of subscriptions failed in" in messages["subscriptions"]
    assert "billing" in messages["subscriptions"]  # DuckDB's words: no table named billing
    assert "has no table 'helpdesk'" in messages["tickets"]  # both named in one run


def test_csv_reading_options_on_a_database_are_refused(folder, tmp_path):
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv('{folder}/customers.csv', all_varchar=true)")
    with pytest.raises(DataContractError, match="gives customers delimiter: which only a CSV file has"):
        load_dataset(database, mapping={"customers": {"delimiter": ";"}})


# --------------------------------------------------------------------------- all at once


def test_five_broken_files_are_all_named_with_their_lines_in_one_run(folder, tmp_path):
    money_line = hf.break_money(folder, line=6)
    hf.break_duplicate_header(folder, "customers", "segment")
    hf.break_separator(folder, "tickets", ";")
    encoding_line = hf.break_encoding(folder, "activities", "csm", line=8)
    usage = hf.lines(folder, "usage")
    usage[10] += ",7"  # line 11: one field too many
    hf.write_lines(folder, "usage", usage)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("tickets:\n  delimiter: ','\nactivities:\n  encoding: utf-8\n")
    flat = refused(folder, "--mapping", str(mapping))
    assert "customers.csv: the header (line 1) names column 'segment' twice" in flat
    assert f"subscriptions.csv: 1 line has more fields than the header's 8: line {money_line}" in flat
    assert "tickets.csv: the header (line 1) is one column" in flat
    assert f"activities.csv is not valid UTF-8 at line {encoding_line}" in flat
    assert "usage.csv: 1 line has more fields than the header's 5: line 11 (6 fields)" in flat
    assert "5 problem(s) must be fixed" in flat


@pytest.mark.parametrize(("with_data", "empty"), [(5, 0), (5, 3), (0, 4), (3, 2500), (2000, 10)])
def test_only_the_empty_rows_at_the_end_are_dropped_however_many(with_data, empty):
    from csm_kit.data.file_problems import drop_excel_blanks

    # rows with data first (one of them with an empty first field), the empty ones after
    frame = pd.DataFrame({"a": ["x", None] * (with_data // 2) + ["x"] * (with_data % 2) + [None] * empty,
                          "b": ["y"] * with_data + [None] * empty})
    assert len(drop_excel_blanks(frame)) == with_data
