"""The sample's time axis: a grid of calendar months, dates inside them and the dated events.

The simulation works on a customer x month grid. Column 0 is the month *before* the window
(it holds the customers who signed up earlier, the "initial base"); columns 1..M are the
window's months, the last one being the month of ``end``. Dates are numpy ``datetime64[D]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError


@dataclass(frozen=True)
class Calendar:
    """The month grid: first day, length and absolute month number of every column."""

    months: int
    end: np.datetime64  # the last day of the data (a month end), datetime64[D]
    starts: np.ndarray  # first day of each grid column, datetime64[D], length months + 1
    days: np.ndarray  # days in each grid column's month
    absolute: np.ndarray  # months since 1970-01 of each grid column

    @classmethod
    def ending(cls, end, months: int) -> Calendar:
        """Build the grid of ``months`` months whose last month is the month of ``end``."""
        try:
            last_day = pd.Timestamp(end)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"`end` must be a date like 2026-10-31, got {end!r}") from exc
        if pd.isna(last_day) or not last_day.is_month_end:
            raise ConfigError(f"`end` must be the last day of a month, e.g. 2026-10-31, got {end!r}")
        last = np.datetime64(last_day.date(), "M")
        col_months = last - months + np.arange(months + 1)
        starts = col_months.astype("datetime64[D]")
        days = ((col_months + 1).astype("datetime64[D]") - starts).astype(np.int64)
        return cls(months, np.datetime64(last_day.date(), "D"), starts, days,
                   col_months.astype(np.int64))

    @property
    def columns(self) -> int:
        """Number of grid columns (the window's months plus the month before it)."""
        return self.months + 1

    @property
    def window_start(self) -> np.datetime64:
        """The first day of the window (first day of grid column 1)."""
        return self.starts[1]

    def random_day(self, col: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Return a date inside the month of each grid column, ``u`` in [0, 1) picking the day."""
        return self.starts[col] + (u * self.days[col]).astype(np.int64)

    def same_day_in(self, col: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """Return the anchor's day of month inside each column's month (clipped to its length).

        A contract signed on 31 January has its anniversary on 28 (or 29) February.
        """
        return self.starts[col] + np.minimum(day_of_month(anchor), self.days[col]) - 1

    def column_of(self, dates: np.ndarray) -> np.ndarray:
        """Return the grid column of each date (0 for any date before the window)."""
        col = dates.astype("datetime64[M]").astype(np.int64) - self.absolute[0]
        return np.clip(col, 0, self.months)


def month_day(month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The date of ``day`` (clipped to the month's length) in each month (months since 1970-01).

    Uses a small table of the months in range, so millions of dates cost two lookups each.

    >>> month_day(np.array([649, 649]), np.array([31, 3])).astype(str).tolist()  # 2024-02
    ['2024-02-29', '2024-02-03']
    """
    if len(month) == 0:
        return np.array([], "datetime64[D]")
    low = month.min()
    edges = np.arange(low, month.max() + 2).astype("datetime64[M]").astype("datetime64[D]")
    first, length = edges[:-1], np.diff(edges).astype(np.int64)
    i = month - low
    return first[i] + np.minimum(day, length[i]) - 1


def day_of_month(dates: np.ndarray) -> np.ndarray:
    """Day of month (1..31) of ``datetime64[D]`` dates."""
    return (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


@dataclass(frozen=True)
class Events:
    """The dated external events built into the sample, with their grid columns."""

    price_increase: np.datetime64
    outage: np.datetime64
    competitor_launch: np.datetime64

    @classmethod
    def placed_in(cls, cal: Calendar) -> Events:
        """Place the events at fixed shares of the window.

        The price increase is on the first 1 January at least 35% into the window (or the first
        of the month at 35% when there is none), the outage at 60% on the 16th, and the
        competitor launch at 80% on the 10th.
        """
        col = 1 + int(0.35 * cal.months)
        januaries = np.flatnonzero((cal.absolute % 12 == 0) & (np.arange(cal.columns) >= col))
        increase = cal.starts[januaries[0] if len(januaries) else col]
        outage = cal.starts[1 + int(0.6 * cal.months)] + 15
        launch = cal.starts[1 + int(0.8 * cal.months)] + 9
        return cls(increase, outage, launch)

    def column(self, cal: Calendar, name: str) -> int:
        """The grid column of event ``name``."""
        return int(cal.column_of(np.array([getattr(self, name)]))[0])
