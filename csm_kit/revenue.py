"""Monthly recurring revenue: customer-months, MRR movements, the MRR bridge and MRR/ARR/ARPA.

Everything here starts from the ``subscriptions`` table (customer_id, start_date, end_date,
mrr). A subscription is active on day d when ``start_date <= d < end_date`` (empty end = still
active) and a customer is *active at the end of month m* when the summed MRR of its active
subscriptions on the month's last day is above zero. With month indices (``year*12+month-1``)
that is: a subscription counts at the end of month m iff
``month_index(start_date) <= m <= month_index(end_date) - 1``.

Shared rules, stated once:

- **Whole cents.** MRR is rounded to whole cents (halves up) per subscription and all
  arithmetic is done on integer cents, so the bridge balances exactly; amounts come back as
  float currency.
- **Summed per customer.** A customer's subscriptions are summed before classifying, so
  cancelling one of two subscriptions is a contraction, not churn. A sum of zero or less
  (e.g. credits) counts as 0: not active.
- **Month ends only.** A customer who joins and leaves inside one month is never active at a
  month end, so it appears in no movement, count or cohort (ProfitWell's rule).
- **as_of.** ``None`` means the last complete month of the data: the data is taken to reach
  the latest of every ``start_date`` and every ``end_date`` minus one day (the last active day
  of an ended subscription), and the month is complete when that date is its last day
  (:func:`csm_kit.periods.last_complete_month`). An explicit ``as_of`` keeps its month and
  drops every change after it. Scheduled future end dates therefore move the default forward:
  pass ``as_of`` when the export contains them.
- **Engines.** The row-level work runs through narwhals on the input's backend (pandas, Polars,
  DuckDB, Spark), except that a large pandas frame runs on embedded DuckDB and comes back as
  pandas; ``engine=`` forces one (see :mod:`csm_kit.engine`). Row-level outputs come back in
  the input's type (pandas ones sorted by customer and month, whichever engine ran); tables
  of months come back as pandas.
"""

from __future__ import annotations

import warnings

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.periods import last_complete_month, parse_as_of

__all__ = ["customer_months", "mrr_movements", "mrr_bridge", "mrr_summary", "MOVEMENTS"]

MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")


def month_index_expr(column: str) -> nw.Expr:
    """A narwhals expression for ``year * 12 + month - 1`` of a date column.

    Not cast: on pandas a missing date gives NaN, which only an integer cast *after*
    dropping missing rows survives.
    """
    col = nw.col(column)
    return col.dt.year() * 12 + col.dt.month() - 1


def _month_index_of(ts: pd.Timestamp) -> int:
    return ts.year * 12 + ts.month - 1


def prepare_subscriptions(subscriptions, *, as_of=None, engine=None):
    """Check columns, move to the chosen engine and settle as_of: ``(frame, as_of_index)``."""
    eng.require_columns(subscriptions, "subscriptions", ["customer_id", "start_date", "mrr"])
    has_end = "end_date" in nw.from_native(subscriptions).collect_schema().names()
    columns = ["customer_id", "start_date", "end_date", "mrr"] if has_end else [
        "customer_id", "start_date", "mrr"]
    frame = eng.to_engine(subscriptions, engine, columns=columns)
    month = parse_as_of(as_of)
    if month is None:
        month = _default_as_of(frame, has_end)
    return frame, (-1 if month is None else _month_index_of(month))


def _default_as_of(frame, has_end: bool) -> pd.Timestamp | None:
    aggs = [nw.col("start_date").max()] + ([nw.col("end_date").max()] if has_end else [])
    latest = frame.select(aggs)
    latest = (latest.collect(backend="pyarrow") if isinstance(latest, nw.LazyFrame)
              else latest).to_arrow().to_pylist()[0]
    dates = [wall_time(latest["start_date"])] if latest["start_date"] is not None else []
    if has_end and latest["end_date"] is not None:
        dates.append(wall_time(latest["end_date"]) - pd.Timedelta(days=1))
    return last_complete_month(max(dates)) if dates else None


def wall_time(value) -> pd.Timestamp:
    """A naive timestamp of the wall-clock date and time of ``value``.

    Spark hands timestamps over in its session time zone, time-zone aware; the month they
    fall in there is the one the engine computed, so the zone is dropped, not converted.

    >>> wall_time(pd.Timestamp("2024-03-31", tz="Europe/Berlin"))
    Timestamp('2024-03-31 00:00:00')
    """
    value = pd.Timestamp(value)
    return value.tz_localize(None) if value.tzinfo is not None else value


def customer_events(frame, as_of_index: int):
    """Per-customer MRR at the months where it changes (integer cents, clipped at 0).

    Returns a narwhals frame: customer_id, month_index, delta, mrr_before, mrr_after and
    next_index (the customer's next change, null for the last). Every subscription adds its
    cents at ``month_index(start_date)`` and removes them at ``month_index(end_date)``; months
    after ``as_of_index`` are dropped. On DuckDB the result is computed once per distinct
    input and as_of and shared by later calls (:func:`csm_kit.engine.reuse`).
    """
    return eng.reuse(frame, f"events:{as_of_index}", lambda f: _events(f, as_of_index))


def _events(frame, as_of_index: int):
    cents = ((nw.col("mrr") * 100 + 0.5).floor()).cast(nw.Int64)
    has_end = "end_date" in frame.collect_schema().names()
    subs = frame.with_columns(start_index=month_index_expr("start_date"), cents=cents)
    if has_end:
        # A subscription ending in its start month never reaches a month end: drop it.
        subs = subs.with_columns(end_index=month_index_expr("end_date")).filter(
            nw.col("end_index").is_null() | (nw.col("end_index") > nw.col("start_index")))
    changes = subs.select(
        "customer_id", month_index=nw.col("start_index").cast(nw.Int64), delta=nw.col("cents"))
    if has_end:
        ends = subs.filter(~nw.col("end_index").is_null()).select(
            "customer_id", month_index=nw.col("end_index").cast(nw.Int64), delta=-nw.col("cents"))
        changes = nw.concat([changes, ends], how="vertical")
    events = (
        changes.filter(nw.col("month_index") <= as_of_index)
        .group_by("customer_id", "month_index")
        .agg(nw.col("delta").sum())
        .with_columns(nw.col("delta").cast(nw.Int64))
        .filter(nw.col("delta") != 0)
    )
    # Both windows share one partition and order, so a lazy engine sorts once.
    events = events.with_columns(
        total=nw.col("delta").cum_sum().over("customer_id", order_by="month_index").cast(nw.Int64),
        next_index=nw.col("month_index").shift(-1).over("customer_id", order_by="month_index"),
    ).with_columns(
        mrr_after=nw.col("total").clip(lower_bound=0),
        mrr_before=(nw.col("total") - nw.col("delta")).clip(lower_bound=0),
    )
    if isinstance(events, nw.DataFrame):
        events = events.sort("customer_id", "month_index")
    return events.drop("total")


def movement_frame(events):
    """Classify each change of a customer's month-end MRR (narwhals frame, integer cents).

    Returns customer_id, month_index, month, movement, mrr_before, mrr_after.
    """
    changes = events.filter(nw.col("mrr_before") != nw.col("mrr_after"))
    first = (
        events.filter(nw.col("mrr_after") > 0)
        .group_by("customer_id")
        .agg(first_index=nw.col("month_index").min())
    )
    before, after = nw.col("mrr_before"), nw.col("mrr_after")
    movement = (
        nw.when((before == 0) & (nw.col("month_index") == nw.col("first_index"))).then(nw.lit("new"))
        .when(before == 0).then(nw.lit("reactivation"))
        .when(after == 0).then(nw.lit("churn"))
        .when(after > before).then(nw.lit("expansion"))
        .otherwise(nw.lit("contraction"))
    )
    out = changes.join(first, on="customer_id", how="left").with_columns(movement=movement)
    if isinstance(out, nw.DataFrame):
        out = out.sort("customer_id", "month_index")
    out = out.select("customer_id", "month_index", "movement", "mrr_before", "mrr_after")
    return eng.with_month(out).select(
        "customer_id", "month_index", "month", "movement", "mrr_before", "mrr_after")


def classified_movements(frame, as_of_index: int):
    """:func:`movement_frame` of the customer events, shared between calls on DuckDB."""
    return eng.reuse(frame, f"movements:{as_of_index}",
                     lambda f: movement_frame(customer_events(f, as_of_index)))


def month_intervals(events, as_of_index: int):
    """Spans of constant positive MRR: customer_id, first_index, last_index, mrr (cents)."""
    last = (nw.col("next_index") - 1).fill_null(as_of_index).cast(nw.Int64)
    return events.filter(nw.col("mrr_after") > 0).select(
        "customer_id", first_index=nw.col("month_index"), last_index=last,
        mrr=nw.col("mrr_after"))


def customer_month_frame(frame, as_of_index: int):
    """Customer-months as a narwhals frame: customer_id, month_index, month, mrr (cents)."""
    spans = eng.materialize(month_intervals(customer_events(frame, as_of_index), as_of_index))
    months = eng.expand_months(spans, "first_index", "last_index")
    return months.select("customer_id", "month_index", "month", "mrr")


def _to_currency(*columns: str) -> list[nw.Expr]:
    return [(nw.col(c).cast(nw.Float64) / 100).alias(c) for c in columns]


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
    spans = spans.with_columns(*_to_currency("mrr"))
    if isinstance(spans, nw.LazyFrame) and eng.backend_of(subscriptions) == "pandas":
        # A pandas caller gets pandas rows: collect the (10x fewer) spans sorted from the lazy
        # engine and expand them with numpy, in the pandas engine's row order.
        spans = eng.collect(spans, sort_by=["customer_id", "first_index"])
    months = eng.expand_months(spans, "first_index", "last_index")
    return eng.like_input(months.select("customer_id", "month", "mrr"), subscriptions)


def mrr_movements(subscriptions, *, as_of=None, engine: str | None = None):
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

    Returns
    -------
    Frame of the input's type with customer_id, month (first day), movement, mrr_change
    (signed, currency), mrr_before and mrr_after (currency).

    Notes
    -----
    Only months where a customer's month-end MRR changes get a row. Subscriptions are summed
    per customer first (cancelling one of two is contraction). A reactivated customer's first
    month stays its first ever month; joining and leaving inside one month is invisible.

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
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    moves = classified_movements(frame, as_of_index)
    moves = moves.with_columns(mrr_change=nw.col("mrr_after") - nw.col("mrr_before"))
    out = moves.select(
        "customer_id", "month", "movement", *_to_currency("mrr_change", "mrr_before", "mrr_after"))
    return eng.like_input(out, subscriptions, sort_by=["customer_id", "month"])


def movement_totals(subscriptions, *, by=None, customers=None, as_of=None, engine=None):
    """Sum movements per month (and group) on the engine: a small pandas frame in cents.

    Returns ``(totals, as_of_index)``; totals has month_index, [by], movement, mrr (signed
    cents) and customers (count of customers with that movement).
    """
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    moves = classified_movements(frame, as_of_index)
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
    grid, positions = eng.month_grid(totals, as_of_index, by)
    n_groups = max(1, grid[by].nunique(dropna=False)) if by else 1
    out = grid.copy()
    net = np.zeros(len(grid), dtype="int64")
    for movement in MOVEMENTS:
        rows = (totals["movement"] == movement).to_numpy()
        amount = eng.scatter_sum(len(grid), positions[rows], totals.loc[rows, "mrr"])
        out[movement] = np.abs(amount)
        out[f"n_{movement}"] = eng.scatter_sum(len(grid), positions[rows], totals.loc[rows, "customers"])
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


def bridge_table(subscriptions, *, by=None, customers=None, as_of=None, engine=None):
    """:func:`bridge_cents` with a ``month`` timestamp column: the base of every monthly KPI."""
    totals, as_of_index = movement_totals(
        subscriptions, by=by, customers=customers, as_of=as_of, engine=engine)
    table = bridge_cents(totals, as_of_index, by)
    if by and table[by].isna().any():
        warnings.warn(
            f"some subscriptions belong to customers missing from `customers`; their {by} is "
            "shown as missing", stacklevel=3)
    table.insert(0, "month", eng.month_starts(table["month_index"].to_numpy()))
    return table.drop(columns="month_index")


def mrr_bridge(subscriptions, *, by=None, customers=None, as_of=None, engine=None) -> pd.DataFrame:
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

    Returns
    -------
    pandas DataFrame, one row per month (x group) from the first month with MRR to as_of:
    month, [by], start_mrr, new, expansion, reactivation, contraction, churn, end_mrr — all
    positive amounts in currency per month.

    Notes
    -----
    The identity holds exactly in whole cents (the arithmetic is integer); in float currency
    it holds to float rounding. Months without movements are present with zeros.

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
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine)
    money = ["start_mrr", *MOVEMENTS, "end_mrr"]
    out = table[["month", *([by] if by else []), *money]].copy()
    out[money] = out[money].astype("float64") / 100
    return out


def mrr_summary(subscriptions, *, by=None, customers=None, as_of=None, engine=None) -> pd.DataFrame:
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
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine)
    mrr = table["end_mrr"].astype("float64") / 100
    customers_end = table["customers_end"].astype("int64")
    out = table[["month", *([by] if by else [])]].copy()
    out["mrr"] = mrr
    out["arr"] = (table["end_mrr"] * 12).astype("float64") / 100
    out["customers"] = customers_end
    out["arpa"] = share(mrr, customers_end)
    return out
