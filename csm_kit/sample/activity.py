"""The usage and tickets tables of the sample: what customers do between invoices.

Both read the world's latent risk ``z`` and pre-churn ramp ``R``: adoption (active users over
licensed seats) falls below ~40% and tickets become more frequent and stay open longer in the
months before most churns; healthy customers use most of their seats and rarely write in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.sample.billing import customer_refs
from csm_kit.sample.columns import dates, format_ids, id_width, labels, row_order, text
from csm_kit.sample.text import CHANNELS, PRIORITIES, SUPPORT_AGENTS
from csm_kit.sample.world import World, stream

ADOPTION_LOGIT = np.array([1.3, 1.0, 0.7])  # by segment, for a settled, average-risk customer
TICKET_RATE = np.array([0.10, 0.35, 1.0])  # tickets per customer-month, by segment
CHANNEL_CHOICE = np.array([[0.45, 0.35, 0.05, 0.15], [0.40, 0.30, 0.15, 0.15],
                           [0.30, 0.20, 0.35, 0.15]])
PRIORITY_SPEED = np.array([0.3, 0.0, -0.4, -1.0])  # log-hours added to time to close


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def usage_frame(world: World) -> pd.DataFrame:
    """One row per customer-month active at month end: active, licensed and key-feature users."""
    rng = stream(world.seed, "usage")
    n, col = world.cells
    seats = world.S[n, col].astype(np.int64)
    tenure = col - np.where(col >= world.r[n], world.r[n], world.start_col[n])
    ramp, z = world.R[n, col], world.z[n]
    habit = rng.normal(0, 0.4, world.n).astype(np.float32)[n]  # some customers just use more
    noise = rng.standard_normal((2, len(n)), dtype=np.float32)
    logit = (ADOPTION_LOGIT[world.segment[n]].astype(np.float32) - 0.5 * z - 2.0 * ramp
             - 1.2 * np.exp(-tenure / 1.5).astype(np.float32) + habit + 0.45 * noise[0])
    active = np.minimum(np.rint(seats * sigmoid(logit)), seats).astype(np.int64)
    key_share = sigmoid(0.2 - 0.4 * z - 1.2 * ramp + 0.5 * noise[1])
    return pd.DataFrame({
        "customer_id": customer_refs(world, n),
        "month": dates(world.cal.starts[col]),
        "active_users": active,
        "licensed_seats": seats,
        "key_feature_users": np.rint(active * key_share).astype(np.int64),
    })


@dataclass
class TicketArrays:
    """Tickets as arrays, kept for the surveys (CSAT and CES follow closed tickets)."""

    customer: np.ndarray
    opened: np.ndarray  # datetime64[s]
    closed: np.ndarray  # datetime64[s], NaT while open
    hours: np.ndarray
    contacts: np.ndarray
    channel: np.ndarray
    agent: np.ndarray
    priority: np.ndarray
    ramp: np.ndarray


def agent_quality(seed: int) -> np.ndarray:
    """Each support agent's effect on satisfaction (CSAT points; seeded)."""
    return stream(seed, "agents").normal(0, 0.3, len(SUPPORT_AGENTS)).astype(np.float32)


def ticket_arrays(world: World) -> TicketArrays:
    """Draw the tickets: more and slower ones under distress and in the outage month."""
    rng, cal = stream(world.seed, "tickets"), world.cal
    n, col = world.cells
    outage = world.events.column(cal, "outage")
    rate = (TICKET_RATE[world.segment[n]] * np.exp(0.35 * world.z[n] + 1.1 * world.R[n, col])
            * np.where(col == outage, 2.5, 1.0))
    cell = np.repeat(np.arange(len(n), dtype=np.int64), rng.poisson(rate))
    n, col = n[cell], col[cell]
    ramp, z = world.R[n, col], world.z[n]
    begin = world.spell_start(n, col).astype("datetime64[s]")
    span = (cal.starts[col] + cal.days[col]).astype("datetime64[s]") - begin
    opened = begin + (rng.random(len(n)) * span.astype(np.float64)).astype(np.int64)
    u = rng.random((4, len(n)))
    priority = (u[0][:, None] > np.array([0.3, 0.75, 0.95]) - 0.1 * ramp[:, None]).sum(1)
    agent = rng.integers(0, len(SUPPORT_AGENTS), len(n))
    channel = (u[1][:, None] > np.cumsum(CHANNEL_CHOICE, 1)[world.segment[n], :3]).sum(1)
    hours = np.exp(np.log(18) + 1.2 * ramp + 0.25 * z + PRIORITY_SPEED[priority]
                   - agent_quality(world.seed)[agent] + 1.2 * rng.standard_normal(len(n)))
    closed = opened + (hours * 3600).astype(np.int64)
    closed = np.where(closed < (cal.end + 1).astype("datetime64[s]"), closed, np.datetime64("NaT"))
    contacts = 1 + rng.poisson(0.25 + 0.45 * ramp + 0.25 * np.log1p(hours / 24))
    return TicketArrays(n, opened, closed, hours, contacts, channel, agent, priority, ramp)


def tickets_frame(world: World, t: TicketArrays) -> pd.DataFrame:
    """Support tickets sorted by opening time; ids numbered in that order."""
    order = row_order(t.opened, t.customer)
    is_open = np.isnat(t.closed[order])
    resolved = pd.arrays.BooleanArray(t.contacts[order] == 1, is_open)
    return pd.DataFrame({
        "ticket_id": text(format_ids("TK", np.arange(1, len(order) + 1), id_width(len(order)))),
        "customer_id": customer_refs(world, t.customer[order]),
        "opened_at": dates(t.opened[order]),
        "closed_at": dates(t.closed[order]),
        "contacts": t.contacts[order].astype(np.int64),
        "first_contact_resolved": resolved,
        "channel": labels(CHANNELS, t.channel[order]),
        "agent": labels(SUPPORT_AGENTS, t.agent[order]),
        "priority": labels(PRIORITIES, t.priority[order]),
    })
