"""Seats, MRR and subscription periods of the simulated customers.

``add_revenue`` walks the month grid once (a loop over months, vectorised over customers):
seats grow with expansion, shrink with contraction, change at annual renewals, and a price
increase lifts monthly plans on its date and annual plans at their next renewal.
``subscription_rows`` turns the month-end MRR grid into subscription periods: every change
of a customer's MRR ends one row and starts the next on the same day; a churn ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csm_kit.sample.world import (
    ADDON_MRR,
    ADDON_SHARE,
    EXPANSION_RATE,
    MAX_SEATS,
    SEAT_PRICE,
    SEATS_MEDIAN,
    World,
    csm_skill,
    stream,
)

ADDON_PLAN = len(SEAT_PRICE[0, 0])  # plan code of the add-on line (after the four plans)


def add_revenue(world: World) -> World:
    """Fill ``world.S`` (seats) and ``world.B`` (base MRR at month end, whole dollars)."""
    rng, cal, n = stream(world.seed, "revenue"), world.cal, world.n
    seg, z, plan = world.segment, world.z, world.plan
    skill = csm_skill(world.seed)[world.csm]
    seats0 = np.maximum(1, np.rint(SEATS_MEDIAN[seg] * rng.lognormal(0, 0.6, n))).astype(np.int64)
    phase = world.signup.astype("datetime64[M]").astype(np.int64) % 12
    inc = world.events.column(cal, "price_increase")
    era_annual = inc + (phase - cal.absolute[inc]) % 12  # first anniversary on/after the increase
    p_expand = EXPANSION_RATE[seg] * skill * np.exp(-0.3 * z)
    p_contract = 0.004 * np.exp(0.5 * z)
    S = np.zeros(world.A.shape, np.int32, order="F")  # column-major: filled month by month
    B = np.zeros(world.A.shape, np.int32, order="F")
    S[:, 0] = np.where(world.start_col == 0, seats0, 0)
    B[:, 0] = S[:, 0] * SEAT_PRICE[0, world.annual.astype(int), plan]
    for col in range(1, cal.columns):
        annual_now = world.annual & (col < world.r)
        renewal = annual_now & (phase == cal.absolute[col] % 12) & (col > world.start_col)
        calm = np.clip(1 - world.R[:, col], 0, 1)
        p_up = np.where(renewal, 0.25 * skill, np.where(annual_now, 0.4, 1.0) * p_expand) * calm
        p_down = np.where(renewal, 0.06 + 0.4 * world.R[:, col],
                          np.where(annual_now, 0.0, p_contract + 0.12 * world.R[:, col]))
        seats = _next_seats(rng, world, S, col, p_up, p_down)
        seats = np.where(col == world.start_col, seats0, seats)
        S[:, col] = np.where(world.A[:, col], np.minimum(seats, MAX_SEATS), 0)
        era = (col >= np.where(annual_now, era_annual, inc)).astype(int)
        B[:, col] = S[:, col] * SEAT_PRICE[era, annual_now.astype(int), plan]
    world.S, world.B = S, B
    return world


def _next_seats(rng, world: World, S: np.ndarray, col: int, p_up, p_down) -> np.ndarray:
    """Seats at the end of ``col`` before new starts: expansions, contractions, comebacks."""
    prev = S[:, col - 1].astype(np.int64)
    u = rng.random((3, world.n))
    kept = world.A[:, col] & world.A[:, col - 1]
    grow = kept & (u[0] < p_up)
    shrink = kept & ~grow & (u[1] < p_down) & (prev > 1)
    up = np.maximum(prev + 1, np.rint(prev * (1.1 + 0.5 * u[2])))
    down = np.maximum(1, np.minimum(prev - 1, np.rint(prev * (0.5 + 0.4 * u[2]))))
    seats = np.where(grow, up, np.where(shrink, down, prev)).astype(np.int64)
    back = np.flatnonzero(world.r == col)  # a comeback starts smaller or similar
    before = S[back, np.maximum(world.c1[back] - 1, 0)]
    seats[back] = np.maximum(1, np.rint(before * rng.uniform(0.6, 1.1, len(back))))
    return seats


@dataclass
class SubscriptionRows:
    """Subscription periods as arrays (customer index, dates, MRR, plan code, interval)."""

    customer: np.ndarray
    start: np.ndarray
    end: np.ndarray  # NaT while active
    mrr: np.ndarray
    plan: np.ndarray
    interval: np.ndarray
    anchor: np.ndarray  # the billing anchor date (contract start of the spell)
    previous_mrr: np.ndarray  # MRR of the same line just before this row (0 for a fresh start)


def subscription_rows(world: World) -> SubscriptionRows:
    """All subscription periods: the base line from the MRR grid plus the add-on line."""
    base = _base_rows(world)
    addon = _addon_rows(world)
    return SubscriptionRows(*(np.concatenate([getattr(base, f), getattr(addon, f)])
                              for f in SubscriptionRows.__dataclass_fields__))


def _change_dates(world: World, n: np.ndarray, col: np.ndarray, mrr: np.ndarray) -> np.ndarray:
    """Date of each MRR change: start, comeback, churn, renewal, price increase or any day."""
    cal, rng = world.cal, stream(world.seed, "change-dates")
    date = cal.random_day(col, rng.random(len(n)))
    annual_now = world.annual[n] & (col < world.r[n])
    renewal = annual_now & (cal.absolute[col] % 12 ==
                            world.signup[n].astype("datetime64[M]").astype(np.int64) % 12)
    date = np.where(renewal, cal.same_day_in(col, world.signup[n]), date)
    inc = world.events.column(cal, "price_increase")
    date = np.where(~annual_now & (col == inc), cal.starts[inc], date)
    date = np.where((mrr == 0) & (col == world.c1[n]), world.churn1_date[n], date)
    date = np.where((mrr == 0) & (col == world.c2[n]), world.churn2_date[n], date)
    date = np.where(col == world.start_col[n], world.signup[n], date)
    return np.where(col == world.r[n], world.react_date[n], date)


def _base_rows(world: World) -> SubscriptionRows:
    B = world.B
    changed = np.empty(B.shape, bool)
    changed[:, 0] = B[:, 0] != 0
    np.not_equal(B[:, 1:], B[:, :-1], out=changed[:, 1:])
    n, col = np.nonzero(changed)
    del changed
    mrr = B[n, col]
    date = _change_dates(world, n, col, mrr)
    same_next = np.append(n[1:] == n[:-1], False)
    end = np.where(same_next, np.roll(date, -1), np.datetime64("NaT", "D"))
    prev_mrr = np.where(np.insert(n[1:] == n[:-1], 0, False), np.roll(mrr, 1), 0)
    keep = mrr > 0
    n, col = n[keep], col[keep]
    annual_now = world.annual[n] & (col < world.r[n])
    anchor = np.where(col >= world.r[n], world.react_date[n], world.signup[n])
    return SubscriptionRows(n, date[keep], end[keep], mrr[keep].astype(np.float64),
                            world.plan[n].astype(np.int8), np.where(annual_now, 12, 1),
                            anchor, prev_mrr[keep].astype(np.float64))


def _addon_rows(world: World) -> SubscriptionRows:
    """A minority also buys a monthly add-on; cancelling it is contraction, often before churn."""
    rng, cal, cols = stream(world.seed, "addon"), world.cal, world.cal.columns
    first = world.start_col + rng.geometric(0.12, world.n) - 1
    has = (rng.random(world.n) < ADDON_SHARE[world.segment]) & (first < world.c1) & (first < cols)
    cancel = first + rng.geometric(0.015, world.n)
    early = world.signalled & (world.c1 < cols) & (rng.random(world.n) < 0.5)
    early_col = world.c1 - rng.integers(1, 4, world.n)
    cancel = np.where(early & (early_col > first), np.minimum(cancel, early_col), cancel)
    u = rng.random((2, world.n))
    who = np.flatnonzero(has)
    first, cancel, u = first[who], cancel[who], u[:, who]
    last = cols - 1
    start = np.where(first == world.start_col[who], world.signup[who],
                     cal.random_day(np.minimum(first, last), u[0]))
    # cancelled before churn, else it ends with the customer (NaT when the customer stays)
    end = np.where(cancel < world.c1[who], cal.random_day(np.minimum(cancel, last), u[1]),
                   world.churn1_date[who])
    mrr = ADDON_MRR[world.segment[who]].astype(np.float64)
    return SubscriptionRows(who, start, end.astype("datetime64[D]"), mrr,
                            np.full(len(who), ADDON_PLAN, np.int8), np.ones(len(who), np.int64),
                            start, np.zeros(len(who)))
