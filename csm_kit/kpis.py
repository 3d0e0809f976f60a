"""The KPI export: every headline metric the data supports, as one long table.

``kpi_table(dataset)`` returns ``metric, period, group, value, n, ci_low, ci_high`` so BI
tools and spreadsheets can take every figure without Python (``csm-kit metrics``). Metric
names are snake_case and stable; :data:`KPIS` lists each with the table it needs, its unit
and the function that computes it. A metric whose table is absent is simply not in the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.adoption import adoption_rate, key_feature_adoption
from csm_kit.churn import logo_churn_rate, logo_retention_rate
from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.scores import health_scores
from csm_kit.ltv import lifetime_value
from csm_kit.purchases import (
    average_customer_value,
    average_order_value,
    purchase_frequency,
    repeat_purchase_rate,
)
from csm_kit.renewals import referral_rate, renewal_rates, trial_conversion
from csm_kit.revenue import mrr_summary
from csm_kit.revenue_retention import (
    gross_mrr_churn,
    gross_revenue_retention,
    net_mrr_churn,
    net_revenue_retention,
    quick_ratio,
)
from csm_kit.satisfaction import ces, csat, nps
from csm_kit.stats import wilson_interval
from csm_kit.support import first_contact_resolution, time_to_close
from csm_kit.survey_trends import nps_changes

KPI_COLUMNS = ["metric", "period", "group", "value", "n", "ci_low", "ci_high"]
GROUPABLE = ("segment", "csm", "plan", "region", "industry")


@dataclass(frozen=True)
class Kpi:
    """One exported metric: where its numbers come from and what they mean."""

    metric: str
    label: str
    unit: str  # "share", "money", "ratio", "points", "score", "count", "hours"
    tables: tuple[str, ...]
    compute: Callable[..., pd.DataFrame]
    value: str
    n: str | None = None
    ci: bool = False
    groupable: bool = True


def _subs(fn, **options):
    def compute(ds: Dataset, *, as_of, by, **_):
        return fn(ds.subscriptions, by=by, customers=ds.customers if by else None,
                  as_of=as_of, **options)
    return compute


def _with_customers(table: str, fn, **options):
    def compute(ds: Dataset, *, as_of, by, **_):
        return fn(getattr(ds, table), by=by, customers=ds.customers if by else None,
                  as_of=as_of, **options)
    return compute


def _surveys(fn):
    """A satisfaction metric read with the dataset's survey settings (scales, CES direction)."""
    def compute(ds: Dataset, *, as_of, by, **_):
        return fn(ds.surveys, by=by, customers=ds.customers if by else None, as_of=as_of,
                  settings=ds.survey_settings)
    return compute


def _plain(table: str, fn, **options):
    def compute(ds: Dataset, *, as_of, by, **_):
        frame = fn(getattr(ds, table), **options)
        return _until(frame, as_of)
    return compute


def _ltv(ds: Dataset, *, as_of, by, **_):
    # Months with zero churn (early history) have no finite LTV: NaN, as documented in ltv.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="churn is 0")
        return lifetime_value(ds.subscriptions, method="smoothed", as_of=as_of)


def _referrals(ds: Dataset, *, as_of, by, **_):
    return referral_rate(ds.referrals, ds.subscriptions, as_of=as_of)


def _health(ds: Dataset, *, as_of, by, health=None, **_):
    """Share of scored customers in the red health band at the as-of month end (one period).

    ``health`` is the scores already computed at that day, when the caller has them.
    """
    if health is None:
        health = health_scores(ds, as_of=as_of + pd.offsets.MonthEnd(0))
    scores = health.dropna(subset=["band"])
    if by is not None:
        scores = scores.drop(columns=by, errors="ignore").merge(
            ds.customers[["customer_id", by]], on="customer_id", how="left")
    keys = [by] if by else []
    scores = scores.assign(red=scores["band"].eq("red"))
    grouped = (scores.groupby(keys, dropna=False)["red"].agg(["size", "sum"]).reset_index()
               if keys else pd.DataFrame({"size": [len(scores)], "sum": [scores["red"].sum()]}))
    grouped = grouped.rename(columns={"size": "customers", "sum": "red"})
    grouped["share"] = grouped["red"] / grouped["customers"].replace(0, np.nan)
    grouped["ci_low"], grouped["ci_high"] = wilson_interval(grouped["red"], grouped["customers"])
    return grouped.assign(month=as_of)


def _trials(ds: Dataset, *, as_of, by, **_):
    return trial_conversion(ds.trials, as_of=as_of)


S, T = ("subscriptions",), ("transactions",)
_MRR = _subs(mrr_summary)  # shared by four KPIs: computed once per table call
_RENEWALS = _with_customers("renewals", renewal_rates)  # shared by three
_CES = _surveys(ces)  # shared by two
KPIS: list[Kpi] = [
    Kpi("mrr", "MRR", "money", S, _MRR, "mrr", "customers"),
    Kpi("arr", "ARR", "money", S, _MRR, "arr", "customers"),
    Kpi("active_customers", "Active customers", "count", S, _MRR,
        "customers"),
    Kpi("arpa", "ARPA", "money", S, _MRR, "arpa", "customers"),
    Kpi("logo_churn_rate", "Logo churn (monthly)", "share", S, _subs(logo_churn_rate),
        "rate", "customers_start", ci=True),
    Kpi("logo_retention_rate", "Logo retention (monthly)", "share", S,
        _subs(logo_retention_rate), "rate", "customers_start", ci=True),
    Kpi("logo_retention_rate_3m", "Logo retention (3 months)", "share", S,
        _subs(logo_retention_rate, window_months=3), "rate", "customers_start", ci=True),
    Kpi("logo_retention_rate_12m", "Logo retention (12 months)", "share", S,
        _subs(logo_retention_rate, window_months=12), "rate", "customers_start", ci=True),
    Kpi("net_revenue_retention", "NRR (12 months)", "share", S,
        _subs(net_revenue_retention, window_months=12), "rate", "customers"),
    Kpi("gross_revenue_retention", "GRR (12 months)", "share", S,
        _subs(gross_revenue_retention, window_months=12), "rate", "customers"),
    Kpi("net_mrr_churn", "Net MRR churn", "share", S, _subs(net_mrr_churn),
        "rate"),
    Kpi("gross_mrr_churn", "Gross MRR churn", "share", S,
        _subs(gross_mrr_churn), "rate"),
    Kpi("quick_ratio", "Quick ratio", "ratio", S, _subs(quick_ratio), "rate"),
    Kpi("ltv", "LTV (smoothed)", "money", S, _ltv, "ltv", groupable=False),
    Kpi("repeat_purchase_rate", "Repeat purchase rate", "share", T,
        _plain("transactions", repeat_purchase_rate), "rate", "customers", ci=True,
        groupable=False),
    Kpi("purchase_frequency", "Purchase frequency", "ratio", T,
        _plain("transactions", purchase_frequency), "value", "customers",
        groupable=False),
    Kpi("average_order_value", "Average order value", "money", T,
        _plain("transactions", average_order_value), "value", "orders",
        groupable=False),
    Kpi("average_customer_value", "Average customer value (per buying customer)", "money", T,
        _plain("transactions", average_customer_value), "value", "customers",
        groupable=False),
    Kpi("nps", "NPS", "points", ("surveys",), _with_customers("surveys", nps),
        "value", "n", ci=True),
    Kpi("nps_change", "NPS change vs the month before", "points", ("surveys",),
        _with_customers("surveys", nps_changes), "value", "n", ci=True),
    Kpi("csat", "CSAT (share satisfied)", "share", ("surveys",), _surveys(csat), "value", "n",
        ci=True),
    Kpi("ces", "CES (mean)", "score", ("surveys",), _CES, "value", "n", ci=True),
    Kpi("ces_low_effort_share", "CES low-effort share", "share", ("surveys",), _CES,
        "low_effort_share", "n"),
    Kpi("first_contact_resolution_rate", "First contact resolution", "share", ("tickets",),
        _with_customers("tickets", first_contact_resolution), "value", "resolved",
        ci=True),
    Kpi("median_hours_to_close", "Median hours to close", "hours", ("tickets",),
        _with_customers("tickets", time_to_close), "median", "closed"),
    Kpi("logo_renewal_rate", "Logo renewal rate", "share", ("renewals",),
        _RENEWALS, "logo_renewal_rate",
        "contracts_due", ci=True),
    Kpi("gross_dollar_renewal", "Gross dollar renewal", "share", ("renewals",),
        _RENEWALS, "gross_dollar_renewal",
        "contracts_due"),
    Kpi("net_dollar_renewal", "Net dollar renewal", "share", ("renewals",),
        _RENEWALS, "net_dollar_renewal",
        "contracts_due"),
    Kpi("trial_conversion_rate", "Trial conversion", "share", ("trials",), _trials, "rate",
        "trials", ci=True, groupable=False),
    Kpi("referral_rate", "Referral rate", "share", ("referrals", "subscriptions"), _referrals,
        "rate", "active_customers", groupable=False),
    Kpi("adoption_rate", "Customers above 50% seat adoption", "share", ("usage",),
        _with_customers("usage", adoption_rate), "share", "customers"),
    Kpi("key_feature_adoption", "Active users on the key feature", "share", ("usage",),
        _with_customers("usage", key_feature_adoption), "user_share", "customers", ci=True),
    Kpi("red_health_share", "Customers in the red health band", "share", S, _health, "share",
        "customers", ci=True),
]
KPI_BY_NAME = {k.metric: k for k in KPIS}


def kpi_table(
    dataset: Dataset,
    *,
    as_of=None,
    by: str | None = None,
    metrics: list[str] | None = None,
    health: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compute every headline metric the dataset supports as one long table.

    Parameters
    ----------
    dataset : a loaded dataset.
    as_of : last month to include (``None`` = the dataset's last complete month).
    by : also break the metrics that support it down by this customers column
        (segment, csm, plan, region or industry); company-wide rows are always included.
    metrics : restrict to these metric names (default: all of :data:`KPIS`).
    health : health scores already computed for this dataset at the last day of the ``as_of``
        month (``health_scores(dataset, as_of=<that day>)``); ``red_health_share`` uses them
        instead of computing them again. Default: computed here.

    Returns
    -------
    DataFrame with metric, period ('YYYY-MM', or 'YYYY-MM-DD' for a period start), group
    (the ``by`` value, empty for company-wide rows), value (in the metric's unit: shares as
    fractions, money in the reporting currency, NPS in points), n (the count behind the
    value, where there is one), ci_low and ci_high (95% interval, where there is one).
    """
    if by is not None and by not in GROUPABLE:
        raise ConfigError(f"`by` must be one of {list(GROUPABLE)}, got {by!r}")
    if by is not None and by not in dataset.customers.columns:
        raise ConfigError(f"customers has no {by!r} column to break the metrics down by")
    chosen = _chosen(metrics)
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of)
    cache: dict = {}
    parts = []
    for kpi in chosen:
        if not all(getattr(dataset, t) is not None and len(getattr(dataset, t)) for t in kpi.tables):
            continue
        parts.append(_long(kpi, _computed(kpi, dataset, as_of, None, cache, health), None))
        if by is not None and kpi.groupable:
            parts.append(_long(kpi, _computed(kpi, dataset, as_of, by, cache, health), by))
    if not parts:
        return pd.DataFrame(columns=KPI_COLUMNS)
    return pd.concat(parts, ignore_index=True)[KPI_COLUMNS]


def _chosen(metrics):
    if metrics is None:
        return KPIS
    unknown = [m for m in metrics if m not in KPI_BY_NAME]
    if unknown:
        raise ConfigError(f"metrics must be among {list(KPI_BY_NAME)}, got {unknown}")
    return [KPI_BY_NAME[m] for m in metrics]


def _computed(kpi: Kpi, dataset, as_of, by, cache, health) -> pd.DataFrame:
    """Call the metric's function once per (function, by) — several KPIs share a frame."""
    key = (kpi.compute, by)
    if key not in cache:
        cache[key] = kpi.compute(dataset, as_of=as_of, by=by, health=health)
    return cache[key]


def _long(kpi: Kpi, frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    time = "month" if "month" in frame.columns else "period"
    out = pd.DataFrame({
        "metric": kpi.metric,
        "period": _period_text(frame[time]),
        "group": frame[by].astype("str") if by else None,
        "value": frame[kpi.value].astype("float64"),
        "n": frame[kpi.n].astype("float64") if kpi.n else np.nan,
        "ci_low": frame["ci_low"].astype("float64") if kpi.ci else np.nan,
        "ci_high": frame["ci_high"].astype("float64") if kpi.ci else np.nan,
    })
    return out


def _period_text(periods: pd.Series) -> pd.Series:
    return pd.to_datetime(periods).dt.strftime("%Y-%m")


def _until(frame: pd.DataFrame, as_of) -> pd.DataFrame:
    time = "month" if "month" in frame.columns else "period"
    if as_of is None:
        return frame
    return frame.loc[frame[time] <= pd.Timestamp(as_of)]


def headline(kpis: pd.DataFrame, *, targets: dict | None = None) -> pd.DataFrame:
    """Return the latest company-wide value of each metric with its target status, ready to show.

    Columns: metric, label, value, value_display, target_display, status, trailing_median,
    vs_history. Values are formatted in each metric's unit (shares as %, money with
    thousands separators, NPS as a whole number).
    """
    from csm_kit.targets import target_status

    status = target_status(kpis, targets=targets)
    status["label"] = status["metric"].map(lambda m: KPI_BY_NAME[m].label if m in KPI_BY_NAME else m)
    units = status["metric"].map(lambda m: KPI_BY_NAME[m].unit if m in KPI_BY_NAME else "ratio")
    status["value_display"] = [format_value(v, u) for v, u in zip(status["value"], units, strict=True)]
    status["target_display"] = [
        "" if pd.isna(t) else ("≤ " if d == "lower_is_better" else "≥ ") + format_value(t, u)
        for t, d, u in zip(status["target"], status["direction"], units, strict=True)]
    order = {k.metric: i for i, k in enumerate(KPIS)}
    status = status.sort_values("metric", key=lambda s: s.map(order).fillna(len(order)))
    return status.reset_index(drop=True)


def format_value(value: float, unit: str) -> str:
    """Format a number in a metric's unit.

    >>> format_value(0.0312, "share"), format_value(123456.7, "money"), format_value(31.6, "points")
    ('3.1%', '123,457', '32')
    """
    if pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit in ("money", "count"):
        return f"{value:,.0f}"
    if unit == "points":
        return f"{value:.0f}"
    return f"{value:,.2f}"
