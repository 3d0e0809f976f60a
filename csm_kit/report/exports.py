"""Writing tables people open in spreadsheets: CSV, JSON and XLSX, safe from formula injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``).
Text cells like that are prefixed with an apostrophe so spreadsheets show them as text;
numeric columns are never touched. NUL and other control characters, bidirectional
overrides and zero-width characters are removed from text cells (they would hide or
reorder what a reader sees); text is never cut.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.safe_text import strip_invisible

FORMATS = ("csv", "json", "xlsx")
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot be read as spreadsheet formulas.

    >>> df = pd.DataFrame({"name": ["=HYPERLINK(\\"x\\")", "Acme", "-5 deal"], "mrr": [-5.0, 1.0, 2.0]})
    >>> neutralise_formulas(df)["name"].tolist(), neutralise_formulas(df)["mrr"].tolist()
    (['\\'=HYPERLINK("x")', 'Acme', "'-5 deal"], [-5.0, 1.0, 2.0])
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            series = series.map(_visible, na_action="ignore")
            text = series.astype("str")
            risky = series.notna() & text.str.startswith(_TRIGGERS)
            out[column] = series.where(~risky, "'" + text)
    return out


def _visible(value):
    if not isinstance(value, str):
        return value
    return strip_invisible(value)  # tab and carriage return stay (then neutralised)


def write_table(frame: pd.DataFrame, path: str | Path | None, *, file_format: str = "csv") -> str | None:
    """Write ``frame`` as CSV, JSON (records) or XLSX, with formulas neutralised.

    ``path=None`` returns the CSV or JSON text instead of writing a file (for stdout).
    XLSX needs the optional ``openpyxl`` package.
    """
    if file_format not in FORMATS:
        raise ConfigError(f"format must be one of {list(FORMATS)}, got {file_format!r}")
    safe = neutralise_formulas(frame)
    if file_format == "xlsx":
        if path is None:
            raise ConfigError("xlsx output needs a file: pass --output FILE.xlsx")
        try:
            safe.to_excel(path, index=False)
        except ImportError as exc:
            raise ConfigError("xlsx output needs openpyxl: pip install openpyxl") from exc
        return None
    if file_format == "json":
        text = safe.to_json(orient="records", date_format="iso", indent=1)
    else:  # CRLF rows (RFC 4180): a carriage return inside a cell is then quoted, never a new row
        text = safe.to_csv(index=False, lineterminator="\r\n")
    if path is None:
        return text
    Path(path).write_text(text, encoding="utf-8", newline="")
    return None
