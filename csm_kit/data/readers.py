"""Reading the CSV files that spreadsheets and SaaS tools really write.

A user's export may be UTF-8 with or without a byte-order mark, or cp1252/latin-1 from Excel;
separated by commas, semicolons or tabs; preceded by a title line or two; or carry a second
header row (SurveyMonkey). :func:`read_csv_file` finds all of that with well-kept libraries —
charset-normalizer for the encoding, DuckDB's CSV sniffer for the dialect when the first two
lines do not settle it, pandas' C parser for the rows (about 10× faster here than converting
DuckDB's result) — and hands back every column as text, so ids keep their leading zeros and
nothing is guessed about types here.
Per-table options in the mapping (``encoding``, ``delimiter``, ``skip_rows``, ``header_rows``)
override the detection; ``date_format`` and ``decimal`` are used by
:mod:`csm_kit.data.values`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from csm_kit.data.file_problems import (
    check_header,
    check_is_text,
    drop_excel_blanks,
    lines_with_extra_fields,
    unclosed_quote,
    wrong_separator,
)
from csm_kit.errors import ConfigError, DataSourceError, first_line

#: Encodings DuckDB reads natively; anything else is decoded in Python first.
_NATIVE = {"utf-8", "utf8", "ascii"}
#: How many bytes charset-normalizer looks at (enough for a few thousand rows).
_SNIFF_BYTES = 1_000_000


@dataclass(frozen=True)
class ReadOptions:
    """How to read one table's file; ``None`` means "detect it".

    Attributes
    ----------
    encoding : text encoding, e.g. ``utf-8``, ``cp1252``, ``latin-1``.
    delimiter : field separator, e.g. ``,``, ``;``, ``\\t``.
    skip_rows : lines to skip before the header (titles, "Exported on ..." lines).
    header_rows : header lines (2 for SurveyMonkey: question text, then "Response" or the
        answer option); names are the first line, blanks filled from the left, made unique
        with the second line.
    date_format : strftime format of every non-ISO date of the table, e.g. ``%d/%m/%Y``.
    decimal : the decimal mark of numbers, ``.`` or ``,``.
    """

    encoding: str | None = None
    delimiter: str | None = None
    skip_rows: int | None = None
    header_rows: int = 1
    date_format: str | None = None
    decimal: str | None = None

    @classmethod
    def from_mapping(cls, table: str, entry: dict[str, Any]) -> ReadOptions:
        """Take the reading options out of one table's mapping entry, checking each.

        >>> ReadOptions.from_mapping("surveys", {"delimiter": ";", "decimal": ","}).decimal
        ','
        """
        values = {f.name: entry[f.name] for f in fields(cls) if f.name in entry}
        for name in ("skip_rows", "header_rows"):
            value = values.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < (1 if name == "header_rows" else 0)):
                raise ConfigError(f"mapping for {table}: {name} must be a whole number "
                                  f"(at least {1 if name == 'header_rows' else 0}), got {value!r}")
        if values.get("decimal") not in (None, ".", ","):
            raise ConfigError(f"mapping for {table}: decimal must be one of ['.', ','], "
                              f"got {values['decimal']!r}")
        delimiter = values.get("delimiter")
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
            raise ConfigError(f"mapping for {table}: delimiter must be one character such as "
                              f"',' ';' or '\\t', got {delimiter!r}")
        if values.get("encoding") is not None:
            _check_encoding(table, values["encoding"])
        if values.get("date_format") is not None:
            _check_date_format(table, values["date_format"])
        return cls(**values)


READ_OPTION_NAMES = tuple(f.name for f in fields(ReadOptions))


def detect_encoding(path: Path) -> str:
    """Return the text encoding of a file: ``utf-8`` (with or without BOM) or what
    charset-normalizer finds (e.g. ``cp1252``). Too little non-ASCII text to tell Western
    from Central-European code pages reads as cp1252 when that fits (Excel's default); set
    ``encoding:`` in the mapping when it is something else.
    """
    from charset_normalizer import from_bytes

    head = _head(path)
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a multi-byte character cut by the sample's end
            return "utf-8"
    matches = from_bytes(head)
    best = matches.best()
    if best is not None and "cp1252" in best.could_be_from_charset:
        return "cp1252"  # Excel's Western default, when it fits as well as the best guess
    if best is None:
        raise DataSourceError(f"{path} is not a text (CSV) file: no text encoding fits it; "
                              "export it again as CSV, or set encoding: in the mapping")
    return best.encoding


def _head(path: Path) -> bytes:
    """The first bytes of a file's text (decompressed for ``.gz``)."""
    import gzip

    if path.suffix.lower() != ".gz":
        with path.open("rb") as handle:
            return handle.read(_SNIFF_BYTES)
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataSourceError(f"{path} is not a readable gzip file ({exc}); compress the CSV "
                              "again, or save it uncompressed as .csv") from exc


def read_csv_file(path: Path, options: ReadOptions | None = None) -> pd.DataFrame:
    """Read a CSV export into a frame of text columns (empty fields are missing values).

    The encoding comes from :func:`detect_encoding`, the dialect (delimiter, quoting, lines
    to skip, header) from DuckDB's CSV sniffer, unless ``options`` says otherwise. Excel's
    empty trailing columns and rows are dropped (:func:`~csm_kit.data.file_problems.drop_excel_blanks`).

    Raises
    ------
    DataSourceError
        When the file is empty or not text, cannot be decoded or parsed as CSV, names a column
        twice, seems to use another separator, or has lines with more fields than its header
        (named by line number); the message names the fix or the mapping setting that helps.
    """
    options = options or ReadOptions()
    check_is_text(path)
    encoding = options.encoding or detect_encoding(path)
    with tempfile.TemporaryDirectory(prefix="csm-kit-") as tmp:
        readable = path
        if _norm(encoding) not in _NATIVE or path.suffix == ".gz":
            readable = _transcode(path, encoding, Path(tmp))
        return _read_utf8_csv(path, readable, options)


def _read_utf8_csv(original: Path, readable: Path, options: ReadOptions, *,
                   nrows: int | None = None) -> pd.DataFrame:
    """Read a UTF-8 CSV: the dialect from DuckDB's sniffer (when the first lines do not
    settle it), the rows with pandas' C parser as text (the faster of the two here).

    The header is read as a row (``header=None``) so that pandas neither renames a repeated
    column (``mrr.1``) nor takes a first column as the index when a row has an extra field.
    """
    delimiter, skip = _dialect(original, readable, options)
    try:
        frame = pd.read_csv(readable, sep=delimiter, skiprows=skip, dtype=str, header=None,
                            keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                            skip_blank_lines=True, nrows=nrows)
    except pd.errors.EmptyDataError as exc:
        raise DataSourceError(f"{original} has no header line (it holds only blank lines"
                              f"{f' after the {skip} skipped' if skip else ''}); export the "
                              "table again, or fix skip_rows: in the mapping") from exc
    except pd.errors.ParserError as exc:
        if "Expected" in str(exc):
            raise lines_with_extra_fields(readable, delimiter=delimiter, skip=skip,
                                          original=original) from exc
        quote = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if quote:  # rows counted from 0 at the first line read (the header)
            raise unclosed_quote(original, skip + int(quote.group(1)) + 1) from exc
        raise DataSourceError(
            f"{original} could not be read as CSV ({first_line(exc)}); check the file, or set "
            "delimiter:, skip_rows: or encoding: for this table in the mapping") from exc
    except UnicodeDecodeError as exc:
        raise not_utf8(original) from exc
    except ValueError as exc:
        raise DataSourceError(
            f"{original} could not be read as CSV ({first_line(exc)}); check the file, or set "
            "delimiter:, skip_rows: or encoding: for this table in the mapping") from exc
    if options.header_rows > 1:
        frame = _multi_row_header(frame, options.header_rows)
    else:
        names = frame.iloc[0].tolist()
        check_header(original, names, delimiter=delimiter, line=skip + 1)
        frame = frame.iloc[1:]
        frame.columns = [f"Unnamed: {i}" if pd.isna(n) else n for i, n in enumerate(names)]
    frame = drop_excel_blanks(frame.reset_index(drop=True))
    frame.attrs["csv_delimiter"] = delimiter
    frame.attrs["first_line"] = skip + options.header_rows + 1  # to name rows by their line
    return frame


def not_utf8(path: Path) -> DataSourceError:
    """The error for a file taken as UTF-8 that is not, naming the first line that is not."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        where = ""
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        where = f" at line {line}"
    return DataSourceError(f"{path} is not valid UTF-8{where}; set encoding: for this table in "
                           "the mapping (e.g. cp1252 for Excel on Windows, latin-1), or save "
                           "the file as CSV UTF-8")


#: Title lines looked for above the header ("Report: ...", "Exported on ...", a blank line).
MAX_TITLE_LINES = 10
_MARKS = (",", ";", "\t", "|")


def _dialect(original: Path, readable: Path, options: ReadOptions) -> tuple[str, int]:
    """The delimiter and the lines to skip before the header.

    When the first two lines (after ``skip_rows``) hold the same number of one delimiter,
    that is the answer; otherwise DuckDB's sniffer is asked, after 0, 1, 2... lines, and the
    fewest skipped lines that give the widest table win (a title line reads as one column).
    """
    skip = options.skip_rows or 0
    with readable.open(encoding="utf-8-sig", errors="replace") as handle:
        lines = [handle.readline() for _ in range(skip + MAX_TITLE_LINES + 2)]
    settled = _two_lines_agree(lines, skip, options) or _most_lines_agree(lines, skip, options)
    if settled:
        return settled, skip
    if options.delimiter and options.delimiter not in lines[skip]:
        auto = ReadOptions()
        other = _two_lines_agree(lines, skip, auto) or _most_lines_agree(lines, skip, auto)
        if other:  # the mapping's delimiter is not in the header; another one fits
            raise wrong_separator(original, lines[skip], used=options.delimiter, found=other,
                                  line=skip + 1)
    if options.skip_rows is not None:
        first = lines[skip]
        return options.delimiter or max(_MARKS, key=first.count), skip
    import duckdb

    con = duckdb.connect()
    found: dict[int, tuple[int, str]] = {}
    delim = "" if options.delimiter is None else f", delim = {_literal(options.delimiter)}"
    try:
        for skip in range(min(MAX_TITLE_LINES, max(len([x for x in lines if x]) - 1, 0)) + 1):
            try:
                found[skip] = con.execute(f"SELECT len(Columns), Delimiter FROM sniff_csv("
                                          f"{_literal(str(readable))}, skip = {skip}{delim})").fetchone()
            except duckdb.Error:
                continue  # a title line the sniffer cannot read as a table
    finally:
        con.close()
    if not found:  # the sniffer gave up (e.g. a CRLF title above LF rows): two agreeing lines
        for skip in range(MAX_TITLE_LINES):
            settled = _two_lines_agree(lines, skip, options)
            if settled:
                return settled, skip
        raise DataSourceError(f"{original} could not be read as CSV; set delimiter: and "
                              "skip_rows: for this table in the mapping")
    widest = max(width for width, _ in found.values())
    skip = min(k for k, (width, _) in found.items() if width == widest)
    delimiter = found[skip][1]
    while skip < len(lines) and lines[skip].strip() == "":
        skip += 1  # blank lines between the title and the header
    return options.delimiter or delimiter, skip


def _two_lines_agree(lines: list[str], skip: int, options: ReadOptions) -> str | None:
    """The delimiter when line ``skip`` and the next hold the same number (≥ 1) of it."""
    first, second = lines[skip], lines[skip + 1]
    for mark in ([options.delimiter] if options.delimiter else _MARKS):
        if first.count(mark) and first.count(mark) == second.count(mark):
            return mark
    return None


def _most_lines_agree(lines: list[str], skip: int, options: ReadOptions) -> str | None:
    """The delimiter when line ``skip`` holds as many of it (≥ 1) as at least half of the
    lines after it: a row with an unquoted separator in a value (``$1,234.50``) then still
    leaves the header where it is, and is named as a row with extra fields."""
    first, rest = lines[skip], [line for line in lines[skip + 1:] if line.strip()]
    for mark in ([options.delimiter] if options.delimiter else _MARKS):
        count = first.count(mark)
        if count and rest and 2 * sum(line.count(mark) == count for line in rest) >= len(rest):
            return mark
    return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _multi_row_header(frame: pd.DataFrame, header_rows: int) -> pd.DataFrame:
    """Build column names from the first ``header_rows`` rows (SurveyMonkey's two-row header)."""
    head = frame.iloc[:header_rows].astype(object)
    first = pd.Series(head.iloc[0].tolist()).ffill().fillna("").astype(str).str.strip()
    names = first.tolist()
    seen = first.value_counts()
    for i, name in enumerate(names):
        if seen[name] > 1 or not name:
            extra = " / ".join(str(v).strip() for v in head.iloc[1:, i] if v is not None and str(v).strip())
            names[i] = f"{name} / {extra}" if name and extra else (name or extra or f"column {i + 1}")
    out = frame.iloc[header_rows:].copy()
    out.columns = _unique(names)
    return out


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _transcode(path: Path, encoding: str, folder: Path) -> Path:
    """Decode a file in Python (encodings DuckDB lacks, gzip) into a UTF-8 copy."""
    import gzip

    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataSourceError(f"{path} is not a readable gzip file ({exc}); compress the CSV "
                              "again, or save it uncompressed as .csv") from exc
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataSourceError(f"{path} is not readable as {encoding} (line {line}: {exc.reason}); "
                              "set encoding: for this table in the mapping (e.g. utf-8, "
                              "cp1252)") from exc
    except LookupError as exc:
        raise DataSourceError(f"{path}: {encoding} is not a known text encoding; set encoding: "
                              "for this table in the mapping (e.g. utf-8, cp1252)") from exc
    out = folder / "utf8.csv"
    out.write_text(text.removeprefix("\ufeff"), encoding="utf-8")
    return out


def _norm(encoding: str) -> str:
    return encoding.lower().replace("_", "-")



def _check_encoding(table: str, encoding: Any) -> None:
    import codecs

    try:
        codecs.lookup(str(encoding))
    except LookupError as exc:
        raise ConfigError(f"mapping for {table}: encoding must be a Python codec name such as "
                          f"'utf-8', 'cp1252' or 'latin-1', got {encoding!r}") from exc


def _check_date_format(table: str, date_format: Any) -> None:
    if not isinstance(date_format, str) or "%" not in date_format:
        raise ConfigError(f"mapping for {table}: date_format must be a strftime format such as "
                          f"'%d/%m/%Y' or '%m/%d/%Y %H:%M', got {date_format!r}")


def csv_header(path: Path, options: ReadOptions | None = None, *, lines: int = 50) -> list[str]:
    """Return a CSV file's column names, reading only its first ``lines`` lines."""
    import gzip

    options = options or ReadOptions()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        head = b"".join(handle.readline() for _ in range(lines))
    with tempfile.TemporaryDirectory(prefix="csm-kit-") as tmp:
        sample = Path(tmp) / "head.csv"
        sample.write_bytes(head)
        encoding = options.encoding or detect_encoding(sample)
        readable = sample if _norm(encoding) in _NATIVE else _transcode(sample, encoding, Path(tmp))
        frame = _read_utf8_csv(path, readable, options, nrows=options.header_rows)
        return [str(c) for c in frame.columns]
