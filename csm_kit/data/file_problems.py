"""What can be wrong with a data file as a whole, found before any value is looked at.

Each check raises :class:`~csm_kit.errors.DataSourceError` with a message that names the
file, what is wrong (with file line numbers where there are any) and the fix. The loader
collects these per table, so one run names every broken file (see
:func:`csm_kit.data.loading.load_dataset`).

- :func:`check_is_text` — an empty file, or a binary one (an Excel workbook, a Parquet or
  database file, a PDF…) saved under a ``.csv`` name;
- :func:`check_header` — a header that is one field holding another separator (a ``;`` or
  tab file read as comma-separated), or a column name written twice;
- :func:`lines_with_extra_fields` — the lines that have more fields than the header, e.g.
  money written ``$1,234.50`` unquoted in a comma-separated file;
- :func:`drop_excel_blanks` — Excel's trailing empty ``,,`` columns and rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from csm_kit.errors import DataSourceError

#: File signatures (magic bytes at the start) of formats that are not text, and what they are.
SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)",
     "open it in Excel and save it as CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook", "open it in Excel and save it as CSV UTF-8"),
    (b"PAR1", "a Parquet file", "rename it to end in .parquet"),
    (b"SQLite format 3\x00", "a SQLite database",
     "export the table as CSV, or pass the database as --data sqlite:///path"),
    (b"%PDF", "a PDF document", "export the table as CSV from the tool that made it"),
    (b"\x1f\x8b", "a gzip-compressed file", "rename it to end in .csv.gz"),
)
#: Separators a header may hold when the file was read with the wrong one.
SEPARATORS = {";": "';'", "\t": "a tab", "|": "'|'", ",": "','"}
#: Rows at the end of a file looked at first for Excel's empty rows.
TAIL_ROWS = 1000
#: Lines named in a message (the count says how many there are in all).
MAX_LINES_SHOWN = 5


def check_is_text(path: Path) -> None:
    """Refuse an empty file, or a binary one saved under a text name (``.csv``, ``.txt``).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "tickets.csv"
    ...     _ = path.write_bytes(b"PK\\x03\\x04...")
    ...     check_is_text(path)
    Traceback (most recent call last):
    ...
    csm_kit.errors.DataSourceError: ...tickets.csv is not a CSV file: it is a zip archive (an Excel .xlsx workbook is one); open it in Excel and save it as CSV UTF-8
    """
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise DataSourceError(f"{path} is empty (0 bytes): it has no header line; export the "
                              "table again, or remove the file if you have no such data")
    if path.suffix.lower() == ".gz":
        return
    for magic, what, fix in SIGNATURES:
        if head.startswith(magic):
            raise DataSourceError(f"{path} is not a CSV file: it is {what}; {fix}")
    if head[8:12] == b"DUCK":
        raise DataSourceError(f"{path} is not a CSV file: it is a DuckDB database; pass it "
                              "itself as --data (named .duckdb)")


def check_header(path: Path, names: list, *, delimiter: str, line: int) -> None:
    """Refuse a header read with the wrong separator, or one naming a column twice.

    ``names`` are the header's fields as written (before pandas makes them unique), ``line``
    the header's line number in the file (1 = the first line).

    >>> check_header(Path("subs.csv"), ["id", "mrr", "plan", "mrr"], delimiter=",", line=1)
    Traceback (most recent call last):
    ...
    csm_kit.errors.DataSourceError: subs.csv: the header (line 1) names column 'mrr' twice, in columns 2 and 4; rename or remove one of them in the export (the kit will not guess which one is right)
    """
    texts = ["" if pd.isna(n) else str(n) for n in names]
    if len(texts) == 1:
        found = [mark for mark in SEPARATORS if mark != delimiter and mark in texts[0]]
        if found:
            raise wrong_separator(path, texts[0], used=delimiter,
                                  found=max(found, key=texts[0].count), line=line)
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(texts, start=1):
        if name.strip():
            positions.setdefault(name.strip(), []).append(i)
    twice = {name: where for name, where in positions.items() if len(where) > 1}
    if twice:
        listed = "; ".join(f"column {name!r} twice, in columns {_and(where)}"
                           if len(where) == 2 else
                           f"column {name!r} {len(where)} times, in columns {_and(where)}"
                           for name, where in twice.items())
        raise DataSourceError(
            f"{path}: the header (line {line}) names {listed}; rename or remove one of them in "
            "the export (the kit will not guess which one is right)")


def wrong_separator(path: Path, header: str, *, used: str, found: str, line: int) -> DataSourceError:
    """The error for a header that holds another separator than the one it is read with."""
    return DataSourceError(
        f"{path}: the header (line {line}) is one column, {_short(header.rstrip())}: this file "
        f"seems to use {SEPARATORS[found]} as separator, not {SEPARATORS.get(used, repr(used))}; "
        f"set delimiter: {_yaml(found)} for this table in the mapping, or save the file as "
        "comma-separated")


def lines_with_extra_fields(readable: Path, *, delimiter: str, skip: int,
                            original: Path) -> DataSourceError:
    """The error naming every line with more fields than the header (the first line after
    ``skip``); ``readable`` is the UTF-8 copy of ``original``.

    Lines are counted in the file as written (1 = the first line; a quoted value over
    several lines counts them all).
    """
    bad: list[tuple[int, int]] = []
    width = None
    with readable.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for _ in range(skip):
            handle.readline()
        reader = csv.reader(handle, delimiter=delimiter)
        start = skip + 1
        for record in reader:
            if width is None and record:
                width = len(record)
            elif width is not None and len(record) > width:
                bad.append((start, len(record)))
            start = skip + reader.line_num + 1
    shown = ", ".join(f"line {line} ({n} fields)" for line, n in bad[:MAX_LINES_SHOWN])
    more = f" and {len(bad) - MAX_LINES_SHOWN} more" if len(bad) > MAX_LINES_SHOWN else ""
    mark = SEPARATORS.get(delimiter, repr(delimiter))
    error = DataSourceError(
        f"{original}: {len(bad)} line{'s' if len(bad) != 1 else ''} {'have' if len(bad) != 1 else 'has'} "
        f"more fields than the header's {width}: {shown}{more}. A value holding the separator "
        f"{mark} must be quoted — often money written with a thousands separator, such as "
        "$1,234.50: write it \"$1,234.50\" or 1234.50 in the export; if the file uses another "
        "separator, set delimiter: for this table in the mapping")
    error.lines = [line for line, _ in bad]
    return error


def unclosed_quote(original: Path, line: int) -> DataSourceError:
    """The error for a quote that opens a value on ``line`` and is never closed."""
    return DataSourceError(
        f"{original}: the quote that opens a value on line {line} is never closed, so the rest "
        "of the file would read as one value; close it, or write a quote inside a value "
        'doubled ("12"" screen") and quote the whole value')


def drop_excel_blanks(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the empty columns and rows Excel leaves at the end of a sheet saved as CSV.

    Removed: columns with no name in the header and no value in any row, and the rows at
    the end of the file in which every field is empty (``,,,``). A row with any value, and
    an empty row between rows with values, are kept (the contract check names their lines).

    >>> df = pd.DataFrame({"id": ["A", None, "B", None], "Unnamed: 1": [None] * 4})
    >>> out = drop_excel_blanks(df)
    >>> list(out.columns), out["id"].notna().tolist()
    (['id'], [True, False, True])
    """
    unnamed = [c for c in frame.columns
               if str(c).startswith("Unnamed: ") and frame[c].isna().all()]
    frame = frame.drop(columns=unnamed)
    if frame.empty:
        return frame
    tail = frame.iloc[-TAIL_ROWS:]  # looked at first: a big file's end, not all of it
    filled = tail.notna().any(axis=1).to_numpy()
    if not filled.any():
        tail, filled = frame, frame.notna().any(axis=1).to_numpy()
    last = len(frame) - len(tail) + (len(filled) - int(filled[::-1].argmax()) if filled.any() else 0)
    return frame.iloc[:last] if last < len(frame) else frame


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _yaml(mark: str) -> str:
    return '"\\t"' if mark == "\t" else f"'{mark}'"


def _and(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
