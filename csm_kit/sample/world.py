"""The simulated company behind the sample: customers, their lifecycles and their health.

Everything is drawn on a dense customer x month grid with numpy (see ``calendar``), so a
million customers over three years is a few dozen array operations per month, never a loop
over customers. The order of events is:

1. customers and their latent **risk** ``z`` (higher = more likely to churn);
2. the churn schedule: a monthly hazard by segment x risk x CSM x tenure x events; annual
   contracts can only end on an anniversary; a few churned customers come back;
3. the **pre-churn ramp** ``R`` (0..~1.3): in the 1-4 months before most churns, plus some
   "rough patches" that recover, so the signal is visible but noisy;
4. seats and MRR month by month: expansion (more likely with a strong CSM and low risk),
   contraction (more likely under the ramp), up/down-sell at annual renewals, a price increase.

The other tables (usage, tickets, surveys...) read ``z`` and ``R`` so that detractors, low
adoption and long-open tickets precede churn.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from csm_kit.sample.calendar import Calendar, Events

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARE = np.array([0.60, 0.30, 0.10])
MONTHLY_CHURN = np.array([0.042, 0.026, 0.0155])  # before risk, tenure and event effects
ANNUAL_SHARE = np.array([0.25, 0.60, 0.90])
SEATS_MEDIAN = np.array([6.0, 40.0, 300.0])
EXPANSION_RATE = np.array([0.010, 0.020, 0.030])  # monthly chance of adding seats
ADDON_SHARE = np.array([0.08, 0.20, 0.30])
ADDON_MRR = np.array([49, 199, 799])
REACTIVATION = np.array([0.10, 0.15, 0.15])
INITIAL_SHARE = 0.4  # customers who signed up before the window
PLANS = ("Starter", "Growth", "Business", "Enterprise")
PLAN_CHOICE = np.array([[0.7, 0.3, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.3, 0.7]])
#: Price per seat per month, indexed [after price increase, billed annually, plan].
SEAT_PRICE = np.array([[[15, 30, 45, 65], [13, 26, 38, 55]],
                       [[16, 32, 48, 70], [14, 28, 41, 59]]], dtype=np.int64)
#: Home segment of each named CSM (same order as ``text.CSM_NAMES``); index 10 = pooled.
CSM_HOME_SEGMENT = np.array([2, 2, 2, 1, 1, 1, 1, 0, 0, 0])
POOLED_SHARE = 0.65  # share of SMB customers without a named CSM
EXPANSION_SKILL = np.array([1.8, 1.5, 1.3, 1.15, 1.0, 0.95, 0.85, 0.75, 0.65, 0.55])
POOLED_SKILL = 0.6
SIGNALLED_SHARE = 0.75  # churns preceded by visible distress; the rest are "silent"
MAX_SEATS = 50_000


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per table, so asking for fewer tables changes nothing."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


@dataclass
class World:
    """The simulated customer base: per-customer arrays and customer x month grids.

    Grids have ``cal.columns`` columns (0 = the month before the window). ``A`` is active at
    month end, ``S`` seats, ``B`` base-subscription MRR at month end (whole dollars), ``R`` the
    distress ramp. Spell 1 runs from ``start_col`` to ``c1`` (churn column, ``cols`` = never);
    a reactivated customer's spell 2 runs from ``r`` to ``c2`` on a monthly plan.
    """

    seed: int
    cal: Calendar
    events: Events
    segment: np.ndarray
    plan: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    csm: np.ndarray
    annual: np.ndarray
    z: np.ndarray
    signup: np.ndarray
    start_col: np.ndarray
    c1: np.ndarray
    r: np.ndarray
    c2: np.ndarray
    churn1_date: np.ndarray
    react_date: np.ndarray
    churn2_date: np.ndarray
    A: np.ndarray
    R: np.ndarray | None = None
    signalled: np.ndarray | None = None
    S: np.ndarray | None = None
    B: np.ndarray | None = None
    id_chars: np.ndarray | None = None  # bytes of every customer id, built on first use

    @property
    def n(self) -> int:
        return len(self.segment)

    @cached_property
    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Customer index and grid column of every active customer-month in the window."""
        n, col = np.nonzero(self.A[:, 1:])
        return n.astype(np.int32), (col + 1).astype(np.int32)

    def spell_start(self, n: np.ndarray, col: np.ndarray) -> np.ndarray:
        """First date a customer-month can have activity: its spell's start inside that month."""
        start = np.maximum(self.cal.starts[col], self.signup[n])
        return np.where(col == self.r[n], self.react_date[n], start)


def build_world(*, customers: int, months: int, seed: int, end) -> World:
    """Simulate the customer base (everything except seats and MRR, see ``add_revenue``)."""
    cal = Calendar.ending(end, months)
    rng = stream(seed, "world")
    events = Events.placed_in(cal)
    attrs = _customers(rng, customers, cal)
    schedule = _churn_schedule(rng, cal, attrs, _hazard(cal, events, attrs, csm_skill(seed)))
    world = World(seed=seed, cal=cal, events=events, **attrs, **schedule)
    world.signalled = rng.random(world.n) < SIGNALLED_SHARE
    world.R = _ramp(rng, world)
    return world


def _customers(rng: np.random.Generator, n: int, cal: Calendar) -> dict:
    initial = rng.random(n) < INITIAL_SHARE
    growth = 1 + 0.6 * np.arange(cal.months) / max(cal.months, 1)
    col = 1 + rng.choice(cal.months, size=n, p=growth / growth.sum())
    signup = np.where(initial, cal.window_start - rng.integers(1, 4 * 365, n),
                      cal.random_day(col, rng.random(n)))
    signup = np.sort(signup)  # customer ids follow signup order
    start_col = cal.column_of(signup)
    segment = rng.choice(3, size=n, p=SEGMENT_SHARE).astype(np.int8)
    plan = (rng.random(n)[:, None] > np.cumsum(PLAN_CHOICE, axis=1)[segment]).sum(1)
    named = np.zeros(n, np.int64)
    for seg in range(3):  # each segment's customers go to that segment's CSMs
        own = np.flatnonzero(CSM_HOME_SEGMENT == seg)
        pick = segment == seg
        named[pick] = own[rng.integers(0, len(own), pick.sum())]
    pooled = (segment == 0) & (rng.random(n) < POOLED_SHARE)
    z = (rng.standard_normal(n) - 0.3 * (start_col == 0)).astype(np.float32)  # survivors: safer
    return dict(
        segment=segment, plan=plan.astype(np.int8), z=z,
        region=rng.choice(4, size=n, p=[0.5, 0.3, 0.15, 0.05]).astype(np.int8),
        industry=rng.integers(0, 10, n).astype(np.int8),
        csm=np.where(pooled, 10, named).astype(np.int8),
        annual=rng.random(n) < ANNUAL_SHARE[segment],
        signup=signup, start_col=start_col.astype(np.int32),
    )


def csm_skill(seed: int) -> np.ndarray:
    """Expansion skill of each named CSM (a seeded shuffle) plus the pooled team at index 10."""
    return np.append(stream(seed, "csm").permutation(EXPANSION_SKILL), POOLED_SKILL)


def _hazard(cal: Calendar, events: Events, attrs: dict, skill: np.ndarray) -> np.ndarray:
    """Monthly churn hazard per customer x column (float32)."""
    seg, z = attrs["segment"], attrs["z"]
    base = MONTHLY_CHURN[seg] * np.exp(0.8 * z - 0.32) * skill[attrs["csm"]] ** -0.3
    cols = np.arange(cal.columns, dtype=np.int32)
    inc, launch = events.column(cal, "price_increase"), events.column(cal, "competitor_launch")
    shock = np.ones((3, cal.columns), np.float32)
    shock[:, inc:inc + 3] *= 1.4  # price increase: more churn for three months
    shock[0, launch:launch + 6] *= 1.5  # competitor launch hits SMB for six months
    tenure = cols[None, :] - attrs["start_col"][:, None]
    h = base[:, None].astype(np.float32) * shock[seg]
    h[(tenure >= 1) & (tenure <= 3)] *= 1.5  # new customers churn more
    return np.minimum(h, 0.6)


def _churn_schedule(rng: np.random.Generator, cal: Calendar, attrs: dict, h) -> dict:
    """First churn ``c1``, reactivation ``r``, second churn ``c2`` and the active grid."""
    n, cols, start = len(attrs["z"]), np.arange(cal.columns, dtype=np.int32), attrs["start_col"]
    u = rng.random(h.shape, dtype=np.float32)
    anniversary = (cal.absolute % 12)[None, :] == (
        attrs["signup"].astype("datetime64[M]").astype(np.int64) % 12)[:, None]
    threshold = np.where(attrs["annual"][:, None],
                         np.where(anniversary, 1 - (1 - h) ** 12, 0), h)
    hit = (u < threshold) & (cols[None, :] > start[:, None]) & (cols[None, :] >= 1)
    c1 = np.where(hit.any(1), hit.argmax(1), cal.columns).astype(np.int32)
    del threshold, hit
    back = (c1 < cal.columns) & (rng.random(n) < REACTIVATION[attrs["segment"]])
    r = np.where(back, c1 + 1 + rng.geometric(0.18, n), cal.columns)
    r = np.minimum(r, cal.columns).astype(np.int32)
    c2 = np.full(n, cal.columns, np.int32)
    again = np.flatnonzero(r < cal.columns)
    hit2 = (u[again] < 1.2 * h[again]) & (cols[None, :] > r[again][:, None])
    c2[again] = np.where(hit2.any(1), hit2.argmax(1), cal.columns)
    del u, h
    active = np.asfortranarray(((cols >= start[:, None]) & (cols < c1[:, None])) | (
        (cols >= r[:, None]) & (cols < c2[:, None])))  # column-major: read month by month
    return dict(c1=c1, r=r, c2=c2, A=active, **_spell_dates(rng, cal, attrs, c1, r, c2))


def _spell_dates(rng, cal: Calendar, attrs: dict, c1, r, c2) -> dict:
    """Dates of first churn (annual: the anniversary), reactivation and second churn."""
    last, nat = cal.columns - 1, np.datetime64("NaT", "D")

    def day(col, dates):
        return np.where(col < cal.columns, dates, nat)

    in_month = [cal.random_day(np.minimum(c, last), rng.random(len(c))) for c in (c1, r, c2)]
    anniversary = cal.same_day_in(np.minimum(c1, last), attrs["signup"])
    return dict(churn1_date=day(c1, np.where(attrs["annual"], anniversary, in_month[0])),
                react_date=day(r, in_month[1]), churn2_date=day(c2, in_month[2]))


def _ramp(rng: np.random.Generator, world: World) -> np.ndarray:
    """Distress in the 1-4 months before signalled churns, plus rough patches that recover."""
    ramp = np.zeros(world.A.shape, np.float32, order="F")
    signalled = world.signalled
    strength = rng.uniform(0.6, 1.3, world.n).astype(np.float32)
    for churn in (world.c1, world.c2):
        who = np.flatnonzero(signalled & (churn < world.cal.columns))
        for k in range(1, 5):
            col = churn[who] - k
            ok = (col >= 1) & world.A[who, np.maximum(col, 0)]
            ramp[who[ok], col[ok]] = strength[who[ok]] * (5 - k) / 4
    patches = int(0.15 * world.n)
    who = rng.integers(0, world.n, patches)
    first = rng.integers(1, world.cal.columns, patches)
    height = rng.uniform(0.4, 0.9, patches).astype(np.float32)
    for k in range(3):
        col = np.minimum(first + k, world.cal.columns - 1)
        ramp[who, col] = np.maximum(ramp[who, col], height * world.A[who, col])
    return ramp
