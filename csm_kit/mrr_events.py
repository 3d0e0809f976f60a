"""Per-customer MRR change events: the machinery every revenue metric is computed from.

Everything starts from the ``subscriptions`` table (customer_id, start_date, end_date, mrr). A
subscription is active on day d when ``start_date <= d < end_date`` (empty end = still active)
and a customer is *active at the end of month m* when the summed MRR of its active
subscriptions on the month's last day is above zero. With month indices (``year*12+month-1``)
that is: a subscription counts at the end of month m iff
``month_index(start_date) <= m <= month_index(end_date) - 1``.

The rules implemented here, shared by :mod:`csm_kit.revenue`, :mod:`csm_kit.revenue_retention`,
:mod:`csm_kit.cohorts`, :mod:`csm_kit.churn` and :mod:`csm_kit.survival`:

- **Whole cents.** MRR is rounded to whole cents (halves up) per subscription and all
  arithmetic is done on integer cents, so the bridge balances exactly; amounts come back as
  float currency (:func:`to_currency`).
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
  pass ``as_of`` when the export contains them. When every subscription starts after the
  default month (all the data is in one incomplete month), a warning names the month and the
  ``as_of`` to pass instead of leaving the empty tables unexplained.

The steps, each a narwhals frame on the engine :func:`prepare_subscriptions` chose:

- :func:`prepare_subscriptions` checks the columns, moves the table to the engine and settles
  as_of as a month index;
- :func:`customer_events` gives each customer's MRR (cents) at the months where it changes;
- :func:`movement_frame` and :func:`classified_movements` classify those changes as new,
  expansion, reactivation, contraction or churn;
- :func:`month_intervals` and :func:`customer_month_frame` turn them into spans of constant
  MRR and into one row per customer and active month.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from csm_kit import engine as eng
from csm_kit.months import expand_months, with_month
from csm_kit.periods import last_complete_month, parse_as_of, warn_only_incomplete_month


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
    """The last complete month of the subscriptions' dates; warns when every subscription
    starts after it (every table would then be empty)."""
    aggs = [nw.col("start_date").max().alias("latest_start"),
            nw.col("start_date").min().alias("first_start")]
    aggs += [nw.col("end_date").max().alias("latest_end")] if has_end else []
    latest = frame.select(aggs)
    latest = (latest.collect(backend="pyarrow") if isinstance(latest, nw.LazyFrame)
              else latest).to_arrow().to_pylist()[0]
    dates = [wall_time(latest["latest_start"])] if latest["latest_start"] is not None else []
    if has_end and latest["latest_end"] is not None:
        dates.append(wall_time(latest["latest_end"]) - pd.Timedelta(days=1))
    if not dates:
        return None
    month = last_complete_month(max(dates))
    if wall_time(latest["first_start"]) >= month + pd.DateOffset(months=1):
        warn_only_incomplete_month("subscription start_date", max(dates), month, stacklevel=5)
    return month


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
    return with_month(out).select(
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
    months = expand_months(spans, "first_index", "last_index")
    return months.select("customer_id", "month_index", "month", "mrr")


def to_currency(*columns: str) -> list[nw.Expr]:
    """Expressions turning integer-cent ``columns`` back into float currency (same names).

    >>> cents = nw.from_native(pd.DataFrame({"mrr": [10050, 1]}), eager_only=True)
    >>> cents.select(to_currency("mrr"))["mrr"].to_list()
    [100.5, 0.01]
    """
    return [(nw.col(c).cast(nw.Float64) / 100).alias(c) for c in columns]
