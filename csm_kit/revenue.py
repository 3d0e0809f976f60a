"""Monthly recurring revenue: customer-months, MRR movements, the MRR bridge and MRR/ARR/ARPA.

Everything here starts from the ``subscriptions`` table (customer_id, start_date, end_date,
mrr) and is counted at month ends: a customer is *active at the end of month m* when the
summed MRR of its subscriptions active on the month's last day is above zero. The shared rules
— whole cents, summed per customer, month ends only, the default ``as_of`` — are stated and
implemented once in :mod:`csm_kit.mrr_events`, which turns subscriptions into per-customer
MRR change events; this module turns those events into the public metrics.

**Definitions.** :func:`mrr_movements`, :func:`mrr_bridge`, :func:`mrr_summary` and
:func:`average_sale_price` take two of the rules where revenue tools differ
(:mod:`csm_kit.definitions`): ``timing`` ("month_end", the default, or "events": every
change booked on the day it happens, :mod:`csm_kit.day_events`) and ``zero_mrr`` ("churn",
the default, or "active": a paying customer moved to a $0 plan stays a customer), or a whole
``definitions`` preset ("chartmogul", "stripe", ...). The bridge balances under every rule.

**Engines.** The row-level work runs through narwhals on the input's backend (pandas, Polars,
DuckDB, Spark), except that a large pandas frame runs on embedded DuckDB and comes back as
pandas; ``engine=`` forces one (see :mod:`csm_kit.engine`). Row-level outputs come back in the
input's type (pandas ones sorted by customer and month, whichever engine ran); tables of months
come back as pandas.
"""

from __future__ import annotations

import warnings

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.day_events import rule_movements
from csm_kit.definitions import Definitions, resolve
from csm_kit.months import expand_months, month_grid, month_starts, scatter_sum
from csm_kit.mrr_events import (  # prepare_subscriptions is also imported from here (survival)
    customer_events,
    month_intervals,
    prepare_subscriptions,
    to_currency,
)

__all__ = ["customer_months", "mrr_movements", "mrr_bridge", "mrr_summary",
           "average_sale_price", "MOVEMENTS"]

MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")


def customer_months(subscriptions, *, as_of=None, engine: str | None = None):
    r"""Expand subscriptions into one row per customer and month with MRR at the month's end.

    A customer's MRR in month m is the sum of the MRR of its subscriptions active on the last
    day of m; only customer-months with MRR above zero are returned, up to ``as_of``.

    .. math:: \mathrm{MRR}_{c,m} = \sum_{s \in c} \mathrm{mrr}_s \,
              [\,\mathrm{start}_s \le \mathrm{last\ day}(m) < \mathrm{end}_s\,]

    Parameters
    ----------
    subscriptions : pandas, Polars or DuckDB frame with customer_id, start_date, mrr and
        optionally end_date (exclusive; empty = still active).
    as_of : date or None. Last month to include; None = last complete month of the data.
    engine : None, "auto", "pandas", "polars" or "duckdb". Backend to run on; None/"auto" =
        the input's own (a pandas frame of ``engine.DUCKDB_MIN_ROWS`` rows or more: DuckDB).

    Returns
    -------
    Frame of the input's type with customer_id, month (first day of the month), mrr
    (currency per month, whole cents).

    Notes
    -----
    Subscriptions starting and ending inside one month never reach a month end and add
    nothing. A pandas result is sorted by customer and month whichever engine ran it; Polars
    lazy, DuckDB and Spark results are unordered.

    Examples
    --------
    Customer a adds a second subscription in February and drops it in March; b starts
    mid-February:

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "start_date": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-02-15"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-01", None]),
    ...     "mrr": [100.0, 50.0, 80.0],
    ... })
    >>> print(customer_months(subs, as_of="2024-03-31").to_string())
      customer_id      month    mrr
    0           a 2024-01-01  100.0
    1           a 2024-02-01  150.0
    2           a 2024-03-01  100.0
    3           b 2024-02-01   80.0
    4           b 2024-03-01   80.0
    """
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    spans = month_intervals(customer_events(frame, as_of_index), as_of_index)
    spans = spans.with_columns(*to_currency("mrr"))
    if isinstance(spans, nw.LazyFrame) and eng.backend_of(subscriptions) == "pandas":
        # A pandas caller gets pandas rows: collect the (10x fewer) spans sorted from the lazy
        # engine and expand them with numpy, in the pandas engine's row order.
        spans = eng.collect(spans, sort_by=["customer_id", "first_index"])
    months = expand_months(spans, "first_index", "last_index")
    return eng.like_input(months.select("customer_id", "month", "mrr"), subscriptions)


def mrr_movements(subscriptions, *, as_of=None, engine: str | None = None,
                  definitions: str | None = None, timing: str | None = None,
                  zero_mrr: str | None = None):
    r"""Classify every change of a customer's month-end MRR as an MRR movement.

    Comparing a customer's MRR at the end of month m−1 (``mrr_before``) with the end of m
    (``mrr_after``): **new** = first ever MRR; **expansion** = increase; **contraction** =
    decrease that stays above 0; **churn** = drop to 0; **reactivation** = from 0 back above 0
    after an earlier churn.

    .. math:: \mathrm{mrr\_change}_{c,m} = \mathrm{MRR}_{c,m} - \mathrm{MRR}_{c,m-1} \ne 0

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb" (None = automatic, see
        :func:`csm_kit.engine.choose_engine`).
    definitions : None or a preset name ("csm-kit", "chartmogul", "baremetrics",
        "profitwell", "stripe"); see :mod:`csm_kit.definitions`.
    timing : None (the preset's), "month_end" or "events" (one row per change, on the day
        it happens).
    zero_mrr : None (the preset's), "churn" or "active" (a paying customer moved to $0 while
        holding a subscription stays active: its drop is contraction, not churn).

    Returns
    -------
    Frame of the input's type with customer_id, month (first day), movement, mrr_change
    (signed, currency), mrr_before and mrr_after (currency); with ``timing="events"`` also
    ``date``, the day of the change (after ``month``).

    Notes
    -----
    Only months where a customer's month-end MRR changes get a row. Subscriptions are summed
    per customer first (cancelling one of two is contraction). A reactivated customer's first
    month stays its first ever month; joining and leaving inside one month is invisible.
    With ``timing="events"`` every change is a row: joining and leaving inside a month is
    new then churn, an upgrade in the first month is expansion.

    Examples
    --------
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "start_date": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-02-15"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-01", "2024-03-20"]),
    ...     "mrr": [100.0, 50.0, 80.0],
    ... })
    >>> mrr_movements(subs, as_of="2024-03")[["customer_id", "movement", "mrr_change"]].values.tolist()
    [['a', 'new', 100.0], ['a', 'expansion', 50.0], ['a', 'contraction', -50.0], ['b', 'new', 80.0], ['b', 'churn', -80.0]]
    """
    rules = resolve(definitions, timing=timing, zero_mrr=zero_mrr)
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    moves = rule_movements(frame, as_of_index, timing=rules.timing, zero_mrr=rules.zero_mrr)
    moves = moves.with_columns(mrr_change=nw.col("mrr_after") - nw.col("mrr_before"))
    dated = rules.timing == "events"
    if dated:
        moves = moves.with_columns(date=nw.col("day").cast(nw.String).str.to_datetime("%Y%m%d"))
    out = moves.select("customer_id", "month", *(["date"] if dated else []), "movement",
                       *to_currency("mrr_change", "mrr_before", "mrr_after"))
    return eng.like_input(out, subscriptions,
                          sort_by=["customer_id", "date" if dated else "month"])


def movement_totals(subscriptions, *, by=None, customers=None, as_of=None, engine=None,
                    rules: Definitions | None = None):
    """Sum movements per month (and group) on the engine: a small pandas frame in cents.

    Returns ``(totals, as_of_index)``; totals has month_index, [by], movement, mrr (signed
    cents) and customers (count of movements: customers with that movement at month ends,
    every change with ``timing="events"``). ``rules`` = the kit's default rules when None.
    """
    rules = rules or Definitions()
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    moves = rule_movements(frame, as_of_index, timing=rules.timing, zero_mrr=rules.zero_mrr)
    moves = eng.attach_group(moves, customers, by)
    keys = ["month_index", "movement"] + ([by] if by else [])
    moves = moves.with_columns(mrr=nw.col("mrr_after") - nw.col("mrr_before"))
    totals = moves.group_by(keys, drop_null_keys=False).agg(nw.col("mrr").sum(), customers=nw.len())
    totals = totals.with_columns(nw.col("mrr").cast(nw.Int64), nw.col("customers").cast(nw.Int64))
    return eng.to_pandas(totals), as_of_index


def bridge_cents(totals: pd.DataFrame, as_of_index: int, by: str | None = None) -> pd.DataFrame:
    """Lay movement totals on a full month (x group) grid with start/end MRR and logo counts.

    Columns: month_index, [by], the five movements (positive cents), start_mrr, end_mrr,
    customers_start, customers_end, and ``n_<movement>`` customer counts.
    """
    grid, positions = month_grid(totals, as_of_index, by)
    n_groups = max(1, grid[by].nunique(dropna=False)) if by else 1
    out = grid.copy()
    net = np.zeros(len(grid), dtype="int64")
    for movement in MOVEMENTS:
        rows = (totals["movement"] == movement).to_numpy()
        amount = scatter_sum(len(grid), positions[rows], totals.loc[rows, "mrr"])
        out[movement] = np.abs(amount)
        out[f"n_{movement}"] = scatter_sum(len(grid), positions[rows], totals.loc[rows, "customers"])
        net += amount
    logos = (out["n_new"] + out["n_reactivation"] - out["n_churn"]).to_numpy()
    out["end_mrr"] = _running_total(net, n_groups)
    out["start_mrr"] = out["end_mrr"] - net
    out["customers_end"] = _running_total(logos, n_groups)
    out["customers_start"] = out["customers_end"] - logos
    return out


def _running_total(values: np.ndarray, n_groups: int) -> np.ndarray:
    """Cumulative sum over months of a month-major (month x group) flat array, per group."""
    return values.reshape(-1, n_groups).cumsum(axis=0).ravel()


def share(numerator, denominator) -> pd.Series:
    """``numerator / denominator`` as float, NaN where the denominator is 0."""
    numerator = pd.Series(numerator, dtype="float64")
    denominator = pd.Series(denominator, dtype="float64")
    return numerator / denominator.where(denominator != 0)


def bridge_table(subscriptions, *, by=None, customers=None, as_of=None, engine=None,
                 rules: Definitions | None = None):
    """:func:`bridge_cents` with a ``month`` timestamp column: the base of every monthly KPI."""
    totals, as_of_index = movement_totals(
        subscriptions, by=by, customers=customers, as_of=as_of, engine=engine, rules=rules)
    table = bridge_cents(totals, as_of_index, by)
    if by and table[by].isna().any():
        warnings.warn(
            f"some subscriptions belong to customers missing from `customers`; their {by} is "
            "shown as missing", stacklevel=3)
    table.insert(0, "month", month_starts(table["month_index"].to_numpy()))
    return table.drop(columns="month_index")


def mrr_bridge(subscriptions, *, by=None, customers=None, as_of=None, engine=None,
               definitions: str | None = None, timing: str | None = None,
               zero_mrr: str | None = None) -> pd.DataFrame:
    r"""Build the monthly MRR bridge: opening MRR, the five movements, closing MRR.

    .. math:: \mathrm{start}_m + \mathrm{new}_m + \mathrm{expansion}_m + \mathrm{reactivation}_m
              - \mathrm{contraction}_m - \mathrm{churn}_m = \mathrm{end}_m = \mathrm{start}_{m+1}

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    by : None or a column of ``customers`` (segment, csm, plan, ...): one bridge per group,
        by each customer's current value.
    customers : customers frame, required with ``by``.
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb" (None = automatic, see
        :func:`csm_kit.engine.choose_engine`).
    definitions, timing, zero_mrr : the definition rules, as in :func:`mrr_movements`.

    Returns
    -------
    pandas DataFrame, one row per month (x group) from the first month with MRR to as_of:
    month, [by], start_mrr, new, expansion, reactivation, contraction, churn, end_mrr — all
    positive amounts in currency per month.

    Notes
    -----
    The identity holds exactly in whole cents (the arithmetic is integer); in float currency
    it holds to float rounding. Months without movements are present with zeros. Start and
    end MRR are month-end MRR under every rule; ``timing="events"`` only splits the month's
    change differently (a customer joining and leaving inside the month adds the same amount
    to new and to churn).

    Examples
    --------
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "start_date": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-02-15"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-01", None]),
    ...     "mrr": [100.0, 50.0, 80.0],
    ... })
    >>> print(mrr_bridge(subs, as_of="2024-03").to_string())
           month  start_mrr    new  expansion  reactivation  contraction  churn  end_mrr
    0 2024-01-01        0.0  100.0        0.0           0.0          0.0    0.0    100.0
    1 2024-02-01      100.0   80.0       50.0           0.0          0.0    0.0    230.0
    2 2024-03-01      230.0    0.0        0.0           0.0         50.0    0.0    180.0
    """
    rules = resolve(definitions, timing=timing, zero_mrr=zero_mrr)
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine,
                         rules=rules)
    money = ["start_mrr", *MOVEMENTS, "end_mrr"]
    out = table[["month", *([by] if by else []), *money]].copy()
    out[money] = out[money].astype("float64") / 100
    return out


def mrr_summary(subscriptions, *, by=None, customers=None, as_of=None, engine=None,
                definitions: str | None = None, zero_mrr: str | None = None) -> pd.DataFrame:
    r"""Report MRR, ARR, active customers and ARPA at each month end.

    .. math:: \mathrm{ARR}_m = 12\,\mathrm{MRR}_m, \qquad
              \mathrm{ARPA}_m = \mathrm{MRR}_m / \mathrm{customers}_m

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    by, customers : optional grouping by a customers column (current value).
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb" (None = automatic, see
        :func:`csm_kit.engine.choose_engine`).
    definitions, zero_mrr : the definition rules, as in :func:`mrr_movements`; with
        ``zero_mrr="active"`` a paying customer moved to $0 still counts in customers (and
        so lowers ARPA).

    Returns
    -------
    pandas DataFrame: month, [by], mrr and arr (currency), customers (active at month end),
    arpa (currency per customer per month; NaN with no customers).

    Notes
    -----
    Counted at month ends: a customer joining and leaving inside a month is in no figure.
    ARR is 12 × MRR in whole cents (a 1,000-a-year plan is 83.33 MRR and 999.96 ARR).

    Examples
    --------
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-01"]),
    ...     "mrr": [100.0, 50.0],
    ... })
    >>> print(mrr_summary(subs, as_of="2024-03").to_string())
           month    mrr     arr  customers   arpa
    0 2024-01-01  100.0  1200.0          1  100.0
    1 2024-02-01  150.0  1800.0          2   75.0
    2 2024-03-01  100.0  1200.0          1  100.0
    """
    # Month-end figures: the timing rule changes none of them.
    rules = resolve(definitions, zero_mrr=zero_mrr, timing="month_end")
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine,
                         rules=rules)
    mrr = table["end_mrr"].astype("float64") / 100
    customers_end = table["customers_end"].astype("int64")
    out = table[["month", *([by] if by else [])]].copy()
    out["mrr"] = mrr
    out["arr"] = (table["end_mrr"] * 12).astype("float64") / 100
    out["customers"] = customers_end
    out["arpa"] = share(mrr, customers_end)
    return out


def average_sale_price(subscriptions, *, by=None, customers=None, as_of=None, engine=None,
                       definitions: str | None = None, timing: str | None = None,
                       zero_mrr: str | None = None) -> pd.DataFrame:
    r"""Compute the average sale price (ASP): new-business MRR per new customer each month.

    .. math:: \mathrm{ASP}_m = \frac{\mathrm{new\ MRR}_m}{\mathrm{new\ customers}_m}

    New-business MRR is the ``new`` movement of :func:`mrr_bridge`: a customer's first ever
    MRR. Reactivations and later upgrades are not sales of this kind.

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    by, customers : optional grouping by a customers column (current value).
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb".
    definitions, timing, zero_mrr : the definition rules, as in :func:`mrr_movements`.

    Returns
    -------
    pandas DataFrame, one row per month (x group): month, [by], new (new-business MRR,
    currency), new_customers (count), asp (currency per new customer; NaN without new
    customers).

    Notes
    -----
    With the default month-end timing a new customer's MRR is its MRR at the end of its
    first month (an upgrade in that month is included, a customer who left before the month
    end is not a sale); with ``timing="events"`` it is the MRR at the moment it converted
    (ChartMogul's definition).

    Examples
    --------
    ChartMogul's example: ten new customers in May, three on a $100 plan and seven on $50:
    (3 × 100 + 7 × 50) / 10 = 65.

    >>> subs = pd.DataFrame({
    ...     "customer_id": [f"c{i}" for i in range(10)],
    ...     "start_date": pd.to_datetime(["2024-05-06"] * 10),
    ...     "mrr": [100.0] * 3 + [50.0] * 7,
    ... })
    >>> average_sale_price(subs, as_of="2024-05")[["new", "new_customers", "asp"]].values.tolist()
    [[650.0, 10.0, 65.0]]
    """
    rules = resolve(definitions, timing=timing, zero_mrr=zero_mrr)
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine,
                         rules=rules)
    out = table[["month", *([by] if by else [])]].copy()
    out["new"] = table["new"].astype("float64") / 100
    out["new_customers"] = table["n_new"].astype("int64")
    out["asp"] = share(out["new"], out["new_customers"]).to_numpy()
    return out
