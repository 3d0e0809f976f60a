"""Invariants of the definition rules on random subscription histories (hypothesis).

Under every preset the bridge balances every month (start + movements = end, each end opens
the next month) and agrees with a day-by-day walk written independently of the engine (plain
Python over each customer's change days: no month indices, no windows, no cumulative sums);
logo churn under every preset agrees with the same walk; the DuckDB and Polars engines give
the pandas engine's numbers; and the default preset is the kit's unchanged month-end engine.

Histories mix short subscriptions (joining and leaving inside a month), $0 plans (the
``zero_mrr`` rule), several subscriptions per customer and open ones.
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_kit import engine as eng
from csm_kit.churn import logo_churn_rate
from csm_kit.cohorts import cohort_retention
from csm_kit.day_events import classify, day_events, month_end_events
from csm_kit.definitions import PRESETS, Definitions
from csm_kit.mrr_events import classified_movements, prepare_subscriptions
from csm_kit.revenue import MOVEMENTS, mrr_bridge, mrr_movements, mrr_summary
from csm_kit.rule_churn import rule_churn
from tests.test_revenue import subscriptions
from tests.test_revenue_properties import reference_as_of

#: Random histories often end inside their only month; the default as_of then warns that the
#: table is empty (that warning is tested in tests/test_grouping.py and tests/test_kpis.py).
pytestmark = pytest.mark.filterwarnings("ignore:.*a month the data does not reach the end of")

BASE = pd.Timestamp("2023-01-01")
# Each example runs every preset (five bridges, churn tables ... at ~50-100 ms a call on tiny
# frames) and the Python walk (~0.6-1.2 s an example on two shared cores), so the walk tests
# run a third of the hypothesis profile's examples: the default "dev" profile's 20 → 6; the
# "ci" profile's 200 (.ci/run) → 66, ~3 minutes. The engine comparison (~8 s an example) runs
# a sixth of 20 whatever the profile. CSM_KIT_PROPERTY_EXAMPLES replaces the 20 / 200.
_BASE = os.environ.get("CSM_KIT_PROPERTY_EXAMPLES")
EXAMPLES = max(int(_BASE or settings.default.max_examples) // 3, 3)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=max(int(_BASE or 20) // 6, 3), deadline=None,
               suppress_health_check=[HealthCheck.too_slow])

subscription_rows = st.tuples(
    st.sampled_from(["c0", "c1", "c2", "c3"]),
    st.integers(0, 600),                                                # start: days after 1 Jan 2023
    st.one_of(st.none(), st.integers(1, 40), st.integers(1, 400)),      # length; None = open
    st.one_of(st.just(0), st.integers(1, 100_000)),                     # MRR in cents; 0 = free plan
)
histories = st.lists(subscription_rows, min_size=1, max_size=10).map(
    lambda rows: subscriptions([
        (c, BASE + pd.Timedelta(days=s), None if n is None else BASE + pd.Timedelta(days=s + n),
         cents / 100) for c, s, n, cents in rows]))
as_of_values = st.one_of(st.none(), st.sampled_from(["2023-06", "2024-02", "2025-03"]))


# --- the independent day-by-day walk ------------------------------------------------------


def walk(subs: pd.DataFrame, last_day: pd.Timestamp, zero_mrr: str) -> dict:
    """Per customer, every change of (MRR cents, active) up to ``last_day``, day by day.

    Active: MRR above 0 ("churn"); or, with "active", holding a subscription after having
    paid since the customer last held none.
    """
    changes = {}
    for customer, own in subs.groupby("customer_id"):
        days = sorted({d for d in pd.concat([own["start_date"], own["end_date"].dropna()])
                       if d <= last_day})
        mrr, active, held, paid, out = 0, False, 0, False, []
        for day in days:
            on = own[(own["start_date"] <= day) & ~(own["end_date"] <= day)]
            new_mrr = max(int((on["mrr"] * 100).round().sum()), 0)
            new_held = len(on)
            if zero_mrr == "churn":
                new_active = new_mrr > 0
            else:
                paid = (paid if held > 0 else False) or new_mrr > 0
                new_active = new_held > 0 and paid
            if (new_mrr, new_active) != (mrr, active):
                out.append((day, mrr, new_mrr, active, new_active))
            mrr, active, held = new_mrr, new_active, new_held
        changes[customer] = out
    return changes


def month_end(day: pd.Timestamp) -> pd.Timestamp:
    return day + pd.offsets.MonthEnd(0)


def state_on(changes: list, day: pd.Timestamp) -> tuple[int, bool]:
    """(MRR, active) at the end of ``day``."""
    before = [c for c in changes if c[0] <= day]
    return (before[-1][2], before[-1][4]) if before else (0, False)


def name(was: bool, now: bool, old: int, new: int, first: bool) -> str | None:
    if not was and now:
        return "new" if first else "reactivation"
    if was and not now:
        return "churn"
    if was and now and new != old:
        return "expansion" if new > old else "contraction"
    return None


def reference_bridge(subs, as_of, timing, zero_mrr) -> pd.DataFrame:
    """Movement totals (cents) per month from the walk, on the engine's month range."""
    last_month = reference_as_of(subs, as_of)
    changes = walk(subs, month_end(last_month), zero_mrr)
    booked = []
    for own in changes.values():
        seen = False
        if timing == "events":
            steps = [(day.replace(day=1), *rest) for day, *rest in own]
        else:
            months = pd.date_range(subs["start_date"].min().replace(day=1), last_month, freq="MS")
            steps, previous = [], (0, False)
            for month in months:
                now = state_on(own, month_end(month))
                if now != previous:
                    steps.append((month, previous[0], now[0], previous[1], now[1]))
                previous = now
        for month, old, new, was, now in steps:
            movement = name(was, now, old, new, first=not seen)
            seen = seen or (now and not was)
            if movement:
                booked.append((month, movement, abs(new - old)))
    moves = pd.DataFrame(booked, columns=["month", "movement", "cents"])
    if moves.empty:
        return pd.DataFrame(columns=list(MOVEMENTS), dtype="int64")
    months = pd.date_range(moves["month"].min(), last_month, freq="MS")
    table = moves.pivot_table(index="month", columns="movement", values="cents", aggfunc="sum")
    return table.reindex(index=months, columns=list(MOVEMENTS)).fillna(0).astype("int64")


def cents(frame: pd.DataFrame, columns) -> pd.DataFrame:
    return (frame[list(columns)] * 100).round().astype("int64")


# --- the bridge balances and matches the walk under every preset ----------------------------


@SETTINGS
@given(subs=histories, as_of=as_of_values)
def test_under_every_preset_the_bridge_balances_and_matches_a_day_by_day_walk(subs, as_of):
    last_month = reference_as_of(subs, as_of)
    for preset_name, rules in PRESETS.items():
        bridge = mrr_bridge(subs, as_of=as_of, definitions=preset_name)
        got = cents(bridge, ["start_mrr", *MOVEMENTS, "end_mrr"])
        flows = (got["start_mrr"] + got["new"] + got["expansion"] + got["reactivation"]
                 - got["contraction"] - got["churn"])
        assert (flows == got["end_mrr"]).all(), preset_name
        assert (got["end_mrr"].iloc[:-1].to_numpy() == got["start_mrr"].iloc[1:].to_numpy()).all()
        expected = reference_bridge(subs, as_of, rules.timing, rules.zero_mrr)
        assert bridge["month"].tolist() == list(expected.index), preset_name
        assert (got[list(MOVEMENTS)].to_numpy() == expected.to_numpy()).all(), preset_name
        # Closing MRR and active customers are the walk's month-end states.
        changes = walk(subs, month_end(last_month), rules.zero_mrr)
        # (The summary's months start at the first month end with a customer; before it, 0.)
        summary = mrr_summary(subs, as_of=as_of, definitions=preset_name).set_index("month")
        customers = summary["customers"].reindex(bridge["month"], fill_value=0)
        for month in bridge["month"]:
            states = [state_on(own, month_end(month)) for own in changes.values()]
            assert got.set_axis(bridge["month"]).loc[month, "end_mrr"] == sum(s[0] for s in states)
            assert customers.loc[month] == sum(s[1] for s in states), preset_name


# --- logo churn matches the walk under every preset -----------------------------------------


def reference_churn(subs, as_of, rules: Definitions) -> dict:
    """{month: (customers_start, churned, denominator)} from the walk, for every period."""
    last_month = reference_as_of(subs, as_of)
    changes = walk(subs, month_end(last_month), rules.zero_mrr)
    result = {}
    for month in pd.date_range(subs["start_date"].min().replace(day=1), last_month, freq="MS"):
        end = month_end(month)
        first = month if rules.churn_window_days is None else (
            end - pd.Timedelta(days=rules.churn_window_days - 1))
        boundary = first - pd.Timedelta(days=1)
        start_n = churned = denominator = 0
        for own in changes.values():
            s, e = state_on(own, boundary)[1], state_on(own, end)[1]
            inside = [c for c in own if boundary < c[0] <= end]
            left = any(c[3] and not c[4] for c in inside)
            joined = any(not c[3] and c[4] for c in inside)
            start_n += s
            churned += ((s and not e) or (rules.churn_and_return == "count" and s and e and left)
                        or (rules.join_and_cancel == "count" and not s and left))
            denominator += s or (rules.churn_denominator == "start_plus_new" and joined)
        result[month] = (start_n, churned, denominator)
    return result


@SETTINGS
@given(subs=histories, as_of=as_of_values)
def test_under_every_preset_logo_churn_matches_a_day_by_day_walk(subs, as_of):
    for preset_name, rules in PRESETS.items():
        got = logo_churn_rate(subs, as_of=as_of, definitions=preset_name)
        expected = reference_churn(subs, as_of, rules)
        started = [m for m, v in expected.items() if v[2] > 0]
        months = [m for m in expected if started and m >= started[0]]
        assert got["month"].tolist() == months, preset_name
        denominator = got["denominator"] if "denominator" in got else got["customers_start"]
        assert list(zip(got["customers_start"], got["churned"], denominator, strict=True)) == [
            expected[m] for m in months], preset_name


# --- the default preset is the kit's month-end engine, unchanged -----------------------------


@SETTINGS
@given(subs=histories, as_of=as_of_values)
def test_the_default_preset_is_the_unchanged_month_end_engine(subs, as_of):
    pd.testing.assert_frame_equal(mrr_bridge(subs, as_of=as_of, definitions="csm-kit"),
                                  mrr_bridge(subs, as_of=as_of))
    # The events engine read at month ends under the default rules classifies exactly the
    # movements of the month-end engine.
    frame, as_of_index = prepare_subscriptions(subs, as_of=as_of)
    general = eng.to_pandas(classify(month_end_events(day_events(frame, as_of_index)),
                                     "month_index"))
    fast = eng.to_pandas(classified_movements(frame, as_of_index))
    columns = ["customer_id", "month_index", "movement", "mrr_before", "mrr_after"]
    pd.testing.assert_frame_equal(
        general[columns].sort_values(columns[:2], ignore_index=True),
        fast[columns].sort_values(columns[:2], ignore_index=True), check_dtype=False)
    # Logo churn's rule path with the default rules gives the month-end path's numbers.
    slow = rule_churn(subs, Definitions(), period="M", by=None, customers=None, as_of=as_of,
                      confidence=0.95, engine=None)
    quick = logo_churn_rate(subs, as_of=as_of)
    assert slow["month"].tolist() == quick["month"].tolist()
    for column in ("customers_start", "churned", "rate", "ci_low", "ci_high"):
        pd.testing.assert_series_equal(slow[column], quick[column], check_dtype=False,
                                       check_names=False)


# --- every engine gives the pandas engine's numbers under every preset ------------------------


ENGINES = {"duckdb": duckdb.from_df, "polars": pl.from_pandas}


@FEW
@given(subs=histories, as_of=st.sampled_from(["2024-02", "2025-03"]))
def test_duckdb_and_polars_give_the_pandas_numbers_under_every_preset(subs, as_of):
    for preset_name in PRESETS:
        bridge = mrr_bridge(subs, as_of=as_of, definitions=preset_name)
        churn = logo_churn_rate(subs, as_of=as_of, definitions=preset_name)
        moves = mrr_movements(subs, as_of=as_of, definitions=preset_name)
        cohorts = cohort_retention(subs, as_of=as_of, definitions=preset_name)
        for engine_name, convert in ENGINES.items():
            native = convert(subs)
            pd.testing.assert_frame_equal(
                mrr_bridge(native, as_of=as_of, definitions=preset_name), bridge)
            pd.testing.assert_frame_equal(
                logo_churn_rate(native, as_of=as_of, definitions=preset_name), churn)
            pd.testing.assert_frame_equal(
                cohort_retention(native, as_of=as_of, definitions=preset_name), cohorts)
            got = eng.to_pandas(nw_frame(mrr_movements(native, as_of=as_of,
                                                       definitions=preset_name)))
            keys = [c for c in ("customer_id", "month", "date", "movement") if c in got]
            pd.testing.assert_frame_equal(got.sort_values(keys, ignore_index=True),
                                          moves.sort_values(keys, ignore_index=True),
                                          check_dtype=False), engine_name


def nw_frame(native):
    import narwhals as nw

    return nw.from_native(native)
