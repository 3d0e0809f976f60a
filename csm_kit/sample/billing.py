"""The customers, subscriptions, transactions (invoices) and renewals tables of the sample.

Invoices follow each subscription period: one on every billing date (the contract's start
day, every month or every year) inside the period and the window, for MRR x interval; a
mid-term expansion of an annual contract adds a prorated invoice on the day it starts.
Renewals list every annual term that ended inside the window (a term that was not renewed is
exactly where the subscription ends) and the undecided next term of every annual customer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.sample.calendar import day_of_month, month_day
from csm_kit.sample.columns import (
    dates,
    format_ids,
    id_chars,
    id_width,
    labels,
    row_order,
    strings_from_chars,
    text,
)
from csm_kit.sample.revenue import SubscriptionRows
from csm_kit.sample.text import CSM_NAMES, INDUSTRIES, POOLED_CSM, REGIONS, company_names
from csm_kit.sample.world import PLANS, SEGMENTS, World, stream

PLAN_NAMES = (*PLANS, "Analytics add-on")


def customer_refs(world: World, n: np.ndarray):
    """Customer ids (``C000123``) of customer indices ``n`` as a ``str`` column (-1 = empty)."""
    if world.id_chars is None:
        world.id_chars = id_chars("C", np.arange(1, world.n + 1), id_width(world.n))
    cells = world.id_chars.view(f"V{world.id_chars.shape[1]}").ravel()  # one id per cell
    chars = cells[np.maximum(n, 0)].view(np.uint8).reshape(len(n), world.id_chars.shape[1])
    return text(strings_from_chars(chars, n < 0))


def customers_frame(world: World) -> pd.DataFrame:
    """One row per customer, in signup order; ``plan`` is the base subscription's plan."""
    n = np.arange(world.n)
    return pd.DataFrame({
        "customer_id": customer_refs(world, n),
        "signup_date": dates(world.signup),
        "name": text(company_names(stream(world.seed, "names"), world.n)),
        "segment": labels(SEGMENTS, world.segment),
        "plan": labels(PLAN_NAMES, world.plan),
        "region": labels(REGIONS, world.region),
        "csm": labels((*CSM_NAMES, POOLED_CSM), world.csm),
        "industry": labels(INDUSTRIES, world.industry),
    })


def subscriptions_frame(world: World, rows: SubscriptionRows) -> pd.DataFrame:
    """Subscription periods sorted by customer and start; ids numbered in start-date order."""
    number = np.empty(len(rows.customer), np.int64)
    number[row_order(rows.start, rows.customer)] = np.arange(1, len(number) + 1)
    order = row_order(rows.customer, rows.start, rows.plan)
    return pd.DataFrame({
        "subscription_id": text(format_ids("S", number[order], id_width(len(number)))),
        "customer_id": customer_refs(world, rows.customer[order]),
        "start_date": dates(rows.start[order]),
        "end_date": dates(rows.end[order]),
        "mrr": rows.mrr[order],
        "plan": labels(PLAN_NAMES, rows.plan[order]),
        "billing_interval_months": rows.interval[order].astype(np.int64),
        "currency": labels(("USD",), np.zeros(len(order), np.int8)),
    })


def billing_date(anchor: np.ndarray, j: np.ndarray, interval: np.ndarray) -> np.ndarray:
    """The ``j``-th billing date of a contract that started on ``anchor`` (day clipped)."""
    start = anchor.astype("datetime64[M]").astype(np.int64)
    return month_day(start + j * interval, day_of_month(anchor))


def _first_billing(anchor, interval, on_or_after) -> np.ndarray:
    """Index of the first billing date on or after ``on_or_after``."""
    months = (on_or_after.astype("datetime64[M]") - anchor.astype("datetime64[M]")).astype(np.int64)
    j = -(-months // interval)
    return np.where(billing_date(anchor, j, interval) < on_or_after, j + 1, j)


def transactions_frame(world: World, rows: SubscriptionRows) -> pd.DataFrame:
    """Invoices inside the window, sorted by date; ids numbered in that order."""
    stop = world.cal.end + 1
    lo = np.maximum(rows.start, world.cal.window_start)
    hi = np.minimum(np.where(np.isnat(rows.end), stop, rows.end), stop)
    j0 = _first_billing(rows.anchor, rows.interval, lo)
    count = np.maximum(_first_billing(rows.anchor, rows.interval, hi) - j0, 0)
    row = np.repeat(np.arange(len(count)), count)
    j = j0[row] + np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    anchor_month = rows.anchor.astype("datetime64[M]").astype(np.int64)
    date = month_day(anchor_month[row] + j * rows.interval[row], day_of_month(rows.anchor)[row])
    amount = rows.mrr[row] * rows.interval[row]
    extra_row, extra_date, extra_amount = _prorations(rows, lo)
    customer = np.concatenate([rows.customer[row], rows.customer[extra_row]])
    date, amount = np.concatenate([date, extra_date]), np.concatenate([amount, extra_amount])
    order = row_order(date, customer)
    return pd.DataFrame({
        "transaction_id": text(format_ids("INV", np.arange(1, len(order) + 1),
                                          id_width(len(order)))),
        "customer_id": customer_refs(world, customer[order]),
        "date": dates(date[order]),
        "amount": amount[order],
        "currency": labels(("USD",), np.zeros(len(order), np.int8)),
    })


def _prorations(rows: SubscriptionRows, lo: np.ndarray):
    """Prorated invoices for mid-term expansions of annual contracts (inside the window)."""
    j = _first_billing(rows.anchor, rows.interval, rows.start)
    nxt = billing_date(rows.anchor, j, rows.interval)
    mid_term = (rows.interval == 12) & (nxt != rows.start) & (rows.mrr > rows.previous_mrr)
    pick = np.flatnonzero(mid_term & (rows.previous_mrr > 0) & (rows.start >= lo))
    prev = billing_date(rows.anchor[pick], j[pick] - 1, 12)
    share = (nxt[pick] - rows.start[pick]).astype(float) / (nxt[pick] - prev).astype(float)
    amount = np.round((rows.mrr[pick] - rows.previous_mrr[pick]) * 12 * share, 2)
    return pick, rows.start[pick], amount


def renewals_frame(world: World) -> pd.DataFrame:
    """Every annual term due inside the window, then each active annual customer's next term.

    Not renewed = the subscription ends on the due day. The next term (due in the twelve
    months after the window) is not decided yet: renewed_on and arr_renewed are empty.
    """
    cal, who = world.cal, np.flatnonzero(world.annual)
    phase = world.signup[who].astype("datetime64[M]").astype(np.int64) % 12
    lowest = np.maximum(1, world.start_col[who] + 1)
    first = lowest + (phase - cal.absolute[0] - lowest) % 12
    last = np.minimum(world.c1[who], cal.columns - 1)
    count = np.where(first <= last, (last - first) // 12 + 1, 0)
    k = np.repeat(np.arange(len(who)), count)
    n = who[k]
    col = first[k] + 12 * (np.arange(len(k)) - np.repeat(np.cumsum(count) - count, count))
    due = cal.same_day_in(col, world.signup[n])
    renewed = col < world.c1[n]
    rng = stream(world.seed, "renewals")
    renewed_on = np.where(renewed, due - rng.integers(0, 61, len(n)), np.datetime64("NaT"))
    arr_due, arr_renewed = 12.0 * world.B[n, col - 1], np.where(renewed, 12.0 * world.B[n, col], 0.0)
    # the next term of every annual customer still on its first contract at the end
    open_ = who[world.c1[who] >= cal.columns]
    after = cal.absolute[-1] + 1
    month = after + (phase[np.searchsorted(who, open_)] - after) % 12
    n = np.concatenate([n, open_])
    due = np.concatenate([due, month_day(month, day_of_month(world.signup[open_]))])
    renewed_on = np.concatenate([renewed_on.astype("datetime64[D]"),
                                 np.full(len(open_), np.datetime64("NaT"), "datetime64[D]")])
    arr_due = np.concatenate([arr_due, 12.0 * world.B[open_, cal.columns - 1]])
    arr_renewed = np.concatenate([arr_renewed, np.full(len(open_), np.nan)])
    order = row_order(due, n)
    return pd.DataFrame({
        "contract_id": text(format_ids("CT", np.arange(1, len(order) + 1), id_width(len(order)))),
        "customer_id": customer_refs(world, n[order]),
        "due_date": dates(due[order]),
        "arr_due": arr_due[order],
        "renewed_on": dates(renewed_on[order]),
        "arr_renewed": arr_renewed[order],
    })
