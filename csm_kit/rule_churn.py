"""Logo churn under the definition rules, period by period, from each customer's day-level state.

:func:`csm_kit.churn.logo_churn_rate` hands a call here when a rule or period differs from
the kit's month-end default: customers active at the end of the day before each period
(calendar month, quarter, year, or a rolling window of N days ending on a month's last day),
and within it who left, who joined, who churned and returned, who joined and cancelled
(:mod:`csm_kit.day_events`). Which of those count as churned and in the denominator is the
rule set's (:class:`csm_kit.definitions.Definitions`).
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.day_events import day_events, key_dates
from csm_kit.definitions import Definitions
from csm_kit.months import expand_months, month_starts
from csm_kit.mrr_events import prepare_subscriptions
from csm_kit.revenue import share
from csm_kit.stats import wilson_interval

__all__ = ["PERIOD_MONTHS", "rule_churn"]

#: Calendar periods of logo churn and their length in months.
PERIOD_MONTHS = {"M": 1, "Q": 3, "Y": 12}


def rule_churn(subscriptions, rules: Definitions, *, period, by, customers, as_of,
                confidence, engine) -> pd.DataFrame:
    r"""Logo churn per period under ``rules`` (``period``: "M", "Q" or "Y"); the columns
    of :func:`csm_kit.churn.logo_churn_rate` with a non-default rule or period.

    With S = active at the end of the day before the period, E = active at its end, X = left
    at some moment inside it, J = joined (or returned) inside it:

    .. math:: \mathrm{churned} = |S \setminus E| + [\mathrm{churn\_and\_return}]\,|S \cap E
              \cap X| + [\mathrm{join\_and\_cancel}]\,|X \setminus S|, \quad
              \mathrm{denominator} = |S| + [\mathrm{start\_plus\_new}]\,|J \setminus S|

    Examples
    --------
    a and b since 1 January; in March b leaves and d joins and leaves. Stripe's rules:
    (1 + 1) churned ÷ (2 + 1) = 2/3:

    >>> from csm_kit.definitions import preset
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-05"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-10", "2024-03-20"]),
    ...     "mrr": [50.0, 30.0, 100.0],
    ... })
    >>> table = rule_churn(subs, preset("stripe"), period="M", by=None, customers=None,
    ...                    as_of="2024-03", confidence=0.95, engine=None)
    >>> table[["customers_start", "joined", "churned", "denominator"]].iloc[-1].tolist()
    [2, 1, 2, 3]
    """
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    events = day_events(frame, as_of_index, rules.zero_mrr).with_columns(
        joined=((nw.col("active_before") == 0) & (nw.col("active_after") == 1)).cast(nw.Int64),
        left=((nw.col("active_before") == 1) & (nw.col("active_after") == 0)).cast(nw.Int64))
    events = eng.attach_group(events, customers, by)
    keys = [by] if by else []
    daily = eng.to_pandas(events.with_columns(net=nw.col("joined") - nw.col("left"))
                          .group_by("day", *keys, drop_null_keys=False).agg(nw.col("net").sum()))
    periods = _periods(daily["day"], as_of_index, PERIOD_MONTHS[period], rules.churn_window_days)
    if rules.churn_window_days is None:
        size = PERIOD_MONTHS[period]
        assigned = events.with_columns(period=(nw.col("month_index") // size).cast(nw.Int64))
    else:
        assigned = _in_windows(events, daily["day"], periods, rules.churn_window_days)
    if periods.empty:
        counts = pd.DataFrame(columns=["period", *keys, "lost", "churned_and_returned",
                                       "joined_and_cancelled", "joined"])
    else:
        counts = _period_counts(
            assigned.filter(nw.col("period") <= int(periods["period"].max())), keys)
    return _churn_table(periods, counts, daily, rules, by, confidence)


def _periods(days: pd.Series, as_of_index: int, size: int, window: int | None) -> pd.DataFrame:
    """One row per period: period (key), month, period_start, period_end, boundary (day keys).

    ``boundary`` is the last day before the period: customers active at its end are the
    period's customers at the start.
    """
    if days.empty:
        return pd.DataFrame(columns=["period", "month", "period_start", "period_end", "boundary"])
    first_month = _month_index(key_dates(days.min()).iloc[0])
    if window is None:
        keys = np.arange(first_month // size, (as_of_index + 1) // size, dtype="int64")
        first = month_starts(keys * size)
        end = pd.Series(month_starts((keys + 1) * size)) - pd.Timedelta(days=1)
        month = first
    else:
        keys = np.arange(first_month, as_of_index + 1, dtype="int64")
        month = month_starts(keys)
        end = pd.Series(month_starts(keys + 1)) - pd.Timedelta(days=1)
        first = end - pd.Timedelta(days=window - 1)
    first, end = pd.Series(first), pd.Series(end)
    return pd.DataFrame({
        "period": keys, "month": month, "period_start": first.to_numpy(),
        "period_end": end.to_numpy(), "boundary": _keys(first - pd.Timedelta(days=1)),
    }).assign(period_start=lambda t: _keys(t["period_start"]),
              period_end=lambda t: _keys(t["period_end"]))


def _keys(dates: pd.Series) -> np.ndarray:
    dates = pd.Series(dates)
    return (dates.dt.year * 10000 + dates.dt.month * 100 + dates.dt.day).to_numpy("int64")


def _month_index(date: pd.Timestamp) -> int:
    return date.year * 12 + date.month - 1


def _in_windows(events, days: pd.Series, periods: pd.DataFrame, window: int):
    """Each event once for every rolling window (period = the window's month) holding it."""
    distinct = pd.Series(np.unique(days.to_numpy("int64")))
    dates = key_dates(distinct)
    lo = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy("int64")
    # Windows ending on a month's last day e with date <= e < date + window days.
    reach = dates + pd.Timedelta(days=window - 1)
    hi = (reach.dt.year * 12 + reach.dt.month - 1).to_numpy("int64")
    hi = np.where(reach.dt.is_month_end, hi, hi - 1)
    hi = np.minimum(hi, int(periods["period"].max()) if len(periods) else -1)
    table = pd.DataFrame({"day": distinct.to_numpy("int64"), "lo": lo, "hi": hi})
    table = table[table["hi"] >= table["lo"]]
    spans = events.drop("month_index").join(eng.native_like(table, events), on="day")
    spread = expand_months(spans, "lo", "hi").drop("month")
    return spread.rename({"month_index": "period"})


def _period_counts(assigned, keys: list[str]) -> pd.DataFrame:
    """Per period (and group): lost, churned_and_returned, joined_and_cancelled, joined."""
    group = ["customer_id", "period"]
    marked = assigned.with_columns(
        first=nw.col("day").min().over(*group), last=nw.col("day").max().over(*group)
    ).with_columns(
        at_start=nw.when(nw.col("day") == nw.col("first")).then(nw.col("active_before"))
        .otherwise(nw.lit(0)),
        at_end=nw.when(nw.col("day") == nw.col("last")).then(nw.col("active_after"))
        .otherwise(nw.lit(0)),
    )
    flags = marked.group_by(*group, *keys, drop_null_keys=False).agg(
        nw.col("at_start").max(), nw.col("at_end").max(), nw.col("left").max(),
        nw.col("joined").max())
    s, e, x, j = (nw.col(c) == 1 for c in ("at_start", "at_end", "left", "joined"))
    counted = flags.with_columns(
        lost=(s & ~e).cast(nw.Int64), churned_and_returned=(s & e & x).cast(nw.Int64),
        joined_and_cancelled=(~s & x).cast(nw.Int64), joined=(~s & j).cast(nw.Int64))
    columns = ["lost", "churned_and_returned", "joined_and_cancelled", "joined"]
    totals = counted.group_by("period", *keys, drop_null_keys=False).agg(
        *(nw.col(c).sum() for c in columns))
    return eng.to_pandas(totals)


def _churn_table(periods, counts, daily, rules, by, confidence) -> pd.DataFrame:
    keys = [by] if by else []
    labels = (pd.Index(pd.unique(daily[by])).sort_values(na_position="last") if by
              else pd.Index([None]))
    grid = periods.loc[periods.index.repeat(len(labels))].reset_index(drop=True)
    if by:
        grid[by] = np.tile(labels.to_numpy(dtype=object), len(periods))
        grid[by] = grid[by].astype(daily[by].dtype)
    out = grid.merge(counts, on=["period", *keys], how="left") if len(counts) else grid.assign(
        lost=0, churned_and_returned=0, joined_and_cancelled=0, joined=0)
    columns = ["lost", "churned_and_returned", "joined_and_cancelled", "joined"]
    out[columns] = out[columns].fillna(0).astype("int64")
    out["customers_start"] = _active_on(daily, out, by)
    out["churned"] = (out["lost"]
                      + (rules.churn_and_return == "count") * out["churned_and_returned"]
                      + (rules.join_and_cancel == "count") * out["joined_and_cancelled"])
    out["denominator"] = out["customers_start"] + (
        rules.churn_denominator == "start_plus_new") * out["joined"]
    totals = out.groupby("period")["denominator"].sum()
    started = totals.index[totals > 0]
    out = out[out["period"] >= started.min()] if len(started) else out.iloc[:0]
    out["rate"] = share(out["churned"], out["denominator"]).to_numpy()
    valid = (out["denominator"] > 0) & (out["churned"] <= out["denominator"])
    # No interval where churned exceeds the denominator (a share above 1 has none).
    low, high = wilson_interval(out["churned"].where(valid, 0), out["denominator"],
                                confidence=confidence)
    out["ci_low"] = np.where(valid, np.where(out["churned"] == 0, 0.0, low), np.nan)
    out["ci_high"] = np.where(valid, np.where(out["churned"] == out["denominator"], 1.0, high),
                              np.nan)
    for column in ("period_start", "period_end"):
        out[column] = key_dates(out[column]).to_numpy()
    return out[["month", *keys, "period_start", "period_end", "customers_start", "joined",
                "lost", "churned_and_returned", "joined_and_cancelled", "churned",
                "denominator", "rate", "ci_low", "ci_high"]].reset_index(drop=True)


def _active_on(daily: pd.DataFrame, out: pd.DataFrame, by: str | None) -> np.ndarray:
    """Customers (of the row's group) active at the end of each row's ``boundary`` day."""
    result = np.zeros(len(out), dtype="int64")
    groups = daily.groupby(by, dropna=False, sort=False) if by else [(None, daily)]
    for label, part in groups:
        part = part.sort_values("day")
        days = part["day"].to_numpy("int64")
        running = np.cumsum(part["net"].to_numpy("int64"))
        rows = (out[by].isna() if pd.isna(label) else out[by] == label).to_numpy() if by else \
            np.ones(len(out), dtype=bool)
        position = np.searchsorted(days, out.loc[rows, "boundary"].to_numpy("int64"),
                                   side="right")
        result[rows] = np.where(position > 0, running[np.maximum(position - 1, 0)], 0)
    return result
