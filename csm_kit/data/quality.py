"""Data-quality checks that do not stop a run but belong at the top of every report.

Each check looks at a loaded :class:`~csm_kit.data.loading.Dataset` and returns failure records
(table, column, check, severity, rows, examples, message) with severity ``warning`` (worth
fixing: the figures may be off) or ``info`` (worth knowing). Nothing is dropped or changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.data.contract import ACTIVITY_DATES, TABLES, failure_row, failures_frame, row_labels
from csm_kit.data.loading import Dataset
from csm_kit.frames import isin
from csm_kit.periods import parse_as_of

CUSTOMER_ID_COLUMNS = {
    "subscriptions": ("customer_id",), "transactions": ("customer_id",),
    "surveys": ("customer_id",), "tickets": ("customer_id",), "usage": ("customer_id",),
    "renewals": ("customer_id",), "trials": ("customer_id",),
    "referrals": ("referrer_customer_id", "referred_customer_id"),
    "activities": ("customer_id",),
}


def data_quality(
    dataset: Dataset,
    *,
    as_of=None,
    freshness_days: int = 45,
    min_n: int = 30,
    outlier_iqr: float = 3.0,
) -> pd.DataFrame:
    """Run every soft check and return one row per finding.

    Parameters
    ----------
    dataset : a loaded dataset.
    as_of : the reporting month (any date in it); ``None`` = the last complete month.
    freshness_days : a table whose latest record is older than this many days before the
        as-of month end is reported as stale.
    min_n : survey months with fewer responses than this are reported as small samples.
    outlier_iqr : MRR above ``Q3 + outlier_iqr × IQR`` of log10(MRR) is an outlier.

    Returns
    -------
    DataFrame with columns table, column, check, severity, rows, examples, message.
    """
    month = parse_as_of(as_of) if as_of is not None else dataset.default_as_of()
    month_end = None if month is None else month + pd.offsets.MonthEnd(0)
    rows = list(dataset.notes)  # found while reading, e.g. "never ends" end dates
    rows += overlapping_subscriptions(dataset)
    rows += orphan_customer_ids(dataset)
    rows += outlier_mrr(dataset, iqr=outlier_iqr)
    rows += mixed_currencies(dataset)
    rows += small_samples(dataset, min_n=min_n)
    if month_end is not None:
        rows += future_dated(dataset, month_end)
        rows += stale_tables(dataset, month_end, freshness_days=freshness_days)
        rows += partial_last_month(dataset, month_end)
    return failures_frame(rows)


def overlapping_subscriptions(dataset: Dataset) -> list[dict]:
    """Find subscriptions of one customer and plan that overlap in time (double billing?).

    Two concurrent subscriptions on *different* plans (an add-on) are normal and not reported;
    without a plan column, any overlap of one customer's subscriptions is reported.
    """
    subs = dataset.subscriptions
    if subs is None or subs.empty:
        return []
    keys = ["customer_id"] + (["plan"] if "plan" in subs.columns else [])
    ordered = subs.sort_values(keys + ["start_date"])
    end = ordered["end_date"] if "end_date" in ordered.columns else pd.Series(pd.NaT, index=ordered.index)
    end = end.astype("datetime64[ns]").fillna(pd.Timestamp.max)
    previous_end = end.groupby([ordered[k] for k in keys], sort=False).cummax()
    previous_end = previous_end.groupby([ordered[k] for k in keys], sort=False).shift(1)
    overlap = (ordered["start_date"] < previous_end).reindex(subs.index).fillna(False)
    if not overlap.any():
        return []
    what = "customer and plan" if "plan" in subs.columns else "customer"
    return [failure_row("subscriptions", "start_date", "overlapping_subscriptions", int(overlap.sum()),
                        row_labels(subs, TABLES["subscriptions"], overlap),
                        f"subscriptions overlapping an earlier one of the same {what}",
                        severity="warning")]


def orphan_customer_ids(dataset: Dataset) -> list[dict]:
    """Find customer ids in other tables that are not in ``customers``."""
    known = set(dataset.customers["customer_id"].dropna())
    out = []
    for name, columns in CUSTOMER_ID_COLUMNS.items():
        df = getattr(dataset, name)
        for column in columns:
            if df is None or column not in df.columns:
                continue
            orphan = df[column].notna() & ~isin(df[column], known)  # Series.isin, fast
            if orphan.any():
                ids = df.loc[orphan, column].drop_duplicates().head(3).tolist()
                out.append(failure_row(
                    name, column, "orphan_customer_ids", int(orphan.sum()), ids,
                    "customer ids that are not in the customers table (segment and CSM unknown)",
                    severity="warning"))
    return out


def outlier_mrr(dataset: Dataset, *, iqr: float = 3.0) -> list[dict]:
    """Find subscriptions whose MRR is far above the rest (a typo, or an annual price not divided by 12)."""
    subs = dataset.subscriptions
    if subs is None:
        return []
    positive = subs["mrr"] > 0
    if positive.sum() < 20:
        return []
    logs = np.log10(subs.loc[positive, "mrr"])
    q1, q3 = logs.quantile([0.25, 0.75])
    limit = 10 ** (q3 + iqr * (q3 - q1))
    high = subs["mrr"] > limit
    if not high.any():
        return []
    return [failure_row("subscriptions", "mrr", "outlier_mrr", int(high.sum()),
                        row_labels(subs, TABLES["subscriptions"], high),
                        f"MRR above {limit:,.0f} (far above the rest; is an annual price not divided by 12?)",
                        severity="warning")]


def mixed_currencies(dataset: Dataset) -> list[dict]:
    """Report tables whose money comes in more than one currency (the kit does not convert)."""
    out = []
    for name in ("subscriptions", "transactions"):
        df = getattr(dataset, name)
        if df is None or "currency" not in df.columns:
            continue
        counts = df["currency"].dropna().value_counts()
        if len(counts) > 1:
            minority = counts.iloc[1:]
            out.append(failure_row(
                name, "currency", "mixed_currencies", int(minority.sum()), list(counts.index),
                "amounts in more than one currency (convert them to one reporting currency first)",
                severity="warning"))
    return out


def future_dated(dataset: Dataset, month_end: pd.Timestamp) -> list[dict]:
    """Report records dated after the as-of month (left out of the as-of figures)."""
    out = []
    cutoff = month_end + pd.Timedelta(days=1)
    for name, columns in ACTIVITY_DATES.items():
        df = getattr(dataset, name)
        if df is None:
            continue
        for column in columns:
            if column not in df.columns:
                continue
            late = df[column] >= cutoff
            if late.any():
                out.append(failure_row(
                    name, column, "future_dated", int(late.sum()),
                    row_labels(df, TABLES[name], late),
                    f"dates after the as-of month end {month_end:%Y-%m-%d}", severity="info"))
    return out


def stale_tables(dataset: Dataset, month_end: pd.Timestamp, *, freshness_days: int = 45) -> list[dict]:
    """Report tables whose latest record is older than ``freshness_days`` before the as-of month end."""
    out = []
    for name, columns in ACTIVITY_DATES.items():
        df = getattr(dataset, name)
        present = [c for c in columns if df is not None and c in df.columns]
        if not present or name == "customers":
            continue
        latest = df[present].max().max()
        if name == "usage" and pd.notna(latest):
            latest = latest + pd.offsets.MonthEnd(0)
        if pd.isna(latest):
            continue
        age = (month_end - latest.normalize()).days
        if age > freshness_days:
            out.append(failure_row(
                name, None, "stale_data", len(df), [f"latest {latest:%Y-%m-%d}"],
                f"the latest record is {age} days older than the as-of month end "
                f"(limit {freshness_days}); refresh the export", severity="warning"))
    return out


def partial_last_month(dataset: Dataset, month_end: pd.Timestamp) -> list[dict]:
    """Report a last month the data only partly covers; it is labelled, never compared."""
    latest = dataset.latest_date()
    if latest is None or latest <= month_end or latest == latest + pd.offsets.MonthEnd(0):
        return []
    return [failure_row(
        "all tables", None, "partial_last_month", 0, [f"data to {latest:%Y-%m-%d}"],
        f"{latest:%B %Y} is only partly covered, so figures stop at {month_end:%B %Y}",
        severity="info")]


def small_samples(dataset: Dataset, *, min_n: int = 30) -> list[dict]:
    """Report survey months with fewer than ``min_n`` responses (their figures are greyed)."""
    surveys = dataset.surveys
    if surveys is None or surveys.empty:
        return []
    month = surveys["date"].dt.to_period("M")
    counts = surveys.groupby([surveys["survey"], month]).size()
    small = counts[counts < min_n]
    out = []
    for survey, group in small.groupby(level=0):
        months = [f"{p}" for p in group.index.get_level_values(1)[:3]]
        out.append(failure_row(
            "surveys", "score", "small_samples", int(group.sum()), months,
            f"{len(group)} month(s) of {survey} with fewer than {min_n} responses "
            "(treat those figures as rough)", severity="info"))
    return out
