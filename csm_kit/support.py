"""Support: first contact resolution, time to close and the backlog of open tickets.

``tickets`` (ticket_id, customer_id, opened_at[, closed_at, contacts, first_contact_resolved,
agent, ...]) → per period (the month, quarter or year a ticket was *closed*), and optionally per
agent (a tickets column) or segment (a customers column joined on customer_id). Backlogs are
snapshots: tickets open at the end of a day.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.grouping import group_keys, in_periods, with_group
from csm_kit.periods import (
    last_complete_month,
    month_index,
    month_start_from_index,
    parse_as_of,
    period_start,
)
from csm_kit.stats import wilson_interval

UNITS = {"hours": pd.Timedelta(hours=1), "days": pd.Timedelta(days=1)}


def _closed(tickets, *, freq, by, customers, as_of) -> pd.DataFrame:
    """Closed tickets up to the end of the as-of month, labelled with their closing period."""
    if "closed_at" not in tickets.columns:
        raise ConfigError("tickets has no closed_at column; resolution figures need the time "
                          "each ticket was closed")
    dates = pd.concat([tickets["opened_at"], tickets["closed_at"]])
    closed = in_periods(tickets[tickets["closed_at"].notna()], "closed_at", freq=freq,
                        as_of=as_of, data_dates=dates)
    return with_group(closed, by, customers, table="tickets")


def one_contact(tickets: pd.DataFrame) -> np.ndarray:
    """Per ticket: 1.0 when resolved with one contact, 0.0 when not, NaN when unknown.

    ``contacts == 1`` decides where ``contacts`` is known; ``first_contact_resolved`` is used
    only where it is missing (the rule behind :func:`first_contact_resolution`, shared with
    the distress score's first-contact failures).

    >>> one_contact(pd.DataFrame({"contacts": [1, 3, None],
    ...                           "first_contact_resolved": [False, True, True]})).tolist()
    [1.0, 0.0, 1.0]
    """
    columns = {"contacts", "first_contact_resolved"} & set(tickets.columns)
    if not columns:
        raise ConfigError("tickets needs a contacts or first_contact_resolved column to measure "
                          f"first contact resolution; it has {sorted(tickets.columns)}")
    missing = pd.Series(np.nan, index=tickets.index)
    contacts = tickets.get("contacts", missing).astype("float64").to_numpy()
    flag = tickets.get("first_contact_resolved", missing).astype("float64").to_numpy()
    return np.where(np.isnan(contacts), flag, (contacts == 1).astype(float))


def first_contact_resolution(tickets: pd.DataFrame, *, freq: str = "M", by: str | None = None,
                             customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    r"""First contact resolution rate: resolved tickets that needed only one contact.

    .. math:: \mathrm{FCR} = \frac{\#\{\text{closed tickets with one contact}\}}
                                  {\#\{\text{closed tickets}\}}

    Parameters
    ----------
    tickets : support tickets with closed_at and contacts and/or first_contact_resolved.
    freq : ``"M"``, ``"Q"`` or ``"Y"`` — the period in which the ticket was closed.
    by : optional column of tickets (agent, channel, priority) or of customers (segment, csm).
    customers : the customers table; needed when ``by`` is not a column of tickets.
    as_of : count tickets closed up to the end of this month (default: last complete month of
        opened_at/closed_at).

    Returns
    -------
    DataFrame with period (first day), [by], resolved (closed tickets), first_contact
    (closed with one contact), value (first_contact ÷ resolved, 0–1), ci_low, ci_high
    (95% Wilson).

    Notes
    -----
    A ticket is resolved when closed_at is set. ``contacts == 1`` decides "one contact" where
    the count is known; ``first_contact_resolved`` is used only where contacts is missing (or
    absent). Closed tickets with neither are left out with a warning. A ticket closed with 0
    contacts (auto-closed) is resolved but not first-contact. Periods without closed tickets
    have no row.

    Examples
    --------
    Three tickets closed in January, two of them with a single contact: 2 ÷ 3.

    >>> t = pd.DataFrame({"customer_id": list("abcd"), "contacts": [1, 1, 3, 1],
    ...                   "opened_at": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04",
    ...                                                "2024-01-30"]),
    ...                   "closed_at": pd.to_datetime(["2024-01-02", "2024-01-08", "2024-01-31",
    ...                                                None])})
    >>> out = first_contact_resolution(t)[["resolved", "first_contact", "value"]]
    >>> print(out.round(3).to_string())
       resolved  first_contact  value
    0         3              2  0.667
    """
    closed = _closed(tickets, freq=freq, by=by, customers=customers, as_of=as_of)
    one = one_contact(closed)
    unknown = np.isnan(one)
    if unknown.any():
        warnings.warn(f"{int(unknown.sum())} closed tickets have neither contacts nor "
                      "first_contact_resolved and are left out of first contact resolution",
                      stacklevel=2)
    known = closed[~unknown].assign(first_contact=one[~unknown].astype("int64"))
    keys = group_keys(by)
    table = known.groupby(keys, dropna=False).agg(
        resolved=("first_contact", "size"), first_contact=("first_contact", "sum"))
    table["value"] = table["first_contact"] / table["resolved"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["first_contact"], table["resolved"])
    return table.reset_index()


def time_to_close(tickets: pd.DataFrame, *, freq: str = "M", by: str | None = None,
                  customers: pd.DataFrame | None = None, unit: str = "hours",
                  as_of=None) -> pd.DataFrame:
    r"""Median and 90th percentile of the time from opening to closing a ticket.

    .. math:: t = \text{closed\_at} - \text{opened\_at}

    summarised per closing period by its median and 90th percentile (linear interpolation
    between order statistics, pandas' and numpy's default).

    Parameters
    ----------
    unit : ``"hours"`` or ``"days"`` (fractional, 24-hour days).
    Others as in :func:`first_contact_resolution`.

    Returns
    -------
    DataFrame with period (closing period, first day), [by], closed (tickets), median, p90
    (in ``unit``).

    Notes
    -----
    Only closed tickets count: a ticket still open is in the backlog (:func:`ticket_backlog`),
    not in the time to close, so a growing backlog can make this figure look better.

    Examples
    --------
    Tickets closed after 1, 2 and 9 days: median 2, p90 2 + 0.8 × (9 − 2) = 7.6.

    >>> t = pd.DataFrame({"customer_id": list("abc"),
    ...                   "opened_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-10"]),
    ...                   "closed_at": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-19"])})
    >>> out = time_to_close(t, unit="days", as_of="2024-01")
    >>> print(out[["closed", "median", "p90"]].to_string())
       closed  median  p90
    0       3     2.0  7.6
    """
    if unit not in UNITS:
        raise ConfigError(f"`unit` must be one of {sorted(UNITS)}, got {unit!r}")
    closed = _closed(tickets, freq=freq, by=by, customers=customers, as_of=as_of)
    closed = closed.assign(duration=(closed["closed_at"] - closed["opened_at"]) / UNITS[unit])
    grouped = closed.groupby(group_keys(by), dropna=False)["duration"]
    table = pd.DataFrame({"closed": grouped.size(), "median": grouped.median(),
                          "p90": grouped.quantile(0.9)})
    return table.reset_index()


def _check_days(older_than_days) -> None:
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, (int, np.integer)) \
            or older_than_days < 0:
        raise ConfigError(f"`older_than_days` must be a whole number >= 0, got {older_than_days!r}")


def ticket_backlog(tickets: pd.DataFrame, *, as_of, older_than_days: int = 7,
                   by: str | None = None, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    r"""Open tickets at the end of a day, and how many of them have been open too long.

    A ticket is open at the end of day :math:`d` when it was opened on or before :math:`d` and
    not closed by the end of :math:`d`; it is open longer than N days when
    :math:`d - \text{opening day} > N` (whole calendar days).

    Parameters
    ----------
    tickets : support tickets (closed_at empty = still open).
    as_of : the day of the snapshot (``"2024-03-31"``); pass a month's last day for a month-end
        backlog. Required: a backlog depends on the day.
    older_than_days : N, in days.
    by, customers : optional grouping, as in :func:`first_contact_resolution`.

    Returns
    -------
    DataFrame with [by], open (tickets open at the end of as_of) and open_longer_than (those
    opened more than ``older_than_days`` days before as_of). One row when ``by`` is None;
    otherwise one per group that has any ticket (0 when none is open).

    Examples
    --------
    On 31 March: one ticket from 10 March still open (21 days), one from 28 March (3 days);
    the third was closed on 30 March.

    >>> t = pd.DataFrame({"customer_id": list("abc"),
    ...                   "opened_at": pd.to_datetime(["2024-03-10", "2024-03-28", "2024-03-01"]),
    ...                   "closed_at": pd.to_datetime([None, None, "2024-03-30"])})
    >>> print(ticket_backlog(t, as_of="2024-03-31").to_string())
       open  open_longer_than
    0     2                 1
    """
    _check_days(older_than_days)
    try:
        day = pd.Timestamp(as_of).normalize()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"`as_of` must be a date like 2024-03-31, got {as_of!r}") from exc
    if pd.isna(day):
        raise ConfigError(f"`as_of` must be a date like 2024-03-31, got {as_of!r}")
    end = day + pd.Timedelta(days=1)
    tickets = with_group(tickets, by, customers, table="tickets")
    closed_at = tickets.get("closed_at", pd.Series(pd.NaT, index=tickets.index))
    is_open = (tickets["opened_at"] < end) & ~(closed_at < end)
    old = is_open & (tickets["opened_at"].dt.normalize() < day - pd.Timedelta(days=older_than_days))
    flags = pd.DataFrame({"open": is_open, "open_longer_than": old}).astype("int64")
    if by is None:
        return flags.sum().to_frame().T
    return flags.groupby(tickets[by], dropna=False).sum().reset_index()


def backlog_by_period(tickets: pd.DataFrame, *, freq: str = "M", older_than_days: int = 7,
                      by: str | None = None, customers: pd.DataFrame | None = None,
                      as_of=None) -> pd.DataFrame:
    """Backlog at the end of every period: open tickets and those open longer than N days.

    Each row is :func:`ticket_backlog` taken on the period's last day (the as-of month's last
    day for a period not yet finished), from the month the first ticket was opened.

    Returns
    -------
    DataFrame with period (first day), [by], open, open_longer_than (counts, 0 when none).

    Examples
    --------
    A ticket opened 25 January and closed 3 March is open at the end of January (6 days old)
    and of February (35 days old), not at the end of March.

    >>> t = pd.DataFrame({"customer_id": ["a"], "opened_at": pd.to_datetime(["2024-01-25"]),
    ...                   "closed_at": pd.to_datetime(["2024-03-03"])})
    >>> backlog_by_period(t, as_of="2024-03").drop(columns="period").values.tolist()
    [[1, 0], [1, 1], [0, 0]]
    """
    _check_days(older_than_days)
    period_start(pd.Series([], dtype="datetime64[ns]"), freq)  # validates freq
    tickets = with_group(tickets, by, customers, table="tickets")
    closed_at = tickets.get("closed_at", pd.Series(pd.NaT, index=tickets.index))
    last = _as_of_index(tickets["opened_at"], closed_at, as_of)
    opened = month_index(tickets["opened_at"])
    # Open at the end of months [opened, closed); old from the month whose last day is past N days.
    stop = month_index(closed_at).fillna(last + 1).clip(upper=last + 1)
    old_from = month_index(tickets["opened_at"].dt.normalize()
                           + pd.Timedelta(days=older_than_days + 1))
    first = int(opened.min()) if len(opened) else last
    groups = tickets[by] if by is not None else pd.Series(0, index=tickets.index)
    codes, labels = pd.factorize(groups, use_na_sentinel=False)
    counts = {name: _count_months(codes, len(labels), begin, stop, first, last)
              for name, begin in (("open", opened), ("open_longer_than", old_from))}
    months = np.arange(first, last + 1)
    month_starts = month_start_from_index(pd.Series(months))
    ends = (period_start(month_starts, freq) != period_start(month_starts + pd.DateOffset(months=1),
                                                             freq)) | (months == last)
    table = pd.DataFrame({
        "period": np.tile(period_start(month_starts, freq)[ends].to_numpy(), len(labels)),
        "group": np.repeat(labels, ends.sum()),
        **{name: grid[:, ends.to_numpy()].ravel() for name, grid in counts.items()},
    })
    table = table.rename(columns={"group": by}) if by is not None else table.drop(columns="group")
    return table.sort_values(group_keys(by), kind="stable").reset_index(drop=True)


def _as_of_index(opened_at: pd.Series, closed_at: pd.Series, as_of) -> int:
    month = parse_as_of(as_of)
    if month is None:
        latest = pd.concat([opened_at, closed_at]).max()
        if pd.isna(latest):
            raise ConfigError("tickets has no dates; pass as_of= to choose the backlog months")
        month = last_complete_month(latest)
    return int(month_index(pd.Series([month])).iloc[0])


def _count_months(codes, n_groups, begin, stop, first, last) -> np.ndarray:
    """Per group × month, how many [begin, stop) month intervals cover it (a difference array)."""
    begin = begin.clip(lower=first).to_numpy(dtype="int64")
    stop = stop.to_numpy(dtype="int64")
    live = begin < stop
    grid = np.zeros((n_groups, last - first + 2), dtype="int64")
    np.add.at(grid, (codes[live], begin[live] - first), 1)
    np.add.at(grid, (codes[live], stop[live] - first), -1)
    return grid.cumsum(axis=1)[:, :-1]


def support_breakdown(tickets: pd.DataFrame, *, by: str, as_of=None, window_months: int = 3,
                      older_than_days: int = 7,
                      customers: pd.DataFrame | None = None) -> pd.DataFrame:
    r"""Per agent, channel or priority: first contact resolution, time to close and old open tickets.

    For the tickets *closed* in the ``window_months`` months ending with the as-of month:
    FCR (:func:`first_contact_resolution`'s rule, with a Wilson interval) and the median and
    90th percentile of hours to close (:func:`time_to_close`'s rule); and at the end of the
    as-of month, the tickets open and those open longer than ``older_than_days`` days
    (:func:`ticket_backlog`'s rule).

    Parameters
    ----------
    by : a column of tickets (agent, channel, priority) or of customers (segment, csm).
    as_of : the reporting month (default: the last complete month of opened_at/closed_at).
    window_months : months of closed tickets pooled (a few, so a small group has enough).
    older_than_days : N of "open longer than N days".
    customers : needed when ``by`` is a customers column.

    Returns
    -------
    DataFrame, one row per group with any ticket: [by], closed (tickets closed in the window),
    resolved (of them, with a known contact count), first_contact, fcr (0–1), fcr_ci_low,
    fcr_ci_high, median_hours, p90_hours, open, open_longer_than (at the as-of month end);
    counts are 0 and figures NaN where a group has nothing to count.

    Examples
    --------
    Two email tickets closed in March after 2 and 10 hours (one with a single contact) and a
    chat ticket open since 1 March (30 days at the end of March):

    >>> t = pd.DataFrame({"customer_id": list("abc"), "channel": ["email", "email", "chat"],
    ...                   "contacts": [1, 2, None],
    ...                   "opened_at": pd.to_datetime(["2024-03-04 08:00", "2024-03-05 08:00",
    ...                                                "2024-03-01 09:00"]),
    ...                   "closed_at": pd.to_datetime(["2024-03-04 10:00", "2024-03-05 18:00",
    ...                                                None])})
    >>> out = support_breakdown(t, by="channel", as_of="2024-03", window_months=1)
    >>> print(out[["channel", "closed", "fcr", "median_hours", "open_longer_than"]].to_string())
      channel  closed  fcr  median_hours  open_longer_than
    0    chat       0  NaN           NaN                 1
    1   email       2  0.5           6.0                 0
    """
    _check_days(older_than_days)
    if isinstance(window_months, bool) or not isinstance(window_months, (int, np.integer)) \
            or window_months < 1:
        raise ConfigError(f"`window_months` must be a whole number >= 1, got {window_months!r}")
    if "closed_at" not in tickets.columns:
        raise ConfigError("tickets has no closed_at column; resolution figures need the time "
                          "each ticket was closed")
    closed_at = tickets["closed_at"]
    month = month_start_from_index(pd.Series([_as_of_index(tickets["opened_at"], closed_at,
                                                           as_of)])).iloc[0]
    first = month - pd.DateOffset(months=window_months - 1)
    grouped = with_group(tickets, by, customers, table="tickets")
    when = grouped["closed_at"]
    closed = grouped[(when >= first) & (when < month + pd.DateOffset(months=1))]
    one = one_contact(closed)
    hours = (closed["closed_at"] - closed["opened_at"]) / UNITS["hours"]
    parts = closed[[by]].assign(known=~np.isnan(one), first_contact=np.nan_to_num(one),
                                hours=hours)
    table = parts.groupby(by, dropna=False).agg(
        closed=("hours", "size"), resolved=("known", "sum"), first_contact=("first_contact", "sum"),
        median_hours=("hours", "median"), p90_hours=("hours", lambda h: h.quantile(0.9)))
    backlog = ticket_backlog(tickets, as_of=month + pd.offsets.MonthEnd(0),
                             older_than_days=older_than_days, by=by, customers=customers)
    table = table.join(backlog.set_index(by), how="outer")
    counts = ["closed", "resolved", "first_contact", "open", "open_longer_than"]
    table[counts] = table[counts].fillna(0).astype("int64")
    table["fcr"] = table["first_contact"] / table["resolved"].where(table["resolved"] > 0)
    table["fcr_ci_low"], table["fcr_ci_high"] = wilson_interval(table["first_contact"],
                                                                table["resolved"])
    columns = ["closed", "resolved", "first_contact", "fcr", "fcr_ci_low", "fcr_ci_high",
               "median_hours", "p90_hours", "open", "open_longer_than"]
    return table.rename_axis(by).reset_index()[[by, *columns]]
