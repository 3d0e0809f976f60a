"""Turning the numbers and dates of real exports into the plain forms the contract parses.

Exports write money as ``$1,200.50``, ``1.234,50 €`` or ``(99.00)``, and dates as
``03/04/2024``, ``4 Mar 2024 10:15 AM`` or Unix epoch seconds. This module rewrites such text
into plain numbers and ISO 8601 text, and leaves everything else alone for
:mod:`csm_kit.data.parsing` to parse (and report). It never guesses silently:

- the **decimal mark** of a column is read from its values (``1,5`` and ``1.234,50`` say
  comma; ``1,234.50`` and ``0.5`` say point); when no value tells (only ``1,234``-like
  values) the table's other money columns decide, and otherwise it is an error naming the
  mapping setting ``decimal``;
- **day-first or month-first** dates are read from the values of all the table's date
  columns (``13/04/2024`` can only be day-first); when every value could be either it is an
  error naming the mapping setting ``date_format``;
- **epoch** numbers are seconds when 9–10 digits long and milliseconds when 12–13 (UTC).

The number pattern is written out here (a regular expression with strict thousands groups);
no library parses every currency format without a locale, and a locale is what the user
does not know about their export.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from csm_kit.data.contract import MAX_EXAMPLES, TableSpec, failure_row

_CURRENCY = r"(?:[$€£¥₹₩]|US\$|[A-Z]{3}\b)"
_STRIP_CURRENCY = re.compile(rf"^\s*{_CURRENCY}?\s*|\s*{_CURRENCY}?\s*$")
_SPACES = "\u00a0\u202f' "
_NUMBER = {
    ".": re.compile(rf"^[-+]?(?:\d{{1,3}}(?:[,{_SPACES}]\d{{3}})+|\d*)(?:\.\d+)?$"),
    ",": re.compile(rf"^[-+]?(?:\d{{1,3}}(?:[.{_SPACES}]\d{{3}})+|\d*)(?:,\d+)?$"),
}
_ISO = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?(?:$|[T ])")
_DMY = re.compile(r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})"
                  r"(?:[ T,]+(?P<time>.*))?$")
_YMD = re.compile(r"^(?P<y>\d{4})[/.](?P<a>\d{1,2})[/.](?P<b>\d{1,2})(?:[ T,]+(?P<time>.*))?$")
_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?"
                   r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?$")
_EPOCH_SECONDS = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_EPOCH_MILLIS = re.compile(r"^\d{12,13}$")
_MONTH_NAME = re.compile(r"[A-Za-z]{3}")


def _text(s: pd.Series) -> pd.Series:
    """The given (non-empty) text values of a column, stripped; others dropped."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return pd.Series([], dtype=object)
    text = s.dropna().astype(str).str.strip()
    return text[text != ""]


# --------------------------------------------------------------------------- numbers


def _strip_money(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Remove currency symbols/codes and accounting parentheses; return (text, negative)."""
    negative = text.str.match(r"^\(.*\)$")
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    text = text.str.replace(_STRIP_CURRENCY, "", regex=True)
    text = text.str.replace(r"^([-+])\s*" + _CURRENCY + r"\s*", r"\1", regex=True).str.strip()
    return text, negative


_PLAIN = re.compile(r"^-?\d+(?:\.(?:\d{1,2}|\d{4,}))?$")  # 12, 12.5, 0.1234: nothing to decide


def decimal_evidence(values: pd.Series) -> set[str]:
    """Return the decimal marks the values prove: ``{'.'}``, ``{','}``, both or none.

    >>> sorted(decimal_evidence(pd.Series(["1,234.50", "12"])))
    ['.']
    >>> sorted(decimal_evidence(pd.Series(["1.234,50"])))
    [',']
    >>> decimal_evidence(pd.Series(["1,234", "7"]))  # 1234 or 1.234: nothing proven
    set()
    """
    text = _text(values)
    plain = text.str.match(_PLAIN)
    found = {"."} if text[plain].str.contains(".", regex=False).any() else set()
    text, _ = _strip_money(text[~plain])
    for mark, other in ((".", ","), (",", ".")):
        last = text.str.rfind(mark)
        other_last = text.str.rfind(other)
        digits_after = text.str.len() - last - 1
        single = text.str.count(re.escape(mark)) == 1
        proves = (last > other_last) & (other_last >= 0)  # "1,234.50": the last mark is decimal
        proves |= (other_last < 0) & single & (digits_after != 3) & (last >= 0)
        proves |= (text.str.count(re.escape(other)) > 1) & (last < 0)  # "1.234.567": other is grouping
        proves |= (text.str.count(re.escape(other)) > 1) & (last > other_last)
        if proves.any():
            found.add(mark)
    return found


def numbers_from_text(values: pd.Series, *, decimal: str) -> pd.Series:
    """Parse money text with the given decimal mark; values that do not parse stay as they were.

    >>> numbers_from_text(pd.Series(["$1,200.50", "(99.00)", "EUR 5", "n/a", None]), decimal=".").tolist()
    [1200.5, -99.0, 5.0, 'n/a', None]
    >>> numbers_from_text(pd.Series(["1.234,50 €", "0,5"]), decimal=",").tolist()
    [1234.5, 0.5]
    """
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return values
    given = values.notna() & (values.astype(str).str.strip() != "")
    if decimal == "." and values[given].astype(str).str.match(_PLAIN).all():
        return pd.to_numeric(values.where(given), errors="coerce").astype("float64")
    text, negative = _strip_money(values.astype(str).where(given, ""))
    ok = given & text.str.match(_NUMBER[decimal]) & text.str.contains(r"\d")
    group = "," if decimal == "." else "."
    plain = text.str.replace(f"[{re.escape(group)}{_SPACES}]", "", regex=True)
    plain = plain.str.replace(decimal, ".", regex=False)
    number = pd.to_numeric(plain.where(ok), errors="coerce")
    number = number.where(~negative, -number)
    if ok.sum() == given.sum():
        return number.where(given).astype("float64")
    out = values.astype(object).where(given, None)
    out[ok] = number[ok]
    return out


def looks_numeric(values: pd.Series) -> bool:
    """True when every given value is a number (money allowed) and none is an id with a
    leading zero such as ``00123``."""
    text, _ = _strip_money(_text(values))
    if text.empty or text.str.match(r"^0\d").any():
        return False
    return bool((text.str.match(_NUMBER["."]) | text.str.match(_NUMBER[","])).all()
                and text.str.contains(r"\d").all())


def resolve_decimal(table: str, columns: dict[str, pd.Series], decimal: str | None,
                    *, fallback: str | None = None) -> tuple[dict[str, str], list[dict]]:
    """Choose each money column's decimal mark: the setting, its own values, or the table's.

    Returns ``({column: mark}, failures)``; a column whose values contradict each other, or
    prove nothing in a table whose other columns prove nothing either, is a failure that
    names the ``decimal`` setting — unless ``fallback`` gives the mark for that case (a
    comma-separated file cannot use unquoted decimal commas, so its fallback is ``.``).
    """
    if decimal is not None:
        return {c: decimal for c in columns}, []
    evidence = {c: decimal_evidence(s) for c, s in columns.items()}
    table_marks = set().union(*evidence.values()) if evidence else set()
    marks, failures = {}, []
    for column, found in evidence.items():
        if len(found) == 1:
            marks[column] = next(iter(found))
            continue
        text = _strip_money(_text(columns[column]))[0]
        unsure = text.str.match(r"^[-+]?\d{1,3}[.,]\d{3}$")
        if len(found) == 2:
            detail = "numbers written with both a decimal point and a decimal comma"
        elif not unsure.any():
            marks[column] = "."  # no separators at all: nothing to decide
            continue
        elif len(table_marks) == 1:
            marks[column] = next(iter(table_marks))
            continue
        elif fallback is not None:
            marks[column] = fallback
            continue
        else:
            detail = "numbers such as 1,234 or 1.234 that could be thousands or decimals"
        examples = text[unsure].head(MAX_EXAMPLES).tolist() if unsure.any() else text.head(MAX_EXAMPLES).tolist()
        failures.append(failure_row(
            table, column, "ambiguous_number", int(unsure.sum()) or len(text),
            [repr(e) for e in examples],
            detail))
    return marks, failures


# --------------------------------------------------------------------------- dates


def looks_like_dates(values: pd.Series) -> bool:
    """True when every given value is a date or timestamp in a form :func:`dates_to_iso` reads."""
    text = _text(values)
    if text.empty:
        return False
    known = (text.str.match(_ISO) | text.str.match(_DMY) | text.str.match(_YMD))
    return bool(known.all())


def date_order(table: str, columns: dict[str, pd.Series], date_format: str | None,
               ) -> tuple[str | None, list[dict]]:
    """Decide whether the table's ``a/b/yyyy`` dates are day-first (``"dmy"``) or month-first
    (``"mdy"``) from all their values; ``None`` when none are written that way.

    >>> date_order("t", {"d": pd.Series(["03/04/2024", "13/04/2024"])}, None)
    ('dmy', [])
    >>> order, failures = date_order("t", {"d": pd.Series(["03/04/2024", "05/06/2024"])}, None)
    >>> order, failures[0]["check"]
    (None, 'ambiguous_date')
    """
    if date_format is not None:
        return None, []
    parts = []
    for column, s in columns.items():
        text = _text(s)
        text = text[~text.str.match(_ISO)]  # ISO dates have no order to settle
        found = text.str.extract(_DMY)
        found = found.dropna(subset=["a"])
        if not found.empty:
            found["column"] = column
            found["text"] = text[found.index]
            parts.append(found)
    if not parts:
        return None, []
    found = pd.concat(parts)
    a, b = found["a"].astype(int), found["b"].astype(int)
    day_first = bool(((a <= 31) & (b <= 12)).all())
    month_first = bool(((a <= 12) & (b <= 31)).all())
    unsure = (a <= 12) & (b <= 12) & (a != b)
    if day_first != month_first:
        return ("dmy" if day_first else "mdy"), []
    if day_first and not unsure.any():
        return "dmy", []  # every value reads the same both ways (e.g. 04/04/2024)
    column = found["column"].iloc[0]
    shown = found["text"][unsure] if unsure.any() else found["text"]
    if day_first:
        detail = f"dates such as {shown.iloc[0]} that could be day-first or month-first"
    else:
        detail = "dates in both day-first and month-first order (fix the export, or)"
    failure = failure_row(table, column, "ambiguous_date", int(unsure.sum()) or len(found),
                          [repr(v) for v in shown.head(MAX_EXAMPLES)], detail)
    return None, [failure]


def dates_to_iso(values: pd.Series, *, order: str | None, date_format: str | None = None,
                 epoch: bool = False) -> pd.Series:
    """Rewrite dates to ISO 8601 text; ISO text and values that do not parse stay as they were.

    ``order`` is ``"dmy"`` or ``"mdy"`` for ``a/b/yyyy`` dates; ``date_format`` (strftime)
    wins over it; with ``epoch`` whole numbers of 9–10 digits are Unix seconds and of 12–13
    digits milliseconds (UTC, written with ``Z``).

    >>> dates_to_iso(pd.Series(["03/04/2024", "2024-05-01", "3/4/24 2:05 PM"]), order="mdy").tolist()
    ['2024-03-04', '2024-05-01', '2024-03-04T14:05:00']
    >>> dates_to_iso(pd.Series(["1709251200", "1709251200000"]), order=None, epoch=True).tolist()
    ['2024-03-01T00:00:00Z', '2024-03-01T00:00:00Z']
    >>> dates_to_iso(pd.Series(["Mar 4, 2024", "4 March 2024"]), order=None).tolist()
    ['2024-03-04', '2024-03-04']
    """
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        if epoch and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            return dates_to_iso(values.astype("Int64").astype(str).where(values.notna(), None),
                                order=order, date_format=date_format, epoch=epoch)
        return values
    out = values.astype(object).copy()
    given = values.notna() & (values.astype(str).str.strip() != "")
    text = values.astype(str).str.strip().where(given, "")
    todo = given & ~text.str.match(_ISO)
    if not todo.any():
        return out
    if date_format is not None:
        parsed = pd.to_datetime(text.where(todo), format=date_format, errors="coerce")
        iso = _isoformat(parsed, has_time="%H" in date_format or "%I" in date_format)
        done = todo & iso.notna()
        out[done] = iso[done]
        todo &= ~done
    if epoch:
        for pattern, unit in ((_EPOCH_SECONDS, "s"), (_EPOCH_MILLIS, "ms")):
            hit = todo & text.str.match(pattern)
            if hit.any():
                stamps = pd.to_datetime(pd.to_numeric(text[hit]), unit=unit, utc=True)
                out[hit] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                todo &= ~hit
    for pattern, first in ((_YMD, "mdy"), (_DMY, order)):
        if first is None:
            continue
        found = text.where(todo).str.extract(pattern).dropna(subset=["a"])
        if found.empty:
            continue
        iso = _from_parts(found, order=first)
        done = iso.notna()
        out[done[done].index] = iso[done]
        todo[done[done].index] = False
    named = todo & text.str.contains(_MONTH_NAME)
    if named.any():
        parsed = pd.to_datetime(text.where(named), format="mixed", errors="coerce")
        iso = _isoformat(parsed, has_time=None)
        ok = named & iso.notna()
        out[ok] = iso[ok]
    return out


def _from_parts(found: pd.DataFrame, *, order: str) -> pd.Series:
    a, b = found["a"].astype(int), found["b"].astype(int)
    month, day = (a, b) if order == "mdy" else (b, a)
    year = found["y"].astype(int)
    year = year.where(found["y"].str.len() == 4, np.where(year < 69, 2000 + year, 1900 + year))
    date = (year.astype(str).str.zfill(4) + "-" + month.astype(str).str.zfill(2) + "-"
            + day.astype(str).str.zfill(2))
    valid = pd.to_datetime(date, format="%Y-%m-%d", errors="coerce").notna()
    times = found["time"].fillna("").str.strip()
    clock = times.str.extract(_TIME)
    has_time = times != ""
    bad_time = has_time & clock["h"].isna()
    hour = pd.to_numeric(clock["h"], errors="coerce")
    pm = clock["ampm"].str.lower() == "pm"
    am = clock["ampm"].str.lower() == "am"
    hour = hour.where(~(pm & (hour < 12)), hour + 12).where(~(am & (hour == 12)), 0)
    stamp = (date + "T" + hour.fillna(0).astype(int).astype(str).str.zfill(2) + ":"
             + clock["m"].fillna("00") + ":" + clock["s"].fillna("00"))
    tz = clock["tz"].fillna("").replace({"UTC": "Z", "GMT": "Z"})
    tz = tz.str.replace(r"^([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)
    result = date.where(~has_time, stamp + tz)
    return result.where(valid & ~bad_time)


def _isoformat(parsed: pd.Series, *, has_time: bool | None) -> pd.Series:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        text = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
        return text.where(parsed.notna())
    if has_time is None:
        has_time = bool((parsed.dropna() != parsed.dropna().dt.normalize()).any())
    fmt = "%Y-%m-%dT%H:%M:%S" if has_time else "%Y-%m-%d"
    return parsed.dt.strftime(fmt).where(parsed.notna())


# --------------------------------------------------------------------------- a whole table


def tidy_canonical(df: pd.DataFrame, spec: TableSpec, *, decimal: str | None = None,
                   date_format: str | None = None, fallback_decimal: str | None = None,
                   ) -> tuple[pd.DataFrame, list[dict]]:
    """Rewrite a mapped table's money and dates into plain numbers and ISO text.

    Only the contract's number columns (``mrr``, ``amount``, ``score``, ...) and date and
    timestamp columns are touched, and only where they are text; the failures returned are
    the ambiguities (decimal mark, day/month order) that need a mapping setting.

    >>> from csm_kit.data.contract import TABLES
    >>> raw = pd.DataFrame({"subscription_id": ["S1", "S2"], "customer_id": ["A", "B"],
    ...                     "start_date": ["13/01/2024", "02/03/2024"], "mrr": ["1.200,50", "99"]})
    >>> df, failures = tidy_canonical(raw, TABLES["subscriptions"])
    >>> df["start_date"].tolist(), df["mrr"].tolist(), failures
    (['2024-01-13', '2024-03-02'], [1200.5, 99.0], [])
    """
    out = df.copy()
    numbers = {c: out[c] for c in spec.numbers if c in out.columns and not _already(out[c], _PLAIN)}
    distinct = {c: _distinct(s) for c, s in numbers.items()}  # decide on distinct values, fast
    marks, failures = resolve_decimal(spec.name, distinct, decimal, fallback=fallback_decimal)
    if failures:  # count rows, not distinct values, in the message
        marks, failures = resolve_decimal(spec.name, numbers, decimal, fallback=fallback_decimal)
    for column, mark in marks.items():
        out[column] = on_distinct(out[column], lambda v, m=mark: numbers_from_text(v, decimal=m))
    dates = {c: out[c] for c in spec.dates + spec.timestamps
             if c in out.columns and not _already(out[c], _ISO)}
    order, date_failures = date_order(spec.name, {c: _distinct(s) for c, s in dates.items()}, date_format)
    if date_failures:
        order, date_failures = date_order(spec.name, dates, date_format)
    failures += date_failures
    for column in dates:
        out[column] = on_distinct(out[column], lambda v: dates_to_iso(
            v, order=order, date_format=date_format, epoch=True))
    out.attrs.update(df.attrs)
    return out, failures


def _distinct(values: pd.Series) -> pd.Series:
    return pd.Series(values.dropna().unique(), dtype=values.dtype)


def on_distinct(values: pd.Series, rewrite) -> pd.Series:
    """Apply a value-by-value ``rewrite`` to each distinct value once and spread the results
    back (exports repeat dates and prices, so this is many times faster than every row).

    >>> on_distinct(pd.Series(["a", "b", "a", None]), lambda v: v.str.upper()).tolist()
    ['A', 'B', 'A', None]
    """
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return rewrite(values)
    codes, uniques = pd.factorize(values)
    done = rewrite(pd.Series(uniques, dtype=values.dtype))
    found = codes >= 0
    if pd.api.types.is_float_dtype(done):
        out = np.full(len(values), np.nan)
        out[found] = done.to_numpy()[codes[found]]
        return pd.Series(out, index=values.index)
    out = np.full(len(values), None, dtype=object)
    out[found] = done.to_numpy(dtype=object)[codes[found]]
    return pd.Series(out, index=values.index, dtype=object)


def _already(values: pd.Series, pattern: re.Pattern) -> bool:
    """True when the column needs no rewriting: not text, or every value is already plain."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return True
    given = values.dropna()
    return bool(given.astype(str).str.match(pattern).all())
