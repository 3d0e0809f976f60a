"""Event tables by period and group: the shared first step of the per-period metrics.

Surveys, tickets, renewals and usage are all turned into "one row per period (and group)"
tables the same way: attach the ``by`` column (from the table itself or from ``customers``),
keep the rows up to the as-of month, and label each with the start of its period.
"""

from __future__ import annotations

import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.frames import positions
from csm_kit.periods import (
    last_complete_month,
    parse_as_of,
    period_start,
    warn_only_incomplete_month,
)


def with_group(frame: pd.DataFrame, by: str | None, customers: pd.DataFrame | None,
               *, table: str) -> pd.DataFrame:
    """Return ``frame`` with its ``by`` column, joined from ``customers`` when it lacks one."""
    if by is None:
        return frame
    if not isinstance(by, str):
        raise ConfigError(f"`by` must be a column name or None, got {by!r}")
    if by in frame.columns:
        return frame
    if customers is None:
        raise ConfigError(f"`by={by!r}` is not a column of {table}; pass customers= "
                          f"(a customers table with a {by!r} column) to group by it")
    if by not in customers.columns:
        raise ConfigError(f"`by={by!r}` is neither a column of {table} nor of customers; "
                          f"customers has {sorted(customers.columns)}")
    lookup = customers[["customer_id", by]].drop_duplicates("customer_id")
    at = positions(frame["customer_id"], lookup["customer_id"])
    if at is None:  # ids that are not Arrow text: pandas joins (and refuses mixed types)
        return frame.merge(lookup, on="customer_id", how="left")
    # the left merge's table, by Arrow's lookup: frame's rows in order, by NaN where unknown
    column = pd.api.extensions.take(lookup[by].array, at, allow_fill=True)
    return frame.reset_index(drop=True).assign(**{by: column})


def in_periods(frame: pd.DataFrame, date_column: str, *, freq: str, as_of,
               data_dates: pd.Series | None = None) -> pd.DataFrame:
    """Keep rows dated up to the end of the as-of month and label each with its ``period``.

    ``as_of=None`` is the last complete month of ``data_dates`` (default: the column itself).
    When that default leaves out every row — all of them fall in the latest month, which the
    data does not reach the end of — a warning names the month and how to include it, rather
    than an empty table without a word.
    """
    dates = frame[date_column] if data_dates is None else data_dates
    month = parse_as_of(as_of)
    defaulted = month is None and dates.notna().any()
    if defaulted:
        month = last_complete_month(dates.max())
    kept = frame if month is None else frame[frame[date_column] < month + pd.DateOffset(months=1)]
    if defaulted and kept.empty and frame[date_column].notna().any():
        warn_only_incomplete_month(date_column, dates.max(), month, stacklevel=3)
    return kept.assign(period=period_start(kept[date_column], freq))


def group_keys(by: str | None) -> list[str]:
    """The grouping columns of a per-period table: ``period`` and, when given, ``by``."""
    return ["period"] if by is None else ["period", by]


