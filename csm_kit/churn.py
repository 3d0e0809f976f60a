"""Logo churn and logo retention: how many of the customers at a period's start are gone at its end.

Built on the MRR movements of :mod:`csm_kit.revenue` (same month-end rule, same as_of rule),
so a churned customer here is exactly a ``churn`` movement there. Logo retention counts the
other side of the same customers, over a window of 1, 3 or 12 months.

Where revenue tools disagree about logo churn, each rule is an option (and a ``definitions``
preset sets them all, :mod:`csm_kit.definitions`): whether a $0 customer has churned
(``zero_mrr``), whether a customer who joins and cancels inside the period counts
(``join_and_cancel``), whether one who churns and comes back inside it counts
(``churn_and_return``), the denominator (``churn_denominator``: customers at the start, or
also those who joined during the period), and the period itself (calendar months, quarters
or years with ``period``; a rolling window of ``churn_window_days`` days ending on each
month's last day). Those rules read each customer's state on the day it changes
(:mod:`csm_kit.day_events`); the default rules keep the month-end computation unchanged.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.day_events import day_events, key_dates
from csm_kit.definitions import Definitions, resolve
from csm_kit.errors import ConfigError
from csm_kit.months import expand_months, month_grid, month_starts, scatter_sum
from csm_kit.mrr_events import customer_month_frame, prepare_subscriptions
from csm_kit.revenue import bridge_table, share
from csm_kit.stats import DEFAULT_CONFIDENCE, wilson_interval

__all__ = ["logo_churn_rate", "logo_retention_rate"]

#: Calendar periods of logo churn and their length in months.
PERIOD_MONTHS = {"M": 1, "Q": 3, "Y": 12}
_CHURN_RULES = ("zero_mrr", "join_and_cancel", "churn_and_return", "churn_denominator",
                "churn_window_days")


def logo_churn_rate(subscriptions, *, by: str | None = None, customers: pd.DataFrame | None = None,
                    as_of=None, confidence: float = DEFAULT_CONFIDENCE,
                    engine: str | None = None, period: str = "M",
                    definitions: str | None = None, zero_mrr: str | None = None,
                    join_and_cancel: str | None = None, churn_and_return: str | None = None,
                    churn_denominator: str | None = None,
                    churn_window_days: int | None = None) -> pd.DataFrame:
    r"""Compute the monthly logo churn rate with a Wilson confidence interval.

    Customers lost this month divided by customers at the end of last month: a customer is
    counted at the start of month m when its MRR was above zero at the end of m−1, and churned
    when its MRR is zero at the end of m. Logo retention rate = 1 − rate.

    .. math:: \mathrm{churn}_m = \frac{|\{c : \mathrm{MRR}_{c,m-1} > 0,\ \mathrm{MRR}_{c,m} = 0\}|}
                                      {|\{c : \mathrm{MRR}_{c,m-1} > 0\}|}

    Under the definition rules, with S = active at the period's start, E = active at its
    end, X = churned at some moment inside it, J = joined (or returned) inside it:

    .. math:: \mathrm{churned} = |S \setminus E| + [\mathrm{churn\_and\_return}]\,|S \cap E
              \cap X| + [\mathrm{join\_and\_cancel}]\,|X \setminus S|, \quad
              \mathrm{denominator} = |S| + [\mathrm{start\_plus\_new}]\,|J \setminus S|

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date (pandas,
        Polars or DuckDB).
    by : None or a column of ``customers`` (segment, csm, plan, region): one rate per group,
        by each customer's current value.
    customers : customers frame, required with ``by``.
    as_of : date or None (None = last complete month of the data).
    confidence : level of the Wilson interval.
    engine : None, "pandas", "polars" or "duckdb".
    period : "M" (calendar months, the default), "Q" (quarters) or "Y" (years): customers
        at the end of the previous period, gone at the end of this one. Only periods
        complete by as_of are returned.
    definitions : None or a preset ("csm-kit", "chartmogul", "baremetrics", "profitwell",
        "stripe"; :mod:`csm_kit.definitions`) setting the rules below at once.
    zero_mrr : "churn" or "active" (a paying customer moved to $0 but still subscribed has
        not churned).
    join_and_cancel : "ignore" or "count" (a customer who joins and cancels inside the
        period counts as churned).
    churn_and_return : "ignore" or "count" (a customer who churns and comes back inside the
        period counts as churned).
    churn_denominator : "start" or "start_plus_new" (customers who joined or returned during
        the period are added to the denominator).
    churn_window_days : None or N: a rolling window of N days ending on each month's last
        day instead of the calendar month (only with ``period="M"``).

    Returns
    -------
    pandas DataFrame, one row per month (x group): month, [by], customers_start (customers
    active at the end of the previous month), churned (of them, not active at this month's
    end), rate (share, 0–1; NaN when customers_start is 0), ci_low, ci_high.

    With a non-default rule or period, ``month`` is the period's first month (for a rolling
    window, the month whose last day ends it) and the columns are: month, [by],
    period_start and period_end (first and last day counted), customers_start, joined
    (customers not active at the start who became active), lost (active at the start, not
    at the end), churned_and_returned, joined_and_cancelled, churned (by the rules),
    denominator (by the rules), rate (churned ÷ denominator), ci_low, ci_high (NaN where
    churned exceeds the denominator, which ``join_and_cancel="count"`` with the "start"
    denominator allows).

    Notes
    -----
    Months run from the first month that starts with customers to as_of. New customers of
    month m are not in its denominator; a customer who joins and leaves inside one month is
    in neither count (ProfitWell's rule). A customer who churns and comes back counts as
    churned in the month it left; cancelling one of two subscriptions is not churn.
    Under the rules, "joined" and "churned inside the period" are read day by day
    (:mod:`csm_kit.day_events`); a customer counts once per period however many times it
    leaves.

    Examples
    --------
    Four customers at the end of January, one gone at the end of February (1 / 4 = 25%); a
    fifth joins in February and is only in March's denominator:

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d", "e"],
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-10"]),
    ...     "end_date": pd.to_datetime([None, None, None, "2024-02-15", None]),
    ...     "mrr": [10.0, 10.0, 10.0, 10.0, 10.0],
    ... })
    >>> logo_churn_rate(subs, as_of="2024-03")[["customers_start", "churned", "rate"]].values.tolist()
    [[4.0, 1.0, 0.25], [4.0, 0.0, 0.0]]

    Stripe's denominator adds February's joiner e: 1 / (4 + 1) = 20% (January now has a
    row too: 0 churned of the 4 who joined):

    >>> stripe = logo_churn_rate(subs, as_of="2024-03", churn_denominator="start_plus_new")
    >>> stripe[["churned", "denominator", "rate"]].values.tolist()
    [[0.0, 4.0, 0.0], [1.0, 5.0, 0.2], [0.0, 4.0, 0.0]]
    """
    if period not in PERIOD_MONTHS:
        raise ConfigError(f"`period` must be one of {list(PERIOD_MONTHS)}, got {period!r}")
    rules = resolve(definitions, zero_mrr=zero_mrr, join_and_cancel=join_and_cancel,
                    churn_and_return=churn_and_return, churn_denominator=churn_denominator,
                    churn_window_days=churn_window_days)
    if rules.churn_window_days is not None and period != "M":
        raise ConfigError(f"`churn_window_days` is a rolling window ending each month; it "
                          f"cannot be combined with period={period!r}")
    default = Definitions()
    if period == "M" and all(getattr(rules, r) == getattr(default, r) for r in _CHURN_RULES):
        return _month_end_churn(subscriptions, by=by, customers=customers, as_of=as_of,
                                confidence=confidence, engine=engine)
    return _rule_churn(subscriptions, rules, period=period, by=by, customers=customers,
                       as_of=as_of, confidence=confidence, engine=engine)


def _month_end_churn(subscriptions, *, by, customers, as_of, confidence, engine):
    """The kit's default: churned and customers_start of the month-end bridge."""
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine)
    totals = table.groupby("month")["customers_start"].sum()
    started = totals.index[totals > 0]
    table = table[table["month"] >= started.min()] if len(started) else table.iloc[:0]
    out = table[["month", *([by] if by else [])]].copy()
    out["customers_start"] = table["customers_start"].astype("int64")
    out["churned"] = table["n_churn"].astype("int64")
    out["rate"] = share(out["churned"], out["customers_start"]).to_numpy()
    low, high = wilson_interval(out["churned"], out["customers_start"], confidence=confidence)
    # The Wilson bounds are exactly 0 at no churn and 1 at full churn; remove float residue.
    out["ci_low"] = np.where(out["churned"] == 0, 0.0, low)
    out["ci_high"] = np.where(out["churned"] == out["customers_start"], 1.0, high)
    out.loc[out["customers_start"] == 0, ["ci_low", "ci_high"]] = np.nan
    return out.reset_index(drop=True)


def logo_retention_rate(subscriptions, *, window_months: int = 1, by: str | None = None,
                        customers: pd.DataFrame | None = None, as_of=None,
                        confidence: float = DEFAULT_CONFIDENCE,
                        engine: str | None = None) -> pd.DataFrame:
    r"""Compute logo (customer) retention over a window ending each month, with a Wilson interval.

    Of the customers active at the end of month m − w, the share still active at the end of
    month m. With w = 1 it is exactly 1 − :func:`logo_churn_rate`; w = 3 gives the quarterly
    and w = 12 the annual view. (One source document calls this "net retention rate"; in the
    kit NRR always means revenue.)

    .. math:: \mathrm{retention}_m = \frac{|\{c : \mathrm{MRR}_{c,m-w} > 0,\ \mathrm{MRR}_{c,m} > 0\}|}
                                         {|\{c : \mathrm{MRR}_{c,m-w} > 0\}|}

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date (pandas,
        Polars or DuckDB).
    window_months : w, a whole number >= 1 (1 = monthly, 3 = quarterly, 12 = annual).
    by : None or a column of ``customers`` (segment, csm, plan, region): one rate per group,
        by each customer's current value.
    customers : customers frame, required with ``by``.
    as_of : date or None (None = last complete month of the data).
    confidence : level of the Wilson interval.
    engine : None, "pandas", "polars" or "duckdb".

    Returns
    -------
    pandas DataFrame, one row per window-end month (x group): month (window end), [by],
    customers_start (active at the end of month m − w), retained (of them, active at the end
    of m), rate (share, 0–1; NaN when customers_start is 0), ci_low, ci_high.

    Notes
    -----
    Only the two month ends count: a customer who churns and comes back inside the window is
    retained (it is active at both ends), which is why the 12-month rate can be higher than
    the product of twelve monthly ones. New customers of the window are in neither count.
    Months run from the first month with customers w months earlier to as_of.

    Examples
    --------
    Four customers at the end of January; d leaves in February, c in March: one month on,
    3 of 4 are left in February and 2 of 3 in March; over two months, 2 of 4 by March.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 4),
    ...     "end_date": pd.to_datetime([None, None, "2024-03-15", "2024-02-15"]),
    ...     "mrr": [10.0, 10.0, 10.0, 10.0],
    ... })
    >>> logo_retention_rate(subs, as_of="2024-03")[["customers_start", "retained"]].values.tolist()
    [[4, 3], [3, 2]]
    >>> logo_retention_rate(subs, window_months=2, as_of="2024-03")["rate"].tolist()
    [0.5]
    """
    if isinstance(window_months, bool) or not isinstance(window_months, int | np.integer) \
            or window_months < 1:
        raise ConfigError(f"`window_months` must be a whole number >= 1, got {window_months!r}")
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    months = customer_month_frame(frame, as_of_index).select("customer_id", "month_index")
    start = months.select("customer_id", month_index=nw.col("month_index") + window_months
                          ).filter(nw.col("month_index") <= as_of_index)
    end = months.with_columns(retained=nw.lit(1, dtype=nw.Int64))
    pairs = start.join(end, on=["customer_id", "month_index"], how="left").with_columns(
        nw.col("retained").fill_null(0))
    pairs = eng.attach_group(pairs, customers, by)
    keys = ["month_index"] + ([by] if by else [])
    sums = eng.to_pandas(pairs.group_by(keys, drop_null_keys=False).agg(
        nw.col("retained").sum(), customers=nw.len()))
    grid, positions = month_grid(sums, as_of_index, by)
    out = grid.drop(columns="month_index")
    out.insert(0, "month", month_starts(grid["month_index"].to_numpy()))
    out["customers_start"] = scatter_sum(len(grid), positions, sums["customers"])
    out["retained"] = scatter_sum(len(grid), positions, sums["retained"])
    out["rate"] = share(out["retained"], out["customers_start"]).to_numpy()
    low, high = wilson_interval(out["retained"], out["customers_start"], confidence=confidence)
    out["ci_low"] = np.where(out["retained"] == 0, 0.0, low)
    out["ci_high"] = np.where(out["retained"] == out["customers_start"], 1.0, high)
    out.loc[out["customers_start"] == 0, ["ci_low", "ci_high"]] = np.nan
    return out.reset_index(drop=True)

def _rule_churn(subscriptions, rules: Definitions, *, period, by, customers, as_of,
                confidence, engine) -> pd.DataFrame:
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
