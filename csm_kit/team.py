"""The CSM scorecard: each CSM's book of business, with intervals so small books are not ranked on noise.

A CSM owns the customers whose ``customers.csm`` names them (the current owner; history is
credited to today's owner). Rates are pooled over a trailing window (12 months by default)
and carry 95% intervals; a CSM with five accounts gets a wide interval, and the table shows it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.churn import logo_churn_rate
from csm_kit.data.loading import Dataset
from csm_kit.renewals import renewal_rates
from csm_kit.revenue import customer_months, mrr_summary
from csm_kit.revenue_retention import (
    expansion_mrr,
    gross_revenue_retention,
    net_revenue_retention,
)
from csm_kit.satisfaction import csat, nps
from csm_kit.stats import wilson_interval

UNASSIGNED = "(unassigned)"


def csm_scorecard(
    dataset: Dataset,
    *,
    as_of=None,
    window_months: int = 12,
    health: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Summarise each CSM's book of business at the as-of month.

    Per CSM: accounts and MRR managed at the as-of month end; logo churn pooled over the
    window,

    .. math:: \text{churn} = \frac{\sum_m \text{churned}_m}{\sum_m \text{customers at start}_m}

    (the average monthly churn of the book, with a Wilson interval over customer-months);
    12-month NRR and GRR of the book at the as-of month; expansion MRR over the window;
    renewals due in the window (logo rate with Wilson interval, net dollar renewal); NPS and
    CSAT of the book's responses in the window with their intervals; and the health mix.

    Parameters
    ----------
    dataset : a loaded dataset with ``customers.csm`` and ``subscriptions``.
    as_of : the reporting month; ``None`` = the last complete month in the data.
    window_months : trailing months pooled for rates (including the as-of month).
    health : optional output of :func:`csm_kit.health.scores.health_scores` (customer_id, band).

    Returns
    -------
    DataFrame, one row per CSM (customers without one are "(unassigned)"), sorted by MRR:
    csm, accounts, mrr, churn_rate, churn_ci_low, churn_ci_high, nrr_12m, grr_12m,
    expansion_mrr, renewals_due, logo_renewal_rate, renewal_ci_low, renewal_ci_high,
    net_dollar_renewal, nps, nps_n, nps_ci_low, nps_ci_high, csat, csat_n, csat_ci_low,
    csat_ci_high, and red_share / yellow_share / green_share when ``health`` is given.
    Rates are fractions; NPS in points; money in the reporting currency.
    """
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of).to_period("M").start_time
    start = as_of - pd.DateOffset(months=window_months - 1)
    customers = dataset.customers.assign(csm=dataset.customers["csm"].fillna(UNASSIGNED))
    subs = dataset.subscriptions
    options = {"by": "csm", "customers": customers, "as_of": as_of}

    book = _at(mrr_summary(subs, **options), as_of)[["csm", "customers", "mrr"]]
    book = book.rename(columns={"customers": "accounts"})
    card = book.merge(_pooled_churn(subs, options, start), on="csm", how="outer")
    for name, fn in (("nrr_12m", net_revenue_retention), ("grr_12m", gross_revenue_retention)):
        rates = _at(fn(subs, window_months=12, **options), as_of)[["csm", "rate"]]
        card = card.merge(rates.rename(columns={"rate": name}), on="csm", how="left")
    expansion = _window(expansion_mrr(subs, **options), start, as_of)
    card = card.merge(expansion.groupby("csm", as_index=False)["expansion"].sum()
                      .rename(columns={"expansion": "expansion_mrr"}), on="csm", how="left")
    if dataset.renewals is not None:
        card = card.merge(_pooled_renewals(dataset.renewals, customers, start, as_of),
                          on="csm", how="left")
    if dataset.surveys is not None:
        card = card.merge(_satisfaction(dataset.surveys, customers, start, as_of,
                                        dataset.survey_settings), on="csm", how="left")
    if health is not None:
        card = card.merge(_health_mix(health, customers), on="csm", how="left")
    card[["accounts", "mrr"]] = card[["accounts", "mrr"]].fillna(0)
    return card.sort_values("mrr", ascending=False, kind="stable").reset_index(drop=True)


def _at(frame: pd.DataFrame, month: pd.Timestamp) -> pd.DataFrame:
    return frame.loc[frame["month"] == month]


def _window(frame: pd.DataFrame, start, end, column: str = "month") -> pd.DataFrame:
    return frame.loc[(frame[column] >= start) & (frame[column] <= end)]


def _pooled_churn(subs, options, start) -> pd.DataFrame:
    monthly = _window(logo_churn_rate(subs, **options), start, options["as_of"])
    pooled = monthly.groupby("csm", as_index=False)[["churned", "customers_start"]].sum()
    pooled["churn_rate"] = pooled["churned"] / pooled["customers_start"].replace(0, np.nan)
    pooled["churn_ci_low"], pooled["churn_ci_high"] = wilson_interval(
        pooled["churned"], pooled["customers_start"])
    return pooled[["csm", "churn_rate", "churn_ci_low", "churn_ci_high"]]


def _into_one_period(frame: pd.DataFrame, column: str, start, as_of) -> pd.DataFrame:
    """Keep the rows dated in the window and date them all in the as-of month, so the
    period-based metric functions pool the whole window into one figure."""
    end = as_of + pd.offsets.MonthEnd(0)
    kept = frame.loc[(frame[column] >= start) & (frame[column] <= end)].copy()
    kept[column] = as_of
    return kept


def _pooled_renewals(renewals, customers, start, as_of) -> pd.DataFrame:
    due = _into_one_period(renewals, "due_date", start, as_of)
    rates = renewal_rates(due, by="csm", customers=customers, as_of=as_of)
    rates = rates.rename(columns={"contracts_due": "renewals_due", "ci_low": "renewal_ci_low",
                                  "ci_high": "renewal_ci_high"})
    return rates[["csm", "renewals_due", "logo_renewal_rate", "renewal_ci_low",
                  "renewal_ci_high", "net_dollar_renewal"]]


def _satisfaction(surveys, customers, start, as_of, settings) -> pd.DataFrame:
    answered = _into_one_period(surveys, "date", start, as_of).drop(columns="csm", errors="ignore")
    out = None
    for name, fn, options in (("nps", nps, {}), ("csat", csat, {"settings": settings})):
        rows = fn(answered, by="csm", customers=customers, as_of=as_of, min_n=1, **options)
        rows = rows[["csm", "value", "n", "ci_low", "ci_high"]].rename(columns={
            "value": name, "n": f"{name}_n", "ci_low": f"{name}_ci_low",
            "ci_high": f"{name}_ci_high"})
        out = rows if out is None else out.merge(rows, on="csm", how="outer")
    return out


def _health_mix(health: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    banded = health[["customer_id", "band"]].merge(customers[["customer_id", "csm"]],
                                                   on="customer_id", how="left")
    banded["csm"] = banded["csm"].fillna(UNASSIGNED)
    mix = pd.crosstab(banded["csm"], banded["band"], normalize="index")
    mix = mix.reindex(columns=["red", "yellow", "green"], fill_value=0.0)
    mix.columns = [f"{band}_share" for band in mix.columns]
    return mix.reset_index()


def at_risk_accounts(
    scores: pd.DataFrame, dataset: Dataset, *, as_of=None, band: str = "red", top: int = 20
) -> pd.DataFrame:
    """List the largest accounts (by MRR at the as-of month end) in one health band.

    Parameters
    ----------
    scores : output of :func:`csm_kit.health.scores.health_scores`.
    dataset : the dataset the scores came from (for names, CSMs and MRR).
    band : which band to list ('red' by default).
    top : how many accounts.

    Returns
    -------
    DataFrame: customer_id, name, segment, csm, mrr, score, change (points since last
    month), weakest_component — sorted by MRR, largest first.
    """
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of).to_period("M").start_time
    mrr = customer_mrr(dataset.subscriptions, as_of=as_of)
    listed = scores.loc[scores["band"] == band, ["customer_id", "score", "change", "weakest_component"]]
    extra = [c for c in ("name", "segment", "csm") if c in dataset.customers.columns]
    listed = listed.merge(dataset.customers[["customer_id", *extra]], on="customer_id", how="left")
    listed = listed.merge(mrr, on="customer_id", how="left")
    listed["mrr"] = listed["mrr"].fillna(0.0)
    columns = ["customer_id", *extra, "mrr", "score", "change", "weakest_component"]
    return listed.sort_values("mrr", ascending=False, kind="stable").head(top)[columns].reset_index(drop=True)


def arr_by_band(scores: pd.DataFrame, dataset: Dataset, *, as_of=None) -> pd.DataFrame:
    """Customers and ARR in each health band at the as-of month end: where the money at risk is.

    ARR = 12 × month-end MRR, summed over the band's customers; a scored customer with no MRR
    that month counts with 0. The red row's ``arr`` is the ``arr_at_risk`` KPI.

    Parameters
    ----------
    scores : output of :func:`csm_kit.health.scores.health_scores` (unscored rows are left out).
    dataset : the dataset the scores came from (for MRR).
    as_of : the month of the scores (default: the dataset's last complete month).

    Returns
    -------
    DataFrame: band (red, yellow, green), customers, arr, arr_share (of the scored customers'
    ARR) — one row per band, in that order, zeros for an empty band.

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": ["a", "b", "c"], "start_date": pd.to_datetime(["2024-01-01"] * 3),
    ...                      "end_date": pd.NaT, "mrr": [1000.0, 250.0, 2000.0]})
    >>> ds = Dataset(customers=pd.DataFrame({"customer_id": ["a", "b", "c"]}), subscriptions=subs)
    >>> scores = pd.DataFrame({"customer_id": ["a", "b", "c"], "band": ["red", "red", "yellow"]})
    >>> arr_by_band(scores, ds, as_of="2024-03-31")[["band", "customers", "arr"]].to_dict("list")
    {'band': ['red', 'yellow', 'green'], 'customers': [2, 1, 0], 'arr': [15000.0, 24000.0, 0.0]}
    """
    as_of = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of).to_period("M").start_time
    mrr = customer_mrr(dataset.subscriptions, as_of=as_of)
    scored = scores.dropna(subset=["band"])[["customer_id", "band"]].merge(
        mrr, on="customer_id", how="left")
    scored["arr"] = 12 * scored["mrr"].fillna(0.0)
    bands = (scored.groupby("band").agg(customers=("customer_id", "size"), arr=("arr", "sum"))
             .reindex(["red", "yellow", "green"], fill_value=0).rename_axis("band").reset_index())
    bands["customers"] = bands["customers"].astype(int)
    bands["arr"] = bands["arr"].astype(float)
    total = bands["arr"].sum()
    bands["arr_share"] = bands["arr"] / total if total > 0 else np.nan
    return bands


def customer_mrr(subscriptions: pd.DataFrame, *, as_of) -> pd.DataFrame:
    """MRR of each customer at the end of the as-of month: customer_id, mrr (active customers only)."""
    months = customer_months(subscriptions, as_of=as_of)
    return months.loc[months["month"] == as_of, ["customer_id", "mrr"]].reset_index(drop=True)
