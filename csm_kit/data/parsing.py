"""Parsing raw tables into the contract's types, reporting every value that does not parse.

Files and databases hand over text (or loosely typed columns). :func:`coerce_table` turns
each canonical column into its kind — ids to strings, dates and timestamps to naive
``datetime64[ns]`` in the reporting time zone, numbers, whole numbers and flags — and
reports each value that does not parse as a failure record instead of a silent NaN. The
rules those typed values must then obey live in :mod:`csm_kit.data.contract`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.data.contract import MAX_EXAMPLES, TableSpec, failure_row, row_labels


def coerce_table(
    raw: pd.DataFrame, spec: TableSpec, *, timezone: str = "UTC"
) -> tuple[pd.DataFrame, list[dict]]:
    """Parse a raw table (text or typed columns) into canonical types and report what failed.

    Ids become strings, dates midnight ``datetime64[ns]``, timestamps are converted to
    ``timezone`` and made naive, numbers float64, whole numbers nullable ``Int64``, flags
    nullable ``boolean``. A value that does not parse is reported, never turned into a
    silent missing value. Columns outside the contract are kept as they are. The rows that
    failed to parse are remembered in ``df.attrs["unparsed"]`` (column -> mask) so that
    :func:`check_table` does not report them again as missing.

    Examples
    --------
    >>> from csm_kit.data.contract import TABLES
    >>> raw = pd.DataFrame({"customer_id": ["00123"], "signup_date": ["2024-02-30"]})
    >>> df, failures = coerce_table(raw, TABLES["customers"])
    >>> df["customer_id"].tolist(), failures[0]["check"]
    (['00123'], 'unparseable_date')
    """
    df = raw.copy()
    failures: list[dict] = []
    unparsed: dict[str, pd.Series] = {}
    for column in spec.columns:
        if column not in df.columns:
            continue
        kind = spec.kind(column)
        parsed, bad = _PARSERS[kind](df[column], timezone)
        if bad.any():
            check, detail = _PARSE_FAILURES[kind]
            failures.append(failure_row(spec.name, column, check, int(bad.sum()),
                                        _bad_examples(df, spec, column, bad), detail))
            unparsed[column] = bad
        df[column] = parsed
    df.attrs["unparsed"] = unparsed
    return df, failures


def _bad_examples(df, spec, column, bad) -> list[str]:
    labels = row_labels(df, spec, bad)
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


def _parse_datetimes(s: pd.Series, timezone: str, *, normalize: bool):
    given = _present(s)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        parsed = s
    elif pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    else:
        text = s.astype("str").where(given, None)
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        # Naive text is wall-clock time in the reporting zone, not UTC.
        naive = ~text.fillna("").str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
        local = pd.to_datetime(text.where(naive), errors="coerce", format="ISO8601")
        parsed = parsed.dt.tz_convert(timezone).dt.tz_localize(None).where(~naive, local)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
    parsed = parsed.astype("datetime64[ns]")
    if normalize:
        parsed = parsed.dt.normalize()
    return parsed, given & parsed.isna()


def _parse_dates(s, timezone):
    return _parse_datetimes(s, timezone, normalize=True)


def _parse_timestamps(s, timezone):
    return _parse_datetimes(s, timezone, normalize=False)


def _parse_numbers(s: pd.Series, timezone: str):
    given = _present(s)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        parsed = s.astype("float64")
    else:
        parsed = pd.to_numeric(s.astype("str").where(given, None).str.strip(), errors="coerce")
        parsed = parsed.astype("float64")
    return parsed, given & parsed.isna()


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
    "id": _parse_ids, "date": _parse_dates, "timestamp": _parse_timestamps,
    "number": _parse_numbers, "integer": _parse_integers, "boolean": _parse_booleans,
    "text": _parse_texts,
}
_PARSE_FAILURES = {
    "date": ("unparseable_date", "dates that do not parse"),
    "timestamp": ("unparseable_date", "timestamps that do not parse"),
    "number": ("unparseable_number", "values that are not numbers"),
    "integer": ("not_whole_number", "values that are not whole numbers"),
    "boolean": ("unparseable_boolean", "values that are not true/false"),
}
