"""Exported tables open in spreadsheets as text, never as formulas; numbers stay numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.report.exports import neutralise_formulas, write_table
from tests.hostile import HOSTILE_TEXTS

ATTACKS = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", "+cmd|' /C calc'!A0",
           "-2+3", "\tTab", "\rReturn", "\u200b=1+1", "NUL\x00byte", "Acme\u202eCorp"]


def frame():
    return pd.DataFrame({"customer_id": ["00123", "00124", "00125", "00126", "00127", "00128",
                                         "00129", "00130", "00131"],
                         "name": ATTACKS, "mrr": [-5.0, 0.0, 1.5, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                         "accounts": [1, 2, 3, 4, 5, 6, 7, 8, 9]})


def test_cells_a_spreadsheet_would_run_are_prefixed_with_an_apostrophe():
    names = neutralise_formulas(frame())["name"].tolist()
    assert names[:6] == ["'" + a for a in ATTACKS[:6]]
    assert names[6] == "'=1+1"  # the zero-width space is removed first, then neutralised
    assert names[7:] == ["NULbyte", "AcmeCorp"]  # invisible characters removed, text kept


def test_csv_read_back_keeps_ids_numbers_and_neutralised_text(tmp_path):
    path = tmp_path / "at_risk.csv"
    write_table(frame(), path)
    back = pd.read_csv(path, dtype={"customer_id": str, "name": str}, keep_default_na=False)
    assert back["customer_id"].tolist()[0] == "00123"
    assert back["mrr"].tolist() == [-5.0, 0.0, 1.5, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert not back["name"].str.match(r"^[=+\-@\t\r]").any()


def test_xlsx_read_back_has_no_formula_cells(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "scorecard.xlsx"
    write_table(frame(), path, file_format="xlsx")
    sheet = openpyxl.load_workbook(path).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert [c.value for c in sheet["C"][1:]] == [-5, 0, 1.5, -2, 3, 4, 5, 6, 7]
    assert sheet["B2"].value == "'" + ATTACKS[0]


def test_every_hostile_text_is_safe_in_an_export():
    safe = neutralise_formulas(pd.DataFrame({"text": [f"{h} x" for h in HOSTILE_TEXTS]}))
    assert not safe["text"].str.match(r"^[=+\-@\t\r]").any()
    assert not safe["text"].str.contains("[\x00\u202e\u200b\ufeff]").any()
