"""Broken data files, one class each, written into a folder of the generated sample's CSVs.

``sample_folder(folder)`` writes a small sample (``csm_kit.sample.generator``, never a
hand-edited copy) as ``<table>.csv``; each ``break_*`` function then breaks one file the way
a real export does and returns the file line number the kit must name (``None`` where the
problem has no line: an empty or binary file).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from csm_kit.sample.generator import generate_sample

AS_OF = "2026-10-31"


def sample_folder(folder: Path, *, customers: int = 60, months: int = 12, seed: int = 11) -> Path:
    """Write a small generated sample as ``<table>.csv`` files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in generate_sample(customers=customers, months=months, seed=seed, end=AS_OF).items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def lines(folder: Path, table: str) -> list[str]:
    return (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()


def write_lines(folder: Path, table: str, rows: list[str], *, encoding: str = "utf-8") -> None:
    (folder / f"{table}.csv").write_bytes(("\n".join(rows) + "\n").encode(encoding))


def break_empty(folder: Path, table: str) -> None:
    """A 0-byte file, as a failed export leaves it."""
    (folder / f"{table}.csv").write_bytes(b"")


def break_header_only(folder: Path, table: str) -> None:
    """The header line and no rows: an export of an empty table."""
    write_lines(folder, table, lines(folder, table)[:1])


def break_as_xlsx(folder: Path, table: str) -> None:
    """An Excel workbook (a zip archive) saved under the ``.csv`` name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    (folder / f"{table}.csv").write_bytes(buffer.getvalue())


def break_as_parquet(folder: Path, table: str) -> None:
    """A truncated Parquet file in place of the CSV (magic bytes, then nothing usable)."""
    (folder / f"{table}.csv").unlink()
    (folder / f"{table}.parquet").write_bytes(b"PAR1" + b"\x00" * 40)


def break_money(folder: Path, *, line: int = 4) -> int:
    """subscriptions.mrr written ``$1,234.50`` unquoted on file line ``line``: one field too many."""
    rows = lines(folder, "subscriptions")
    header = rows[0].split(",")
    fields = rows[line - 1].split(",")
    fields[header.index("mrr")] = "$1,234.50"
    rows[line - 1] = ",".join(fields)
    write_lines(folder, "subscriptions", rows)
    return line


def break_duplicate_header(folder: Path, table: str, column: str) -> tuple[int, int]:
    """``column`` written twice in the header (a copy appended as the last column).

    Returns the two 1-based column positions.
    """
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    first = list(frame.columns).index(column) + 1
    frame.insert(len(frame.columns), f"{column}_copy", frame[column])
    text = frame.to_csv(index=False).replace(f",{column}_copy", f",{column}", 1)
    (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    return first, len(frame.columns)


def break_separator(folder: Path, table: str, sep: str = ";") -> int:
    """The table saved with ``sep`` between fields (Excel in a decimal-comma locale)."""
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    frame.to_csv(folder / f"{table}.csv", index=False, sep=sep)
    return 1


def break_encoding(folder: Path, table: str, column: str, *, line: int = 5) -> int:
    """A cp1252 'é' in ``column`` on file line ``line`` of an otherwise UTF-8 file."""
    rows = lines(folder, table)
    header = rows[0].split(",")
    fields = rows[line - 1].split(",")
    fields[header.index(column)] = "Caf\u00e9"
    rows[line - 1] = ",".join(fields)
    (folder / f"{table}.csv").write_bytes(
        b"\n".join(row.encode("cp1252" if i == line - 1 else "utf-8") for i, row in enumerate(rows)) + b"\n")
    return line


def break_excel_blanks(folder: Path, table: str, *, empty_rows: int = 3) -> int:
    """Excel's trailing empty columns (``,,``) on every line and empty rows at the end.

    Returns the number of data rows (unchanged: nothing with a value may be dropped).
    """
    rows = [row + ",," for row in lines(folder, table)]
    width = rows[0].count(",")
    write_lines(folder, table, rows + ["," * width] * empty_rows)
    return len(rows) - 1
