"""Calendar months and periods: the time axis every metric shares.

A month is represented by the timestamp of its first day (``2024-03-01`` stands for March
2024). A customer is counted *at the end of* a month, i.e. on its last day. Month indices
(``year * 12 + month - 1``) make month arithmetic exact and fast on every dataframe engine.
"""

from __future__ import annotations

import pandas as pd

from csm_kit.errors import ConfigError

FREQUENCIES = {"M": "M", "Q": "Q", "Y": "Y"}


def month_index(dates: pd.Series) -> pd.Series:
    """Return ``year * 12 + month - 1`` for each date (an int64 Series, NaT stays missing).

    >>> month_index(pd.Series(pd.to_datetime(["2024-01-31", "2024-02-01"]))).tolist()
    [24288, 24289]
    """
    return dates.dt.year * 12 + dates.dt.month - 1


def month_start_from_index(index: pd.Series) -> pd.Series:
    """Turn month indices back into first-of-month timestamps (``datetime64[ns]``).

    >>> month_start_from_index(pd.Series([24288, 24289])).dt.strftime("%Y-%m").tolist()
    ['2024-01', '2024-02']
    """
    years, months = divmod(index.astype("int64"), 12)
    return pd.to_datetime({"year": years, "month": months + 1, "day": 1}).astype("datetime64[ns]")


def period_start(dates: pd.Series, freq: str = "M") -> pd.Series:
    """Truncate dates to the first day of their month (``"M"``), quarter (``"Q"``) or year (``"Y"``).

    >>> period_start(pd.Series(pd.to_datetime(["2024-05-17"])), "Q").dt.date.tolist()
    [datetime.date(2024, 4, 1)]
    """
    if freq not in FREQUENCIES:
        raise ConfigError(f"freq must be one of {sorted(FREQUENCIES)}, got {freq!r}")
    return dates.dt.to_period(FREQUENCIES[freq]).dt.start_time.astype("datetime64[ns]")


def last_complete_month(latest: pd.Timestamp) -> pd.Timestamp:
    """Return the first day of the last month that is complete on ``latest``.

    A month is complete when the data reaches its last day.

    >>> last_complete_month(pd.Timestamp("2024-03-31")).date()
    datetime.date(2024, 3, 1)
    >>> last_complete_month(pd.Timestamp("2024-03-30")).date()
    datetime.date(2024, 2, 1)
    """
    latest = pd.Timestamp(latest).normalize()
    this_month = latest.to_period("M")
    if latest == this_month.end_time.normalize():
        return this_month.start_time
    return (this_month - 1).start_time


def warn_only_incomplete_month(what: str, latest, as_of: pd.Timestamp, *, stacklevel: int = 3):
    """Warn that a default as-of month left out every row: all of ``what`` falls in the latest
    month, which the data does not reach the end of.

    Called by the functions whose ``as_of=None`` means "the last complete month" when that
    choice gives an empty table, so the empty table comes with the month and the fix.
    """
    import warnings

    month = as_of + pd.DateOffset(months=1)
    warnings.warn(
        f"every {what} is in {month:%B %Y}, a month the data does not reach the end of "
        f"(latest date {pd.Timestamp(latest):%Y-%m-%d}); the default as-of month is the last "
        f"complete one, {as_of:%B %Y}, so the table is empty. Pass as_of=\"{month:%Y-%m}\" to "
        f"include {month:%B %Y} as it stands", UserWarning, stacklevel=stacklevel + 1)


def parse_as_of(as_of: str | pd.Timestamp | None) -> pd.Timestamp | None:
    """Read an as-of date given as text or timestamp; return the first day of its month.

    >>> parse_as_of("2024-03-15").date()
    datetime.date(2024, 3, 1)
    >>> parse_as_of(None) is None
    True
    """
    if as_of is None:
        return None
    return parse_date(as_of).to_period("M").start_time


def parse_date(value) -> pd.Timestamp:
    """Read one date given as text or timestamp; anything else is a ConfigError.

    >>> parse_date("2024-03-15").date()
    datetime.date(2024, 3, 15)
    >>> parse_date("soon")
    Traceback (most recent call last):
    ...
    csm_kit.errors.ConfigError: `as_of` must be a date like 2024-03-31, got 'soon'
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"`as_of` must be a date like 2024-03-31, got {value!r}") from exc
    if pd.isna(ts):
        raise ConfigError(f"`as_of` must be a date like 2024-03-31, got {value!r}")
    return ts
