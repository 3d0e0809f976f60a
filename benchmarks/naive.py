"""A naive pandas version of the revenue pipeline, in the groupby-apply style of many notebooks.

This is the baseline the kit is measured against ("naive ÷ kit" in RESULTS.md), not code to
copy: it loops over customers with ``groupby(...).apply`` (and over a customer's subscriptions
with ``iterrows``), the way blog posts and notebooks usually build MRR movements; the bridge
and the cohort matrices are then built with ordinary vectorised pandas. It follows the
kit's rules (month-end MRR, whole cents per subscription, subscriptions summed per customer,
a sum <= 0 is 0, ProfitWell's rule for joining and leaving inside a month), works in float
currency, and benchmarks/run.py checks that it gives the kit's numbers (to 1e-9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def naive_pipeline(subscriptions: pd.DataFrame, as_of: pd.Period) -> dict[str, pd.DataFrame]:
    """customer_months, movements, bridge, logo_cohorts and revenue_cohorts, naively."""
    customer_months = naive_customer_months(subscriptions, as_of)
    movements = naive_movements(customer_months, as_of)
    return {
        "customer_months": customer_months,
        "movements": movements,
        "bridge": naive_bridge(movements, as_of),
        "logo_cohorts": naive_cohorts(customer_months, as_of, kind="logo"),
        "revenue_cohorts": naive_cohorts(customer_months, as_of, kind="revenue"),
    }


def _months_of(sub, as_of: pd.Period) -> list:
    """The months at whose end one subscription is active (a row-wise apply helper)."""
    first = sub["start_date"].to_period("M")
    last = as_of if pd.isna(sub["end_date"]) else min(sub["end_date"].to_period("M") - 1, as_of)
    return list(pd.period_range(first, last, freq="M")) if first <= last else []


def naive_customer_months(subscriptions: pd.DataFrame, as_of: pd.Period) -> pd.DataFrame:
    subs = subscriptions.copy()
    subs["month"] = subs.apply(lambda sub: _months_of(sub, as_of), axis=1)
    subs["mrr"] = np.floor(subs["mrr"] * 100 + 0.5) / 100
    rows = subs.explode("month").dropna(subset=["month"])
    monthly = rows.groupby(["customer_id", "month"])["mrr"].sum().round(2).reset_index()
    monthly = monthly[monthly["mrr"] > 0]
    monthly["month"] = monthly["month"].apply(lambda p: p.to_timestamp()).astype("datetime64[ns]")
    return monthly.sort_values(["customer_id", "month"], ignore_index=True)


def _movements_of_customer(months: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Month-end MRR changes of one customer (the function of a groupby-apply)."""
    mrr = months.set_index("month")["mrr"]
    mrr = mrr.reindex(pd.date_range(mrr.index[0], as_of, freq="MS"), fill_value=0.0)
    before = mrr.shift(1, fill_value=0.0)
    changed = mrr != before
    return pd.DataFrame({"month": mrr.index[changed], "mrr_before": before[changed].to_numpy(),
                         "mrr_after": mrr[changed].to_numpy()})


def naive_movements(customer_months: pd.DataFrame, as_of: pd.Period) -> pd.DataFrame:
    moves = customer_months.groupby("customer_id").apply(
        lambda months: _movements_of_customer(months, as_of.to_timestamp()), include_groups=False)
    moves = moves.reset_index(level=0).reset_index(drop=True)
    first = moves.groupby("customer_id").cumcount() == 0
    before, after = moves["mrr_before"], moves["mrr_after"]
    moves["movement"] = np.select(
        [(before == 0) & first, before == 0, after == 0, after > before],
        ["new", "reactivation", "churn", "expansion"], "contraction")
    moves["movement"] = moves["movement"].astype("str")
    moves["month"] = moves["month"].astype("datetime64[ns]")
    moves["mrr_change"] = (after - before).round(2)
    columns = ["customer_id", "month", "movement", "mrr_change", "mrr_before", "mrr_after"]
    return moves[columns].sort_values(["customer_id", "month"], ignore_index=True)


def naive_bridge(movements: pd.DataFrame, as_of: pd.Period) -> pd.DataFrame:
    totals = movements.pivot_table(index="month", columns="movement", values="mrr_change",
                                   aggfunc="sum", fill_value=0.0)
    months = pd.period_range(movements["month"].min().to_period("M"), as_of, freq="M")
    totals = totals.reindex(months.to_timestamp(), fill_value=0.0)
    out = pd.DataFrame({"month": totals.index.astype("datetime64[ns]")})
    for name in ("new", "expansion", "reactivation", "contraction", "churn"):
        out[name] = totals[name].abs().to_numpy() if name in totals else 0.0
    net = out["new"] + out["expansion"] + out["reactivation"] - out["contraction"] - out["churn"]
    out["end_mrr"] = net.cumsum().round(2)
    out["start_mrr"] = (out["end_mrr"] - net).round(2)
    columns = ["month", "start_mrr", "new", "expansion", "reactivation", "contraction", "churn",
               "end_mrr"]
    return out[columns]


def naive_cohorts(customer_months: pd.DataFrame, as_of: pd.Period, *, kind: str) -> pd.DataFrame:
    table = customer_months.copy()
    table["cohort"] = table.groupby("customer_id")["month"].transform("min")
    table["months_since_start"] = ((table["month"].dt.year - table["cohort"].dt.year) * 12
                                   + table["month"].dt.month - table["cohort"].dt.month)
    if kind == "logo":
        matrix = table.pivot_table(index="cohort", columns="months_since_start",
                                   values="customer_id", aggfunc="count")
    else:
        matrix = table.pivot_table(index="cohort", columns="months_since_start", values="mrr",
                                   aggfunc="sum")
    ages = np.arange((as_of - matrix.index.min().to_period("M")).n + 1)
    matrix = matrix.reindex(columns=ages).fillna(0.0)
    shares = matrix.div(matrix[0], axis=0)
    for cohort in shares.index:  # ages a cohort has not reached yet are empty, not 0
        reached = (as_of - cohort.to_period("M")).n
        shares.loc[cohort, shares.columns > reached] = np.nan
    shares.index = pd.DatetimeIndex(shares.index.astype("datetime64[ns]"), name="cohort")
    shares.columns = pd.Index(ages.astype("int64"), name="months_since_start")
    return shares.astype("float64")
