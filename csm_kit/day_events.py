"""The in-month events engine: each customer's MRR and active state on the day it changes.

The kit's default counts at month ends (:mod:`csm_kit.mrr_events`): a customer who joins and
leaves inside a month is invisible and an upgrade in the first month is part of "new". Billing
dashboards such as ChartMogul and Stripe book every change as it happens instead. This module
is that second engine, on the same backends (pandas, Polars, DuckDB, Spark, through
narwhals) and with the same whole-cent, summed-per-customer and as_of rules:

- :func:`day_events` — per customer and day on which anything changes: MRR before and after
  (integer cents, a sum below 0 counts as 0) and the customer's active state before and
  after, under the ``zero_mrr`` rule:

  * ``"churn"`` (the kit's rule): active = MRR above 0;
  * ``"active"`` (ChartMogul's default): a customer who has paid stays active while it holds
    any subscription, even at $0 — a spell of holding subscriptions becomes active at its
    first paid moment and ends when the last subscription ends. A customer that never paid
    in a spell is not active in it.

- :func:`classify` names each change: **new** (first activation ever), **reactivation**
  (a later activation), **churn** (active → not active), **expansion** / **contraction**
  (MRR up / down while active). Changes that move neither (a $0 plan added while inactive,
  swapping plans at the same price) are dropped.
- :func:`month_end_events` keeps each customer's state at month ends only, for the
  month-end timing under a non-default ``zero_mrr`` rule.
- :func:`rule_movements` is what :mod:`csm_kit.revenue` calls for a non-default rule set.

Balance: every movement's amount is ``mrr_after − mrr_before`` and every change that moves
MRR is classified (an inactive customer's MRR is 0), so a customer's movements up to a
month's end add up to its MRR then — start + movements = end for every period, exactly, in
cents. Likewise activations − churns up to a month's end = customers active then.

Day keys are integers ``year*10000 + month*100 + day`` (they sort as dates and need no
time zone); :func:`key_dates` turns them back into pandas timestamps.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from csm_kit import engine as eng
from csm_kit.months import with_month
from csm_kit.mrr_events import classified_movements, month_index_expr

ZERO_MRR = ("churn", "active")
TIMINGS = ("month_end", "events")


def day_key_expr(column: str) -> nw.Expr:
    """A narwhals expression for ``year*10000 + month*100 + day`` of a date column."""
    col = nw.col(column)
    # Nested so every product has the year's width (Polars gives months as Int8, which
    # ``month * 100`` would overflow) and without casts (pandas has NaN for missing dates).
    return (col.dt.year() * 100 + col.dt.month()) * 100 + col.dt.day()


def key_dates(keys) -> pd.Series:
    """Day keys (``20240315``) as ``datetime64[ns]`` timestamps.

    >>> key_dates([20240315, 20241231]).dt.strftime("%d %b %Y").tolist()
    ['15 Mar 2024', '31 Dec 2024']
    """
    keys = pd.Series(keys, dtype="int64")
    years, rest = divmod(keys, 10000)
    months, days = divmod(rest, 100)
    return pd.to_datetime({"year": years, "month": months, "day": days}).astype("datetime64[ns]")


def day_events(frame, as_of_index: int, zero_mrr: str = "churn"):
    """Per customer and day of change: MRR and active state before and after (narwhals).

    Returns customer_id, day (key), month_index, mrr_before, mrr_after (cents, clipped at 0),
    active_before, active_after (0/1). ``frame`` comes from
    :func:`csm_kit.mrr_events.prepare_subscriptions`; changes after ``as_of_index`` are
    dropped. Shared between calls on DuckDB (:func:`csm_kit.engine.reuse`).

    b joins on 5 March and leaves on 20 March — two changes no month end sees; a moves to a
    $0 plan on 10 March, which under ``zero_mrr="active"`` keeps it active:

    >>> from csm_kit.mrr_events import prepare_subscriptions
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "start_date": pd.to_datetime(["2024-01-02", "2024-03-10", "2024-03-05"]),
    ...     "end_date": pd.to_datetime(["2024-03-10", None, "2024-03-20"]),
    ...     "mrr": [50.0, 0.0, 100.0],
    ... })
    >>> frame, as_of_index = prepare_subscriptions(subs, as_of="2024-03")
    >>> events = eng.to_pandas(day_events(frame, as_of_index, "active"))
    >>> events.drop(columns="month_index").values.tolist()
    [['a', 20240102, 0, 5000, 0, 1], ['a', 20240310, 5000, 0, 1, 1], ['b', 20240305, 0, 10000, 0, 1], ['b', 20240320, 10000, 0, 1, 0]]
    """
    if zero_mrr not in ZERO_MRR:
        raise ValueError(zero_mrr)
    return eng.reuse(frame, f"day_events:{as_of_index}:{zero_mrr}",
                     lambda f: _day_events(f, as_of_index, zero_mrr))


def _day_events(frame, as_of_index: int, zero_mrr: str):
    cents = ((nw.col("mrr") * 100 + 0.5).floor()).cast(nw.Int64)
    has_end = "end_date" in frame.collect_schema().names()
    subs = frame.with_columns(start_day=day_key_expr("start_date"),
                              start_index=month_index_expr("start_date"), cents=cents)
    if has_end:
        # An end on or before the start day: never active on any day, so no change at all.
        subs = subs.with_columns(end_day=day_key_expr("end_date"),
                                 end_index=month_index_expr("end_date")).filter(
            nw.col("end_day").is_null() | (nw.col("end_day") > nw.col("start_day")))
    changes = subs.select("customer_id", day=nw.col("start_day").cast(nw.Int64),
                          month_index=nw.col("start_index").cast(nw.Int64),
                          delta=nw.col("cents"), held=nw.lit(1, dtype=nw.Int64))
    if has_end:
        stops = subs.filter(~nw.col("end_day").is_null()).select(
            "customer_id", day=nw.col("end_day").cast(nw.Int64),
            month_index=nw.col("end_index").cast(nw.Int64), delta=-nw.col("cents"),
            held=nw.lit(-1, dtype=nw.Int64))
        changes = nw.concat([changes, stops], how="vertical")
    events = (
        changes.filter(nw.col("month_index") <= as_of_index)
        .group_by("customer_id", "day")
        .agg(nw.col("month_index").min(), nw.col("delta").sum(), nw.col("held").sum())
        .with_columns(nw.col("delta").cast(nw.Int64), nw.col("held").cast(nw.Int64))
        .filter((nw.col("delta") != 0) | (nw.col("held") != 0))
    )
    window = {"order_by": "day"}
    events = events.with_columns(
        total=nw.col("delta").cum_sum().over("customer_id", **window).cast(nw.Int64),
        holding=nw.col("held").cum_sum().over("customer_id", **window).cast(nw.Int64),
    ).with_columns(
        mrr_after=nw.col("total").clip(lower_bound=0),
        mrr_before=(nw.col("total") - nw.col("delta")).clip(lower_bound=0),
    )
    if zero_mrr == "churn":
        events = events.with_columns(
            active_after=(nw.col("mrr_after") > 0).cast(nw.Int64),
            active_before=(nw.col("mrr_before") > 0).cast(nw.Int64))
    else:
        events = _active_while_holding(events)
    events = events.select("customer_id", "day", "month_index", "mrr_before", "mrr_after",
                           "active_before", "active_after")
    if isinstance(events, nw.DataFrame):
        events = events.sort("customer_id", "day")
    return events


def _active_while_holding(events):
    """Active = holding a subscription and paid at some moment of the current spell.

    A spell starts at a change where the customer held nothing before; ``paid`` is the
    running maximum of "MRR above 0" inside the spell. The state before a change is the
    state after the customer's previous change (nothing before the first).
    """
    window = {"order_by": "day"}
    held_before = nw.col("holding") - nw.col("held")
    events = events.with_columns(
        spell=(held_before == 0).cast(nw.Int64).cum_sum().over("customer_id", **window),
        positive=(nw.col("mrr_after") > 0).cast(nw.Int64))
    events = events.with_columns(
        paid=nw.col("positive").cum_max().over("customer_id", "spell", **window))
    events = events.with_columns(
        active_after=((nw.col("holding") > 0) & (nw.col("paid") == 1)).cast(nw.Int64))
    return events.with_columns(
        active_before=nw.col("active_after").shift(1).over("customer_id", **window)
        .fill_null(0).cast(nw.Int64))


def classify(events, order: str = "day"):
    """Name every change that moves MRR or the active state; drop the others.

    ``order`` is the column giving time order within a customer (``"day"`` or
    ``"month_index"``). Adds ``movement``; the first activation ever is **new**.
    """
    before, after = nw.col("active_before") == 1, nw.col("active_after") == 1
    activation = ~before & after
    first = events.filter(activation).group_by("customer_id").agg(
        first_key=nw.col(order).min())
    movement = (
        nw.when(activation & (nw.col(order) == nw.col("first_key"))).then(nw.lit("new"))
        .when(activation).then(nw.lit("reactivation"))
        .when(before & ~after).then(nw.lit("churn"))
        .when(before & after & (nw.col("mrr_after") > nw.col("mrr_before")))
        .then(nw.lit("expansion"))
        .when(before & after & (nw.col("mrr_after") < nw.col("mrr_before")))
        .then(nw.lit("contraction"))
        .otherwise(nw.lit("none"))
    )
    out = events.join(first, on="customer_id", how="left").with_columns(movement=movement)
    return out.filter(nw.col("movement") != "none").drop("first_key")


def month_end_events(events):
    """Each customer's state at the end of the months in which it changes, compared with
    the previous month end: customer_id, month_index, mrr_before, mrr_after, active_before,
    active_after — only months where the month-end state differs."""
    window = {"order_by": "day"}
    ends = events.with_columns(
        next_month=nw.col("month_index").shift(-1).over("customer_id", **window)).filter(
        nw.col("next_month").is_null() | (nw.col("next_month") != nw.col("month_index")))
    order = {"order_by": "month_index"}
    ends = ends.select("customer_id", "month_index", "mrr_after", "active_after").with_columns(
        mrr_before=nw.col("mrr_after").shift(1).over("customer_id", **order).fill_null(0),
        active_before=nw.col("active_after").shift(1).over("customer_id", **order).fill_null(0),
    ).with_columns(nw.col("mrr_before").cast(nw.Int64), nw.col("active_before").cast(nw.Int64))
    return ends.filter((nw.col("mrr_before") != nw.col("mrr_after"))
                       | (nw.col("active_before") != nw.col("active_after")))


def rule_movements(frame, as_of_index: int, *, timing: str = "month_end",
                   zero_mrr: str = "churn"):
    """Classified MRR movements under the ``timing`` and ``zero_mrr`` rules (narwhals).

    Returns customer_id, month_index, month, movement, mrr_before, mrr_after (cents), and
    ``day`` (key of the day it happened) with ``timing="events"``. The kit's default rules
    run :func:`csm_kit.mrr_events.classified_movements` unchanged.
    """
    if timing not in TIMINGS:
        raise ValueError(timing)
    if timing == "month_end" and zero_mrr == "churn":
        return classified_movements(frame, as_of_index)
    events = day_events(frame, as_of_index, zero_mrr)
    if timing == "events":
        moves = classify(events, "day")
        columns = ["customer_id", "month_index", "day", "movement", "mrr_before", "mrr_after"]
        sort = ["customer_id", "day"]
    else:
        moves = classify(month_end_events(events), "month_index")
        columns = ["customer_id", "month_index", "movement", "mrr_before", "mrr_after"]
        sort = ["customer_id", "month_index"]
    moves = moves.select(columns)
    if isinstance(moves, nw.DataFrame):
        moves = moves.sort(*sort)
    out = with_month(moves)
    return out.select(columns[:2] + ["month"] + columns[2:])
