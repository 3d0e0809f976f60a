"""The activities table of the sample: the CSM touches (calls, e-mails, QBRs) with each account.

Accounts with a named CSM are touched about 0.4 (SMB), 0.8 (Mid-Market) or 1.6 (Enterprise)
times a month, with an onboarding call in their first month; pooled (tech-touch) SMB accounts
get a campaign e-mail about every fifth month from the "Pooled" team. Customers at risk
answer less: the rate falls with the latent risk ``z`` and sharply under the pre-churn ramp
``R`` (accounts "go dark" before they leave), so a long silence precedes many churns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.sample.billing import customer_refs
from csm_kit.sample.columns import dates, labels, row_order
from csm_kit.sample.text import CSM_NAMES, POOLED_CSM
from csm_kit.sample.world import World, stream

TOUCH_RATE = np.array([0.4, 0.8, 1.6])  # touches per named-CSM account-month, by segment
POOLED_RATE = 0.2
POOLED = len(CSM_NAMES)  # world.csm index of the pooled team
TYPES = ("call", "e-mail", "QBR", "onboarding")
#: Chance of call / e-mail / QBR for a named CSM's touch, by segment (SMB gets no QBR).
TYPE_CHOICE = np.array([[0.55, 0.45, 0.0], [0.45, 0.40, 0.15], [0.40, 0.35, 0.25]])


def activities_frame(world: World) -> pd.DataFrame:
    """One row per touch, sorted by date then customer: date, customer_id, csm, type."""
    rng = stream(world.seed, "activities")
    n, col = world.cells
    pooled = world.csm[n] == POOLED
    rate = np.where(pooled, POOLED_RATE, TOUCH_RATE[world.segment[n]])
    rate = rate * np.exp(-0.35 * world.z[n] - 1.5 * world.R[n, col])
    cell = np.repeat(np.arange(len(n), dtype=np.int64), rng.poisson(rate))
    first = np.flatnonzero((col == world.start_col[n]) & ~pooled)  # onboarding call
    kind = np.concatenate([(rng.random(len(cell))[:, None] > np.cumsum(
        TYPE_CHOICE, 1)[world.segment[n[cell]], :2]).sum(1), np.full(len(first), 3)])
    kind[: len(cell)][pooled[cell]] = 1  # tech touch: e-mail campaigns only
    cell = np.concatenate([cell, first])
    n, col = n[cell], col[cell]
    begin = world.spell_start(n, col)
    span = (world.cal.starts[col] + world.cal.days[col] - begin).astype(np.int64)
    date = begin + (rng.random(len(n)) * span).astype(np.int64)
    order = row_order(date, n)
    return pd.DataFrame({
        "date": dates(date[order]),
        "customer_id": customer_refs(world, n[order]),
        "csm": labels((*CSM_NAMES, POOLED_CSM), world.csm[n[order]]),
        "type": labels(TYPES, kind[order]),
    })
