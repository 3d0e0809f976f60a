"""Cohort retention: how much of each starting month's customers (or revenue) is still there.

A cohort is the month a customer first had MRR at a month end (subscriptions) or first
bought (transactions). Cell (c, k) is the share of cohort c active k months later, in
customers (``kind="logo"``) or revenue (``kind="revenue"``). Cells a cohort has not reached
by as_of are missing (NaN in the matrix, absent from the long table), never 0. A customer who
leaves and comes back stays in its first cohort.

Whether that returning customer counts as retained again is a definition rule
(:mod:`csm_kit.definitions`): ``retention="active"`` (the kit's default) counts every
customer active at the month end; ``retention="not_yet_churned"`` (Stripe's cohorts) counts
only those that have not churned yet, so a customer's first churn ends its retention for good.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.definitions import resolve
from csm_kit.errors import ConfigError
from csm_kit.months import month_starts
from csm_kit.mrr_events import (
    customer_events,
    month_index_expr,
    month_intervals,
    prepare_subscriptions,
    wall_time,
)
from csm_kit.periods import last_complete_month, parse_as_of
from csm_kit.revenue import share

__all__ = ["cohort_table", "cohort_retention", "average_retention_curve", "KINDS"]

KINDS = ("logo", "revenue")


def _cells(table, as_of, engine, retention="active", explicit=False):
    """Active customers and value (cents) per cohort and age (a small pandas frame), as_of's index."""
    names = set(nw.from_native(table).collect_schema().names())
    if {"start_date", "mrr"} <= names:
        frame, as_of_index = prepare_subscriptions(table, as_of=as_of, engine=engine)
        first_run = retention == "not_yet_churned"
        steps = eng.reuse(frame, f"cohort_steps:{as_of_index}" + (":first" if first_run else ""),
                          lambda f: _cohort_steps(f, as_of_index, first_run))
        return _step_cells(eng.to_pandas(steps), as_of_index), as_of_index
    if explicit and retention != "active":
        raise ConfigError(f"`retention={retention!r}` needs subscriptions: a transactions "
                          "customer has no churn to end its retention")
    if {"date", "amount"} <= names:
        activity, as_of_index = _transaction_activity(table, as_of, engine)
        return _cohort_cells(activity), as_of_index
    raise ConfigError(
        "cohorts need subscriptions (customer_id, start_date, mrr) or transactions "
        f"(customer_id, date, amount); got columns {sorted(names)}")


def _transaction_activity(table, as_of, engine):
    eng.require_columns(table, "transactions", ["customer_id", "date", "amount"])
    frame = eng.to_engine(table, engine, columns=["customer_id", "date", "amount"])
    month = parse_as_of(as_of)
    if month is None:
        latest = frame.select(nw.col("date").max())
        latest = (latest.collect(backend="pyarrow") if isinstance(latest, nw.LazyFrame)
                  else latest).to_arrow().to_pylist()[0]["date"]
        month = None if latest is None else last_complete_month(wall_time(latest))
    as_of_index = -1 if month is None else month.year * 12 + month.month - 1
    cents = ((nw.col("amount") * 100 + 0.5).floor()).cast(nw.Int64)
    orders = frame.with_columns(month_index=month_index_expr("date").cast(nw.Int64), value=cents)
    orders = orders.filter(nw.col("month_index") <= as_of_index)
    active = orders.group_by("customer_id", "month_index").agg(nw.col("value").sum())
    return active, as_of_index


def _cohort_cells(activity) -> pd.DataFrame:
    """Count active customers and sum value per cohort and age, on the engine (small result)."""
    first = activity.group_by("customer_id").agg(cohort_index=nw.col("month_index").min())
    aged = activity.join(first, on="customer_id").with_columns(
        age=nw.col("month_index") - nw.col("cohort_index"))
    cells = aged.group_by("cohort_index", "age").agg(nw.col("value").sum(), active=nw.len())
    return eng.to_pandas(cells)


def _cohort_steps(frame, as_of_index: int, first_run: bool = False):
    """Changes in active customers and MRR per cohort and age, from spans of constant MRR.

    A span (first..last month, mrr) of a customer in cohort c adds one customer and its MRR
    from age first−c to last−c: +1/+mrr at age first−c and −1/−mrr at age last−c+1. Summed per
    (cohort, age) on the engine, this is a small table; running sums over age
    (:func:`_step_cells`) give the same counts as grouping the expanded customer-months,
    without expanding them. A customer's spans never overlap in time. ``first_run`` keeps
    only each customer's spans up to its first churn (the "not yet churned" rule).
    """
    spans = month_intervals(customer_events(frame, as_of_index), as_of_index)
    if first_run:
        spans = _until_first_churn(spans)
    spans = eng.materialize(spans)
    first = spans.group_by("customer_id").agg(cohort_index=nw.col("first_index").min())
    aged = spans.join(first, on="customer_id")
    opens = aged.select("cohort_index", age=nw.col("first_index") - nw.col("cohort_index"),
                        active=nw.lit(1, dtype=nw.Int64), value=nw.col("mrr"))
    closes = aged.filter(nw.col("last_index") < as_of_index).select(
        "cohort_index", age=nw.col("last_index") + 1 - nw.col("cohort_index"),
        active=nw.lit(-1, dtype=nw.Int64), value=-nw.col("mrr"))
    return nw.concat([opens, closes], how="vertical").group_by("cohort_index", "age").agg(
        nw.col("active").sum(), nw.col("value").sum())


def _until_first_churn(spans):
    """A customer's spans of its first unbroken run of active months (before any churn)."""
    order = {"order_by": "first_index"}
    spans = spans.with_columns(previous=nw.col("last_index").shift(1).over("customer_id", **order))
    starts_run = (nw.col("previous").is_null()
                  | (nw.col("first_index") != nw.col("previous") + 1)).cast(nw.Int64)
    return spans.with_columns(run=starts_run.cum_sum().over("customer_id", **order)).filter(
        nw.col("run") == 1).drop("run", "previous")


def _step_cells(steps: pd.DataFrame, as_of_index: int) -> pd.DataFrame:
    """Running sums of :func:`_cohort_steps` over age: one row per cohort and reached age."""
    cohorts = np.unique(steps["cohort_index"].to_numpy(dtype="int64"))
    width = int(as_of_index - cohorts[0] + 1) if len(cohorts) else 0
    row = np.searchsorted(cohorts, steps["cohort_index"].to_numpy(dtype="int64"))
    age = steps["age"].to_numpy(dtype="int64")
    totals = {}
    for column in ("active", "value"):
        grid = np.zeros((len(cohorts), width), dtype="int64")
        np.add.at(grid, (row, age), steps[column].to_numpy(dtype="int64"))
        totals[column] = grid.cumsum(axis=1)
    reached = np.arange(width)[None, :] <= (as_of_index - cohorts)[:, None]
    cohort_row, cell_age = np.nonzero(reached)
    return pd.DataFrame({"cohort_index": cohorts[cohort_row], "age": cell_age,
                         "value": totals["value"][reached], "active": totals["active"][reached]})


def cohort_table(table, *, kind: str = "logo", as_of=None, engine: str | None = None,
                 retention: str | None = None, definitions: str | None = None) -> pd.DataFrame:
    r"""Build the cohort retention table in long (tidy) form: one row per cohort and age.

    .. math:: \mathrm{logo}_{c,k} = \frac{|\{i \in c : i \text{ active in } c + k\}|}{|c|},
              \qquad \mathrm{revenue}_{c,k} = \frac{\mathrm{revenue}_{c,\,c+k}}{\mathrm{revenue}_{c,\,c}}

    Subscriptions: cohort = month of a customer's first MRR at a month end; active in month m =
    MRR > 0 at the end of m; revenue = the cohort's MRR at the end of the month.
    Transactions (customer_id, date, amount): cohort = month of the first purchase; active =
    at least one transaction in the month; revenue = sum of amounts in the month.
    The kind of table is recognised by its columns.

    Parameters
    ----------
    table : subscriptions or transactions frame (pandas, Polars or DuckDB).
    kind : "logo" (share of customers) or "revenue" (share of month-0 revenue).
    as_of : date or None (None = last complete month of the data; for transactions the month
        of the latest date when it is the month's last day, else the month before).
    engine : None, "auto", "pandas", "polars" or "duckdb" (None = automatic, see
        :func:`csm_kit.engine.choose_engine`).
    retention : None (the preset's), "active" or "not_yet_churned" (subscriptions only: a
        customer counts until its first churn and never again, as in Stripe's cohorts).
    definitions : None or a preset name (:mod:`csm_kit.definitions`); only its
        ``cohort_retention`` rule applies here (transactions ignore it).

    Returns
    -------
    pandas DataFrame: cohort (first day of the month), months_since_start (0, 1, ...),
    cohort_size (customers in the cohort), value (share; 1.0 at age 0 for logo). Only ages
    the cohort has reached by as_of; mature cells nobody reached are 0.

    Notes
    -----
    Every transaction row is an order, whatever its amount (filter refunds first if they
    should not count as activity). Revenue shares are NaN when a cohort's month-0 revenue is 0.

    Examples
    --------
    a and b start in January, b leaves at the end of February; c starts in February:

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c"],
    ...     "start_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-01"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-01", None]),
    ...     "mrr": [10.0, 30.0, 20.0],
    ... })
    >>> print(cohort_table(subs, as_of="2024-03").to_string())
          cohort  months_since_start  cohort_size  value
    0 2024-01-01                   0            2    1.0
    1 2024-01-01                   1            2    1.0
    2 2024-01-01                   2            2    0.5
    3 2024-02-01                   0            1    1.0
    4 2024-02-01                   1            1    1.0
    """
    if kind not in KINDS:
        raise ConfigError(f"`kind` must be one of {list(KINDS)}, got {kind!r}")
    rules = resolve(definitions, cohort_retention=retention)
    cells, as_of_index = _cells(table, as_of, engine, rules.cohort_retention,
                                explicit=retention is not None)
    base = cells[cells["age"] == 0].set_index("cohort_index")
    cohorts = base.index.to_numpy(dtype="int64")
    ages = np.clip(as_of_index - cohorts + 1, 0, None)
    grid = pd.DataFrame({
        "cohort_index": np.repeat(cohorts, ages),
        "age": np.arange(ages.sum()) - np.repeat(np.cumsum(ages) - ages, ages),
    })
    grid = grid.merge(cells, on=["cohort_index", "age"], how="left").fillna({"active": 0, "value": 0})
    size = base["active"].reindex(grid["cohort_index"]).to_numpy()
    if kind == "logo":
        value = share(grid["active"], size)
    else:
        value = share(grid["value"], base["value"].reindex(grid["cohort_index"]).to_numpy())
    out = pd.DataFrame({
        "cohort": month_starts(grid["cohort_index"].to_numpy()),
        "months_since_start": grid["age"].astype("int64"),
        "cohort_size": size.astype("int64"),
        "value": value.to_numpy(),
    })
    return out.sort_values(["cohort", "months_since_start"], ignore_index=True)


def cohort_retention(table, *, kind: str = "logo", as_of=None, engine: str | None = None,
                     retention: str | None = None, definitions: str | None = None) -> pd.DataFrame:
    r"""Build the cohort retention matrix: cohorts down, months since start across.

    The wide form of :func:`cohort_table` (same definitions, formula and edge rules):

    .. math:: M_{c,k} = \mathrm{share\ of\ cohort\ } c \mathrm{\ active\ (or\ revenue\ kept)\
              } k \mathrm{\ months\ after\ its\ first\ month}

    Parameters
    ----------
    table : subscriptions (customer_id, start_date, mrr, end_date) or transactions
        (customer_id, date, amount), pandas, Polars or DuckDB.
    kind : "logo" or "revenue".
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb" (None = automatic, see
        :func:`csm_kit.engine.choose_engine`).
    retention, definitions : the cohort rule, as in :func:`cohort_table`.

    Returns
    -------
    pandas DataFrame indexed by ``cohort`` (first day of the month), one float column per
    ``months_since_start`` 0..N (shares, 0–1 for logo); NaN where the cohort has not reached
    that age by as_of.

    Examples
    --------
    Transactions: a and b first buy in January, only a buys again in February; c first buys
    in February. January's cohort keeps 1 of 2 customers; February's age-1 cell is not
    reached by the end of February:

    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c"],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-11", "2024-02-12"]),
    ...     "amount": [50.0, 20.0, 30.0, 10.0],
    ... })
    >>> cohort_retention(orders, as_of="2024-02").values.tolist()
    [[1.0, 0.5], [1.0, nan]]
    >>> cohort_retention(orders, kind="revenue", as_of="2024-02").values.round(3).tolist()
    [[1.0, 0.429], [1.0, nan]]
    """
    long = cohort_table(table, kind=kind, as_of=as_of, engine=engine, retention=retention,
                        definitions=definitions)
    matrix = long.pivot(index="cohort", columns="months_since_start", values="value")
    matrix.columns.name = "months_since_start"
    return matrix.astype("float64")


def average_retention_curve(cohorts: pd.DataFrame) -> pd.DataFrame:
    r"""Average a long cohort table into one curve, weighting each cohort by its size.

    .. math:: \bar r_k = \frac{\sum_{c\ \mathrm{reached}\ k} |c|\, r_{c,k}}
                              {\sum_{c\ \mathrm{reached}\ k} |c|}

    Parameters
    ----------
    cohorts : the output of :func:`cohort_table` (cohort, months_since_start, cohort_size,
        value).

    Returns
    -------
    pandas DataFrame: months_since_start, value (weighted mean share), cohorts (cohorts that
    reached that age), customers (their total size).

    Notes
    -----
    Cohorts at 0% count with their full weight (dropping them would flatter the curve); cohorts
    that have not reached an age are left out of it. Weights are customer counts for both
    kinds, so a revenue curve is the customer-weighted mean of revenue shares. Cells with a
    NaN value (a revenue cohort with zero month-0 revenue) are left out.

    Examples
    --------
    A 3-customer cohort at 0% and a 1-customer cohort at 100% average to 25% at age 1:

    >>> long = pd.DataFrame({
    ...     "cohort": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]),
    ...     "months_since_start": [0, 1, 0, 1],
    ...     "cohort_size": [3, 3, 1, 1],
    ...     "value": [1.0, 0.0, 1.0, 1.0],
    ... })
    >>> average_retention_curve(long)["value"].tolist()
    [1.0, 0.25]
    """
    cells = cohorts.dropna(subset=["value"])
    weighted = cells.assign(weighted=cells["value"] * cells["cohort_size"])
    curve = weighted.groupby("months_since_start").agg(
        weighted=("weighted", "sum"), customers=("cohort_size", "sum"),
        cohorts=("cohort", "nunique"))
    curve["value"] = share(curve["weighted"], curve["customers"]).to_numpy()
    curve = curve.reset_index()
    return curve[["months_since_start", "value", "cohorts", "customers"]]
