"""Parsing raw tables into the contract's types, reporting every value that does not parse.

Files and databases hand over text (or loosely typed columns). :func:`coerce_table` turns
each canonical column into its kind — ids to strings, dates and timestamps to naive
``datetime64[ns]`` in the reporting time zone, numbers, whole numbers and flags — and
reports each value that does not parse as a failure record instead of a silent NaN. The
rules those typed values must then obey live in :mod:`csm_kit.data.contract`.

Dates and timestamps (``data/README.md`` says the same for users):

- ISO 8601 with any offset form — ``Z``, ``+02:00``, ``-0500``, ``-05`` (PostgreSQL),
  a trailing ``UTC``/``GMT``, a ``T`` or a space between date and time — is converted to the
  reporting time zone and made naive; text without an offset is wall-clock time there already;
- a date from ``OPEN_ENDED_FROM`` (2200-01-01) on — ``9999-12-31``, ``2999-12-31``, the usual
  "never ends" — in an end column (``end_date``, ``closed_at``, ``converted_at``) is read as
  open-ended (no end) and reported as a warning with its row count;
- any other date before ``EARLIEST_DATE`` (1900-01-01) or from ``OPEN_ENDED_FROM`` on is an
  error (a typo, or a placeholder such as ``0001-01-01``); both limits are named constants
  of :mod:`csm_kit.data.contract`;
- a year or a year and month alone (``2024``, ``2024-03``) is an error, never silently taken
  as the first day; only a ``month`` column (``usage.month``, the ``fx`` rates) is a month.

Numbers that are not finite (``inf``, ``-inf``, ``1e999``, ``NaN`` written out) are rejected
like any other value that is not a number.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csm_kit.data.contract import (
    EARLIEST_DATE,
    MAX_EXAMPLES,
    OPEN_ENDED_FROM,
    TableSpec,
    failure_row,
    row_labels,
)

#: An offset after a clock time: Z, +02:00, -0500, -05, or a trailing UTC/GMT.
# (spaces written " *", not "\s*": pandas runs RE2 on Arrow strings only without \s, ~5× faster)
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)? *(?:[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
#: A year, or a year and month, without a day.
_PARTIAL = r"^\d{4}(?:[-/.]\d{1,2})?$"
_YEAR_MONTH = r"^\d{4}-\d{2}$"


class Parsed(NamedTuple):
    """What :func:`coerce_table` returns: the typed frame, the failure records, and for each
    column the rows already reported (so the rules do not report them again as missing)."""

    frame: pd.DataFrame
    failures: list[dict]
    unparsed: dict[str, np.ndarray]


class _Issue(NamedTuple):
    check: str
    detail: str
    mask: pd.Series
    severity: str = "error"


def coerce_table(
    raw: pd.DataFrame, spec: TableSpec, *, timezone: str = "UTC", lines: np.ndarray | None = None
) -> Parsed:
    """Parse a raw table (text or typed columns) into canonical types and report what failed.

    Ids become strings, dates midnight ``datetime64[ns]``, timestamps are converted to
    ``timezone`` and made naive, numbers float64, whole numbers nullable ``Int64``, flags
    nullable ``boolean``. A value that does not parse is reported, never turned into a
    silent missing value; rows with no value at all are reported once as empty rows. Columns
    outside the contract are kept as they are. ``lines`` gives each row's line in its file
    (header = line 1), used to name the rows in messages.

    Returns :class:`Parsed` (frame, failures, unparsed): ``unparsed`` maps a column to the
    rows whose value was reported here, for :func:`~csm_kit.data.contract.check_table`.

    Examples
    --------
    >>> from csm_kit.data.contract import TABLES
    >>> raw = pd.DataFrame({"customer_id": ["00123"], "signup_date": ["2024-02-30"]})
    >>> df, failures, unparsed = coerce_table(raw, TABLES["customers"])
    >>> df["customer_id"].tolist(), failures[0]["check"], unparsed["signup_date"].tolist()
    (['00123'], 'unparseable_date', [True])
    """
    df = raw.copy()
    df.attrs = {}
    failures: list[dict] = []
    unparsed: dict[str, np.ndarray] = {}
    empty = _empty_rows(raw)
    if empty.any():
        failures.append(failure_row(spec.name, None, "empty_rows", int(empty.sum()),
                                    row_labels(df, spec, empty, lines=lines),
                                    "rows with no value at all"))
        unparsed = {column: empty.copy() for column in spec.columns if column in df.columns}
    for column in spec.columns:
        if column not in df.columns:
            continue
        parsed, issues = _parse_column(df[column], spec, column, timezone)
        for issue in issues:
            failures.append(failure_row(
                spec.name, column, issue.check, int(issue.mask.sum()),
                _bad_examples(df, spec, column, issue.mask, lines,
                              keys=issue.severity == "error"), issue.detail,
                severity=issue.severity))
            unparsed[column] = unparsed.get(column, np.zeros(len(df), bool)) | issue.mask.to_numpy()
        df[column] = parsed
    return Parsed(df, failures, unparsed)


def _empty_rows(raw: pd.DataFrame) -> np.ndarray:
    """True for the rows where no column holds a value (a spreadsheet's trailing ``,,,``)."""
    empty = np.full(len(raw), raw.shape[1] > 0)
    for i in range(raw.shape[1]):  # the first column leaves few candidates: fast
        rows = np.flatnonzero(empty)
        if len(rows) == 0:
            break
        empty[rows] = ~_present(raw.iloc[rows, i]).to_numpy(dtype=bool)
    return empty


def _parse_column(s: pd.Series, spec: TableSpec, column: str, timezone: str):
    kind = spec.kind(column)
    if kind in ("date", "timestamp"):
        return _parse_datetimes(s, timezone, normalize=kind == "date",
                                open_ended=column in spec.open_ended, month=column == "month")
    parsed, bad = _PARSERS[kind](s, timezone)
    if not bad.any():
        return parsed, []
    check, detail = _PARSE_FAILURES[kind]
    return parsed, [_Issue(check, detail, bad)]


def _bad_examples(df, spec, column, bad, lines, *, keys: bool = True) -> list[str]:
    """'<row>: <value>' for a few rows; without ``keys`` a row is named by its line only (a
    warning travels into reports, where pseudonymised mode must not show raw ids)."""
    if not keys:
        spec = TableSpec(spec.name, None, spec.required)
        df = df.drop(columns=["customer_id"], errors="ignore")
    labels = row_labels(df, spec, bad, lines=lines)
    values = df.loc[np.asarray(bad), column].head(MAX_EXAMPLES).astype(str).tolist()
    return [f"{label}: {value!r}" for label, value in zip(labels, values, strict=False)]


def _present(s: pd.Series) -> pd.Series:
    """True where the raw value is given (not missing and not an empty string)."""
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        return s.notna() & (s.astype("str").str.strip() != "")
    return s.notna()


def _parse_ids(s: pd.Series, timezone: str):
    given = _present(s)
    out = s.astype("str").where(given, None).astype("str")
    if pd.api.types.is_float_dtype(s):  # ids typed as numbers by a database: 12.0 -> "12"
        out = s.astype("Int64").astype("str").where(given, None).astype("str")
    return out, pd.Series(False, index=s.index)


# --------------------------------------------------------------------------- dates


def _parse_datetimes(s: pd.Series, timezone: str, *, normalize: bool, open_ended: bool,
                     month: bool):
    """Parse a date or timestamp column; return it and its issues (see the module notes)."""
    given = _present(s)
    issues = []
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
    else:
        text = s.astype("str").where(given, None).str.strip()
        partial = _matches(text, _PARTIAL, text.str.len() <= 7)  # '2024-03' is 7 characters
        if month:  # a month column is a month: 2024-03 is its first day
            partial &= ~_matches(text, _YEAR_MONTH, partial)
        if partial.any():
            issues.append(_Issue("partial_date", "dates without a day (a year or a month alone)",
                                 partial))
        text = text.where(~partial)
        named = (text.str.endswith("UTC") | text.str.endswith("GMT")).fillna(False)
        if named.any():
            text = text.where(~named, text.str.replace(r" *(?:UTC|GMT)$", "Z", regex=True))
        zulu = (text.str.endswith("Z") | text.str.endswith("z")).fillna(False)
        aware = zulu | _matches(text, _OFFSET, ~zulu & (text.str.len() > 13))
        # One parse for all (naive text read as UTC, so that no value can make pandas mix
        # aware and naive stamps); then naive text keeps its wall-clock time and text with
        # an offset is converted to the reporting zone.
        stamps = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        local = stamps.dt.tz_convert(timezone).dt.tz_localize(None)
        parsed = local.where(aware, stamps.dt.tz_localize(None))
        bad = given & ~partial & parsed.isna()
        if bad.any():
            check, detail = _PARSE_FAILURES["date" if normalize else "timestamp"]
            issues.append(_Issue(check, detail, bad))
    late = (parsed >= OPEN_ENDED_FROM).fillna(False)
    early = (parsed < EARLIEST_DATE).fillna(False)
    if open_ended and late.any():
        issues.append(_Issue(
            "open_ended_date", f"dates from {OPEN_ENDED_FROM:%Y-%m-%d} on (such as 9999-12-31, "
            "the usual 'never ends') read as open-ended, with no end", late, "warning"))
    out_of_range = early | (late & (not open_ended))
    if out_of_range.any():
        issues.append(_Issue(
            "date_out_of_range", f"dates before {EARLIEST_DATE:%Y-%m-%d} or from "
            f"{OPEN_ENDED_FROM:%Y-%m-%d} on", out_of_range))
    parsed = parsed.where(~(late | early)).astype("datetime64[ns]")
    if normalize:
        parsed = parsed.dt.normalize()
    return parsed, issues


def _matches(text: pd.Series, pattern: str, where: pd.Series) -> pd.Series:
    """``text.str.contains(pattern)`` tested only ``where`` (False elsewhere): the cheap
    condition leaves few values for the regular expression."""
    out = pd.Series(False, index=text.index)
    where = where.fillna(False).astype(bool)
    if where.any():
        out[where] = text[where].str.contains(pattern, regex=True).fillna(False).astype(bool)
    return out


# --------------------------------------------------------------------------- numbers and flags


def _parse_numbers(s: pd.Series, timezone: str):
    """Parse numbers; a value that is not a finite number (text, inf, 1e999, NaN written out)
    is bad."""
    given = _present(s)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        parsed = s.astype("float64")
        given = given & parsed.notna()  # a missing number from a database is missing
    else:
        parsed = _text_to_float(s.astype("str").where(given, None).str.strip())
    finite = pd.Series(np.isfinite(parsed.to_numpy()), index=s.index)
    return parsed.where(finite), given & ~finite


def _text_to_float(text: pd.Series) -> pd.Series:
    """Text as float64, NaN where missing or not a number (``pd.to_numeric(errors="coerce")``).

    A column whose every value Arrow reads as a number is cast by Arrow (about ten times
    faster on a million rows; both give the correctly rounded double); one value Arrow
    refuses (``1,5``, ``abc``) sends the whole column through ``pd.to_numeric``, which says
    which values are not numbers. Negative zero is made zero, as ``to_numeric`` reads
    ``-0``.
    """
    try:
        numbers = pc.cast(pa.array(text, type=pa.large_string()), pa.float64())
    except pa.ArrowException:  # a value Arrow refuses, or text it cannot take
        return pd.to_numeric(text, errors="coerce").astype("float64") + 0.0
    return pd.Series(numbers.to_numpy(zero_copy_only=False) + 0.0, index=text.index)


def _parse_integers(s: pd.Series, timezone: str):
    numbers, bad = _parse_numbers(s, timezone)
    fractional = numbers.notna() & (numbers % 1 != 0)
    whole = numbers.where(~fractional).astype("Int64")
    return whole, bad | fractional


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _parse_booleans(s: pd.Series, timezone: str):
    given = _present(s)
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    text = s.astype("str").str.strip().str.lower()
    parsed = pd.Series(pd.NA, index=s.index, dtype="boolean")
    parsed[text.isin(_TRUE) & given] = True
    parsed[text.isin(_FALSE) & given] = False
    return parsed, given & parsed.isna()


def _parse_texts(s: pd.Series, timezone: str):
    given = _present(s)
    return s.astype("str").where(given, None).astype("str"), pd.Series(False, index=s.index)


_PARSERS = {
    "id": _parse_ids, "number": _parse_numbers, "integer": _parse_integers, "boolean": _parse_booleans,
    "text": _parse_texts,
}
_PARSE_FAILURES = {
    "date": ("unparseable_date", "dates that do not parse"),
    "timestamp": ("unparseable_date", "timestamps that do not parse"),
    "number": ("unparseable_number", "values that are not (finite) numbers"),
    "integer": ("not_whole_number", "values that are not whole numbers"),
    "boolean": ("unparseable_boolean", "values that are not true/false"),
}
