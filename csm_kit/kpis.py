"""The KPI export: every headline metric the data supports, as one long table.

``kpi_table(dataset)`` returns ``metric, period, group, value, n, ci_low, ci_high`` so BI
tools and spreadsheets can take every figure without Python (``csm-kit metrics``). Metric
names are snake_case and stable; :data:`KPIS` lists each with the table it needs, its unit
and the function that computes it. A metric whose table (or optional column) is absent is
simply not in the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from functools import partial

import numpy as np
import pandas as pd

from csm_kit.adoption import adoption_rate, key_feature_adoption
from csm_kit.churn import logo_churn_rate, logo_retention_rate
from csm_kit.data.loading import Dataset
from csm_kit.definitions import ltv_method
from csm_kit.errors import ConfigError
from csm_kit.formatting import UNITS, format_value  # noqa: F401  (format_value: kept importable here)
from csm_kit.health.scores import health_scores
from csm_kit.ltv import lifetime_value
from csm_kit.periods import warn_only_incomplete_month
from csm_kit.purchases import (
    average_customer_value,
    average_order_value,
    purchase_frequency,
    repeat_purchase_rate,
)
from csm_kit.renewals import referral_rate, renewal_rates, trial_conversion
from csm_kit.revenue import customer_months, mrr_summary
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


#: Which way is good: the comparison with history and with a target turns on it.
DIRECTIONS = ("higher_is_better", "lower_is_better")
#: The groups of the full KPI table on the index page, in reading order.
AREAS = ("revenue", "retention", "satisfaction", "support", "renewals", "health", "purchases",
         "growth")
#: Fewest survey answers or tickets behind a figure that gets a verdict: the kit's
#: small-sample threshold (below it satisfaction charts grey the point).
SMALL_SAMPLE = 30


@dataclass(frozen=True)
class Kpi:
    """One exported metric: where its numbers come from, what they mean, and how to judge them.

    ``direction``, ``area`` are keyword-only and required, so a KPI added without saying
    which way is good cannot be constructed. ``min_n`` is the fewest answers (``n``) behind a
    figure that gets a met/missed or better/worse verdict; ``n_noun`` says what n counts.
    """

    metric: str
    label: str
    unit: str  # "share", "money", "ratio", "points", "score", "count", "hours"
    tables: tuple[str, ...]
    compute: Callable[..., pd.DataFrame]
    value: str
    n: str | None = None
    ci: bool = False
    groupable: bool = True
    _: KW_ONLY
    direction: str
    area: str
    min_n: int = 0
    n_noun: str = "customers"
    #: "table.column" entries the metric needs besides its tables (optional columns of the
    #: contract); a dataset without one of them has no row for the metric.
    columns: tuple[str, ...] = ()

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"KPI {self.metric!r}: `direction` must be one of "
                              f"{list(DIRECTIONS)}, got {self.direction!r}")
        if self.area not in AREAS:
            raise ConfigError(f"KPI {self.metric!r}: `area` must be one of {list(AREAS)}, "
                              f"got {self.area!r}")
        if self.unit not in UNITS:
            raise ConfigError(f"KPI {self.metric!r}: `unit` must be one of {list(UNITS)}, "
                              f"got {self.unit!r}")


# The registry binds these with functools.partial (not closures made by a factory), so each
# KPI's wiring is a plain function call at computation time: what a test, or a mutation run,
# can see.
def _on_table(table: str, fn, ds: Dataset, *, as_of, by, health=None, **options):
    """``fn`` over one table, by group (the customers table joined for ``by``)."""
    return fn(getattr(ds, table), by=by, customers=ds.customers if by else None, as_of=as_of,
              **options)


def _on_surveys(fn, ds: Dataset, *, as_of, by, health=None):
    """A satisfaction metric read with the dataset's survey settings (scales, CES direction)."""
    return fn(ds.surveys, by=by, customers=ds.customers if by else None, as_of=as_of,
              settings=ds.survey_settings)


def _whole_table(table: str, fn, ds: Dataset, *, as_of, by, health=None):
    """``fn`` over one table as a whole (no groups), its periods cut at ``as_of``."""
    return _until(fn(getattr(ds, table)), as_of)


def _ltv(ds: Dataset, *, as_of, by, **_):
    # Months with zero churn (early history) have no finite LTV: NaN, as documented in ltv.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="churn is 0")
        # The smoothed method, unless a definitions preset (metrics --definitions) sets another.
        return lifetime_value(ds.subscriptions, method=ltv_method("smoothed"), as_of=as_of)


def _referrals(ds: Dataset, *, as_of, by, **_):
    return referral_rate(ds.referrals, ds.subscriptions, as_of=as_of)


def _health(ds: Dataset, *, as_of, by, health=None, **_):
    """Customers in the red health band at the as-of month end (one period): their share of
    scored customers, and their ARR (12 × month-end MRR) — the ARR at risk.

    ``health`` is the scores already computed at that day, when the caller has them.
    """
    if health is None:
        health = health_scores(ds, as_of=as_of + pd.offsets.MonthEnd(0))
    scores = health.dropna(subset=["band"])
    if by is not None:
        scores = scores.drop(columns=by, errors="ignore").merge(
            ds.customers[["customer_id", by]], on="customer_id", how="left")
    months = customer_months(ds.subscriptions, as_of=as_of)
    month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    mrr = months.loc[months["month"] == month, ["customer_id", "mrr"]]
    scores = scores.merge(mrr, on="customer_id", how="left")
    red = scores["band"].eq("red")
    scores = scores.assign(red=red, red_arr=12 * scores["mrr"].fillna(0.0).where(red, 0.0))
    sums = {"customers": ("red", "size"), "red": ("red", "sum"), "arr_at_risk": ("red_arr", "sum")}
    grouped = (scores.groupby(by, dropna=False).agg(**sums).reset_index() if by
               else scores.assign(_all=0).groupby("_all").agg(**sums).reset_index(drop=True))
    grouped["share"] = grouped["red"] / grouped["customers"].replace(0, np.nan)
    grouped["ci_low"], grouped["ci_high"] = wilson_interval(grouped["red"], grouped["customers"])
    return grouped.assign(month=as_of)


def _trials(ds: Dataset, *, as_of, by, **_):
    return trial_conversion(ds.trials, as_of=as_of)


S, T = ("subscriptions",), ("transactions",)
_SUBS = "subscriptions"
_MRR = partial(_on_table, _SUBS, mrr_summary)  # shared by four KPIs: computed once a table
_RENEWALS = partial(_on_table, "renewals", renewal_rates)  # shared by three
_SURVEYS = {"min_n": SMALL_SAMPLE, "n_noun": "responses", "area": "satisfaction"}
_TICKETS = {"min_n": SMALL_SAMPLE, "n_noun": "tickets", "area": "support"}
_UP, _DOWN = "higher_is_better", "lower_is_better"
_CES = partial(_on_surveys, ces)  # shared by two
KPIS: list[Kpi] = [
    Kpi("mrr", "MRR", "money", S, _MRR, "mrr", "customers", direction=_UP, area="revenue"),
    Kpi("arr", "ARR", "money", S, _MRR, "arr", "customers", direction=_UP, area="revenue"),
    Kpi("active_customers", "Active customers", "count", S, _MRR,
        "customers", direction=_UP, area="revenue"),
    Kpi("arpa", "ARPA", "money", S, _MRR, "arpa", "customers", direction=_UP, area="revenue"),
    Kpi("logo_churn_rate", "Logo churn (monthly)", "share", S,
        partial(_on_table, _SUBS, logo_churn_rate), "rate", "customers_start", ci=True,
        direction=_DOWN, area="retention"),
    Kpi("logo_retention_rate", "Logo retention (monthly)", "share", S,
        partial(_on_table, _SUBS, logo_retention_rate), "rate", "customers_start", ci=True,
        direction=_UP, area="retention"),
    Kpi("logo_retention_rate_3m", "Logo retention (3 months)", "share", S,
        partial(_on_table, _SUBS, logo_retention_rate, window_months=3), "rate",
        "customers_start", ci=True, direction=_UP, area="retention"),
    Kpi("logo_retention_rate_12m", "Logo retention (12 months)", "share", S,
        partial(_on_table, _SUBS, logo_retention_rate, window_months=12), "rate",
        "customers_start", ci=True, direction=_UP, area="retention"),
    Kpi("net_revenue_retention", "NRR (12 months)", "share", S,
        partial(_on_table, _SUBS, net_revenue_retention, window_months=12), "rate", "customers",
        direction=_UP, area="retention"),
    Kpi("gross_revenue_retention", "GRR (12 months)", "share", S,
        partial(_on_table, _SUBS, gross_revenue_retention, window_months=12), "rate", "customers",
        direction=_UP, area="retention"),
    Kpi("net_mrr_churn", "Net MRR churn", "share", S, partial(_on_table, _SUBS, net_mrr_churn),
        "rate", direction=_DOWN, area="retention"),
    Kpi("gross_mrr_churn", "Gross MRR churn", "share", S,
        partial(_on_table, _SUBS, gross_mrr_churn), "rate", direction=_DOWN, area="retention"),
    Kpi("quick_ratio", "Quick ratio", "ratio", S, partial(_on_table, _SUBS, quick_ratio), "rate",
        direction=_UP, area="revenue"),
    Kpi("ltv", "LTV (smoothed)", "money", S, _ltv, "ltv", groupable=False,
        direction=_UP, area="revenue"),
    Kpi("repeat_purchase_rate", "Repeat purchase rate", "share", T,
        partial(_whole_table, "transactions", repeat_purchase_rate), "rate", "customers", ci=True,
        groupable=False, direction=_UP, area="purchases"),
    Kpi("purchase_frequency", "Purchase frequency", "ratio", T,
        partial(_whole_table, "transactions", purchase_frequency), "value", "customers",
        groupable=False, direction=_UP, area="purchases"),
    Kpi("average_order_value", "Average order value", "money", T,
        partial(_whole_table, "transactions", average_order_value), "value", "orders",
        groupable=False, direction=_UP, area="purchases", n_noun="orders"),
    Kpi("average_customer_value", "Average customer value (per buying customer)", "money", T,
        partial(_whole_table, "transactions", average_customer_value), "value", "customers",
        groupable=False, direction=_UP, area="purchases"),
    Kpi("nps", "NPS", "points", ("surveys",), partial(_on_table, "surveys", nps),
        "value", "n", ci=True, direction=_UP, **_SURVEYS),
    Kpi("nps_change", "NPS change vs the month before", "points", ("surveys",),
        partial(_on_table, "surveys", nps_changes), "value", "n", ci=True,
        direction=_UP, **_SURVEYS),
    Kpi("csat", "CSAT (share satisfied)", "share", ("surveys",), partial(_on_surveys, csat),
        "value", "n", ci=True, direction=_UP, **_SURVEYS),
    # CES: 1 = least effort by default, so lower is better; a dataset whose CES scale runs the
    # other way says so (its survey settings), and kpi_directions() turns this around.
    Kpi("ces", "CES (mean)", "score", ("surveys",), _CES, "value", "n", ci=True,
        direction=_DOWN, **_SURVEYS),
    Kpi("ces_low_effort_share", "CES low-effort share", "share", ("surveys",), _CES,
        "low_effort_share", "n", direction=_UP, **_SURVEYS),
    Kpi("first_contact_resolution_rate", "First contact resolution", "share", ("tickets",),
        partial(_on_table, "tickets", first_contact_resolution), "value", "resolved",
        ci=True, direction=_UP, **_TICKETS),
    Kpi("median_hours_to_close", "Median hours to close", "hours", ("tickets",),
        partial(_on_table, "tickets", time_to_close), "median", "closed",
        direction=_DOWN, **_TICKETS),
    Kpi("logo_renewal_rate", "Logo renewal rate", "share", ("renewals",),
        _RENEWALS, "logo_renewal_rate", "contracts_due", ci=True,
        direction=_UP, area="renewals", n_noun="contracts due"),
    Kpi("gross_dollar_renewal", "Gross dollar renewal", "share", ("renewals",),
        _RENEWALS, "gross_dollar_renewal", "contracts_due",
        direction=_UP, area="renewals", n_noun="contracts due"),
    Kpi("net_dollar_renewal", "Net dollar renewal", "share", ("renewals",),
        _RENEWALS, "net_dollar_renewal", "contracts_due",
        direction=_UP, area="renewals", n_noun="contracts due"),
    Kpi("trial_conversion_rate", "Trial conversion", "share", ("trials",), _trials, "rate",
        "trials", ci=True, groupable=False, direction=_UP, area="growth", n_noun="trials"),
    Kpi("referral_rate", "Referral rate", "share", ("referrals", "subscriptions"), _referrals,
        "rate", "active_customers", groupable=False, direction=_UP, area="growth"),
    Kpi("adoption_rate", "Customers above 50% seat adoption", "share", ("usage",),
        partial(_on_table, "usage", adoption_rate), "share", "customers",
        direction=_UP, area="health"),
    Kpi("key_feature_adoption", "Active users on the key feature", "share", ("usage",),
        partial(_on_table, "usage", key_feature_adoption), "user_share", "customers", ci=True,
        direction=_UP, area="health", columns=("usage.key_feature_users",)),
    Kpi("red_health_share", "Customers in the red health band", "share", S, _health, "share",
        "customers", ci=True, direction=_DOWN, area="health"),
    Kpi("arr_at_risk", "ARR at risk (red health band)", "money", S, _health, "arr_at_risk",
        "red", direction=_DOWN, area="health"),
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
    as_of : last month to include (``None`` = the dataset's last complete month; a warning
        naming the month to pass when that leaves the table empty).
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
    defaulted = as_of is None
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of)
    cache: dict = {}
    parts = []
    for kpi in chosen:
        if not _supported(kpi, dataset):
            continue
        parts.append(_long(kpi, _computed(kpi, dataset, as_of, None, cache, health), None))
        if by is not None and kpi.groupable:
            parts.append(_long(kpi, _computed(kpi, dataset, as_of, by, cache, health), by))
    table = (pd.concat(parts, ignore_index=True)[KPI_COLUMNS] if parts
             else pd.DataFrame(columns=KPI_COLUMNS))
    if defaulted and table.empty and as_of is not None and parts:
        warn_only_incomplete_month("date of the data", dataset.latest_date(), as_of)
    return table


def _supported(kpi: Kpi, dataset: Dataset) -> bool:
    """Whether the dataset has the KPI's tables (with rows) and the optional columns it needs
    (with at least one value)."""
    if not all(getattr(dataset, t) is not None and len(getattr(dataset, t)) for t in kpi.tables):
        return False
    for needed in kpi.columns:
        table, column = needed.split(".")
        frame = getattr(dataset, table)
        if frame is None or column not in frame.columns or frame[column].isna().all():
            return False
    return True


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
    """The rows whose ``period`` (a timestamp) is on or before ``as_of`` (None: every row)."""
    if as_of is None:
        return frame
    return frame.loc[frame["period"] <= pd.Timestamp(as_of)]


def kpi_directions(*, ces_low_effort_is: str = "low") -> dict[str, str]:
    """Which way is good for each KPI: the registry's ``direction``, with CES turned around
    when the survey's scale puts little effort at the high end.

    ``ces_low_effort_is`` is the dataset's CES setting ("low": 1 = least effort, the
    default; "high": 7 = least effort). This is the one place the CES direction is decided.

    >>> kpi_directions()["ces"], kpi_directions(ces_low_effort_is="high")["ces"]
    ('lower_is_better', 'higher_is_better')
    """
    if ces_low_effort_is not in ("low", "high"):
        raise ConfigError(f"`ces_low_effort_is` must be one of ['high', 'low'], got "
                          f"{ces_low_effort_is!r}")
    directions = {k.metric: k.direction for k in KPIS}
    if ces_low_effort_is == "high":
        directions["ces"] = "higher_is_better"
    return directions


def kpi_rules(directions: dict[str, str] | None = None) -> dict[str, dict]:
    """How :func:`csm_kit.targets.target_status` judges each KPI: direction, min_n, n_noun."""
    directions = kpi_directions() if directions is None else directions
    return {k.metric: {"direction": directions.get(k.metric, k.direction), "min_n": k.min_n,
                       "n_noun": k.n_noun} for k in KPIS}


def history_start(dataset: Dataset) -> pd.Timestamp | None:
    """The first month of the data's real subscription history: the month of its first
    subscription end (None when no subscription has ended).

    An export that starts in 2023 but holds subscriptions started in 2019 only has the
    customers who survived to 2023: before the first end it can show, churn is 0 and MRR
    grows by construction, not because nobody left.

    >>> subs = pd.DataFrame({"end_date": pd.to_datetime([None, "2023-11-02", "2024-05-01"])})
    >>> history_start(Dataset(customers=pd.DataFrame(), subscriptions=subs))
    Timestamp('2023-11-01 00:00:00')
    """
    subs = dataset.subscriptions
    if subs is None or "end_date" not in subs.columns or subs["end_date"].isna().all():
        return None
    return pd.Timestamp(subs["end_date"].min()).to_period("M").to_timestamp()


def within_history(kpis: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """Drop the rows of subscription metrics from months before :func:`history_start`."""
    start = history_start(dataset)
    if start is None or kpis.empty:
        return kpis
    from_subscriptions = kpis["metric"].map(
        lambda m: "subscriptions" in KPI_BY_NAME[m].tables if m in KPI_BY_NAME else False)
    early = from_subscriptions & (kpis["period"].str[:7] < f"{start:%Y-%m}")
    return kpis.loc[~early].reset_index(drop=True)
