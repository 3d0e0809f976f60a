"""Reading CSV files as spreadsheets and SaaS tools write them: encodings, delimiters, title
lines, two header rows — and the mapping options that override the detection."""

from __future__ import annotations

import pytest

from csm_kit.data.readers import ReadOptions, csv_header, detect_encoding, read_csv_file
from csm_kit.errors import ConfigError, DataSourceError

HEADER = "customer_id;name;amount\n"
ROWS = "00123;Müller & Söhne;1.234,50\n00124;Zoë Café;99,00\n"


def test_a_utf8_file_with_a_byte_order_mark_keeps_its_first_column_name(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("\ufeffcustomer_id,name\n00123,Zoë\n".encode())
    df = read_csv_file(path)
    assert df.columns.tolist() == ["customer_id", "name"]
    assert df["customer_id"].tolist() == ["00123"]  # text: the leading zeros stay


def test_a_cp1252_semicolon_file_from_excel_is_decoded_and_split(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes((HEADER + ROWS * 20).encode("cp1252"))
    assert detect_encoding(path) == "cp1252"
    df = read_csv_file(path)
    assert df.columns.tolist() == ["customer_id", "name", "amount"]
    assert df["name"].iloc[0] == "Müller & Söhne"
    assert df["amount"].iloc[0] == "1.234,50"  # values stay text; values.py reads the money


def test_title_lines_above_the_header_are_skipped(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("Subscriptions report\nExported on 2024-04-01\n\nid,amount\nS1,10\nS2,20\n")
    df = read_csv_file(path)
    assert df.columns.tolist() == ["id", "amount"] and df["id"].tolist() == ["S1", "S2"]


def test_a_title_with_other_line_ends_than_the_rows_is_skipped_too(tmp_path):
    # DuckDB's sniffer gives up on a CRLF title above LF rows; two agreeing lines settle it
    path = tmp_path / "c.csv"
    path.write_bytes(b"Subscriptions export\r\n\r\nid;amount\nS1;1,5\nS2;2\n")
    df = read_csv_file(path)
    assert df.to_dict("list") == {"id": ["S1", "S2"], "amount": ["1,5", "2"]}


def test_the_mapping_options_override_the_detection(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("junk line\nid|name\n1|Zoë\n".encode("latin-1"))
    df = read_csv_file(path, ReadOptions(encoding="latin-1", delimiter="|", skip_rows=1))
    assert df.to_dict("list") == {"id": ["1"], "name": ["Zoë"]}


def test_two_header_rows_make_one_name_per_column_like_surveymonkey(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Respondent ID,Which plan?,,Comment\n,Basic,Pro,Open-Ended Response\n"
                    "1,Basic,,fine\n")
    df = read_csv_file(path, ReadOptions(header_rows=2))
    assert df.columns.tolist() == ["Respondent ID", "Which plan? / Basic", "Which plan? / Pro",
                                   "Comment"]
    assert df["Which plan? / Basic"].tolist() == ["Basic"]
    assert csv_header(path)[:2] == ["Respondent ID", "Which plan?"]


def test_an_unreadable_file_names_the_setting_that_would_help(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,name\n1,\xff\xfe\xfa\n")
    with pytest.raises(DataSourceError, match="encoding"):
        read_csv_file(path, ReadOptions(encoding="utf-8"))


@pytest.mark.parametrize(("entry", "message"), [
    ({"decimal": ";"}, "decimal must be one of"),
    ({"delimiter": ";;"}, "delimiter must be one character"),
    ({"skip_rows": -1}, "skip_rows must be a whole number"),
    ({"encoding": "klingon"}, "encoding must be a Python codec"),
    ({"date_format": "DD/MM/YYYY"}, "date_format must be a strftime format"),
])
def test_bad_reading_options_say_what_is_allowed(entry, message):
    with pytest.raises(ConfigError, match=message):
        ReadOptions.from_mapping("subscriptions", entry)
