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
from csm_kit.definitions import Definitions, resolve
from csm_kit.errors import ConfigError
from csm_kit.months import month_grid, month_starts, scatter_sum
from csm_kit.mrr_events import customer_month_frame, prepare_subscriptions
from csm_kit.revenue import bridge_table, share
from csm_kit.rule_churn import PERIOD_MONTHS, rule_churn
from csm_kit.stats import DEFAULT_CONFIDENCE, wilson_interval

__all__ = ["logo_churn_rate", "logo_retention_rate"]

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
    return rule_churn(subscriptions, rules, period=period, by=by, customers=customers,
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
