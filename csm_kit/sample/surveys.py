"""The surveys table of the sample: NPS, CSAT and CES responses with free-text comments.

NPS (0-10) is a relationship survey sent to every customer twice a year (about 30% answer);
scores fall with risk and sharply in the months before churn, dip after the price increase and
the outage, and are a little higher in the books of stronger CSMs. CSAT (1-5, top two boxes
good) and CES (1-7, 1 = least effort) follow 30% and 20% of closed tickets and get worse with
slow, repeated contacts and weaker agents. Comments are drawn from pools matching the score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.sample.activity import TicketArrays, agent_quality
from csm_kit.sample.billing import customer_refs
from csm_kit.sample.columns import blank_where, dates, format_ids, id_width, row_order, text
from csm_kit.sample.text import CSM_NAMES, POOLED_CSM, SUPPORT_AGENTS, comments, person_names, pick
from csm_kit.sample.world import World, csm_skill, stream

SURVEYS = ("nps", "csat", "ces")
COMMENT_RATE = {"nps": 0.5, "csat": 0.3, "ces": 0.25}


def _nps(world: World, rng: np.random.Generator) -> dict:
    n, col = world.cells
    phase = rng.integers(0, 6, world.n)
    asked = np.flatnonzero((col + phase[n]) % 6 == 0)
    asked = asked[rng.random(len(asked)) < 0.3]
    n, col = n[asked], col[asked]
    cal, events = world.cal, world.events
    inc, outage = events.column(cal, "price_increase"), events.column(cal, "outage")
    dip = 0.6 * ((col >= inc) & (col < inc + 3)) + 0.4 * (col == outage)
    latent = (8.3 - 0.9 * world.z[n] - 3.5 * world.R[n, col]
              + 0.4 * (csm_skill(world.seed)[world.csm[n]] - 1) - dip
              + 1.5 * rng.standard_normal(len(n)))
    score = np.clip(np.rint(latent), 0, 10)
    begin = world.spell_start(n, col)
    span = (cal.starts[col] + cal.days[col] - begin).astype(np.int64)
    date = begin + (rng.random(len(n)) * span).astype(np.int64)
    band = np.digitize(score, [7, 9])  # detractor 0-6, passive 7-8, promoter 9-10
    return dict(n=n, date=date, survey=np.zeros(len(n), np.int8), score=score, band=band,
                agent=np.full(len(n), -1))


def _after_tickets(world: World, t: TicketArrays, rng: np.random.Generator) -> dict:
    closed = np.flatnonzero(~np.isnat(t.closed))
    u = rng.random(len(closed))
    parts = []
    for survey, lo, hi in ((1, 0.0, 0.30), (2, 0.30, 0.50)):
        k = closed[(u >= lo) & (u < hi)]
        noise = rng.standard_normal(len(k))
        if survey == 1:  # CSAT 1-5
            latent = (4.4 - 0.5 * (t.hours[k] > 72) - 0.8 * (t.hours[k] > 168)
                      - 0.35 * (t.contacts[k] - 1) - 0.3 * t.ramp[k]
                      + agent_quality(world.seed)[t.agent[k]] + 0.7 * noise)
            score = np.clip(np.rint(latent), 1, 5)
            band = np.digitize(score, [3, 4])
        else:  # CES 1-7, 1 = least effort
            latent = (2.0 + 0.6 * (t.contacts[k] - 1) + 0.35 * np.log1p(t.hours[k] / 24)
                      + 0.4 * t.ramp[k] + 0.9 * noise)
            score = np.clip(np.rint(latent), 1, 7)
            band = 2 - np.digitize(score, [3, 6])
        date = t.closed[k].astype("datetime64[D]") + rng.integers(0, 3, len(k))
        parts.append(dict(n=t.customer[k], date=np.minimum(date, world.cal.end),
                          survey=np.full(len(k), survey, np.int8), score=score, band=band,
                          agent=t.agent[k]))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def surveys_frame(world: World, t: TicketArrays) -> pd.DataFrame:
    """All survey responses sorted by date; ids numbered in that order."""
    rng = stream(world.seed, "surveys")
    nps, after = _nps(world, rng), _after_tickets(world, t, rng)
    r = {key: np.concatenate([nps[key], after[key]]) for key in nps}
    order = row_order(r["date"], r["survey"], r["n"])
    r = {key: value[order] for key, value in r.items()}
    rate = np.array([COMMENT_RATE[name] for name in SURVEYS])[r["survey"]]
    no_comment = rng.random(len(order)) >= rate + 0.15 * (r["band"] == 0)
    comment = comments(rng, r["survey"], r["band"])
    respondent = blank_where(person_names(rng, len(order)), rng.random(len(order)) < 0.08)
    agent = blank_where(pick(SUPPORT_AGENTS, np.maximum(r["agent"], 0)), r["agent"] < 0)
    return pd.DataFrame({
        "response_id": text(format_ids("RSP", np.arange(1, len(order) + 1), id_width(len(order)))),
        "customer_id": customer_refs(world, r["n"]),
        "date": dates(r["date"]),
        "survey": text(pick(SURVEYS, r["survey"])),
        "score": r["score"].astype(np.float64),
        "comment": text(blank_where(comment, no_comment)),
        "respondent": text(respondent),
        "csm": text(pick((*CSM_NAMES, POOLED_CSM), world.csm[r["n"]])),
        "agent": text(agent),
    })
