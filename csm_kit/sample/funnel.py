"""The trials, referrals and events tables of the sample.

Most SMB and some Mid-Market customers start with a free trial (about one trial in five
converts); Enterprise is sales-led. A few new customers were referred by an existing,
usually healthy, customer; most referrals do not convert. Events are the dated external
factors built into the simulation: a price increase, an outage and a competitor launch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.sample.billing import customer_refs
from csm_kit.sample.columns import blank_where, dates, format_ids, id_width, row_order, text
from csm_kit.sample.text import pick
from csm_kit.sample.world import World, stream

TRIAL_SHARE = np.array([0.85, 0.40, 0.05])  # new customers who came through a free trial
TRIAL_CONVERSION = 0.2
REFERRED_SHARE = 0.07
REFERRAL_CONVERSION = 0.4


def _window_moments(world: World, rng: np.random.Generator, count: int, unit: str) -> np.ndarray:
    """``count`` random dates (or seconds) in the window, weighted towards later months."""
    cal = world.cal
    growth = 1 + 0.6 * np.arange(cal.months) / max(cal.months, 1)
    col = 1 + rng.choice(cal.months, size=count, p=growth / growth.sum())
    per = 86400 if unit == "s" else 1
    offset = (rng.random(count) * cal.days[col] * per).astype(np.int64)
    return cal.starts[col].astype(f"datetime64[{unit}]") + offset


def trials_frame(world: World) -> pd.DataFrame:
    """Free trials sorted by start; converted ones point at the customer they became."""
    rng = stream(world.seed, "trials")
    new = np.flatnonzero((world.start_col >= 1) &
                         (rng.random(world.n) < TRIAL_SHARE[world.segment]))
    converted = (world.signup[new].astype("datetime64[s]")
                 + rng.integers(8 * 3600, 19 * 3600, len(new)))
    # trials last up to 30 days and start inside the window
    room = (converted - world.cal.window_start.astype("datetime64[s]")).astype(np.int64)
    started = converted - (rng.random(len(new)) * np.minimum(room, 30 * 86400)).astype(np.int64)
    lost = int(round(len(new) * (1 / TRIAL_CONVERSION - 1)))
    started = np.concatenate([started, _window_moments(world, rng, lost, "s")])
    customer = np.concatenate([new, np.full(lost, -1)])
    converted = np.concatenate([converted, np.full(lost, np.datetime64("NaT"), "datetime64[s]")])
    order = row_order(started, customer)
    customer = customer[order]
    return pd.DataFrame({
        "trial_id": text(format_ids("TR", np.arange(1, len(order) + 1), id_width(len(order)))),
        "started_at": dates(started[order]),
        "customer_id": customer_refs(world, customer),
        "converted_at": dates(converted[order]),
    })


def referrals_frame(world: World) -> pd.DataFrame:
    """Referrals sorted by date; the referrer was an active customer that month."""
    rng, cal = stream(world.seed, "referrals"), world.cal
    new = np.flatnonzero((world.start_col >= 1) & (rng.random(world.n) < REFERRED_SHARE))
    date = world.signup[new] - rng.integers(3, 45, len(new))
    new, date = new[date >= cal.window_start], date[date >= cal.window_start]
    lost = int(round(len(new) * (1 / REFERRAL_CONVERSION - 1)))
    date = np.concatenate([date, _window_moments(world, rng, lost, "D")])
    referred = np.concatenate([new, np.full(lost, -1)])
    col = cal.column_of(date)
    referrer = np.full(len(date), -1)
    fondness = np.exp(-world.z)  # healthy customers refer more
    for month in np.unique(col):  # a loop over months, vectorised over customers
        eligible = np.flatnonzero(world.A[:, month] & world.A[:, month - 1])
        rows = np.flatnonzero(col == month)
        if len(eligible):
            weight = fondness[eligible] / fondness[eligible].sum()
            referrer[rows] = rng.choice(eligible, size=len(rows), p=weight)
    keep = referrer >= 0
    order = row_order(date[keep], referrer[keep])
    return pd.DataFrame({
        "referral_id": text(format_ids("RF", np.arange(1, len(order) + 1), id_width(len(order)))),
        "referrer_customer_id": customer_refs(world, referrer[keep][order]),
        "date": dates(date[keep][order]),
        "referred_customer_id": customer_refs(world, referred[keep][order]),
    })


def events_frame(world: World) -> pd.DataFrame:
    """The external events; an empty segment means the event concerns every segment."""
    e = world.events
    date = np.array([e.price_increase, e.outage, e.competitor_launch])
    return pd.DataFrame({
        "date": dates(date),
        "label": text(pick(("Price increase", "Outage", "Competitor launch"), np.arange(3))),
        "segment": text(blank_where(pick(("", "", "SMB"), np.arange(3)),
                                    np.array([True, True, False]))),
    })
