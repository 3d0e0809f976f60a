"""Churn by NPS category: do detractors leave more often than promoters?

This links survey answers to what customers did next. Take the customers active at the end
of a snapshot month, put each in the NPS category of its latest answer (promoter 9–10,
passive 7–8, detractor 0–6, the categories of :mod:`csm_kit.satisfaction`), and count, per
category, the share that is no longer active at the end of at least one of the following
months.

Who counts: customers active (MRR > 0) at the end of the snapshot month with at least one
scored NPS answer dated on or before the end of that month. An answer of any age counts;
customers who never answered, or answered only later, are left out, and so are customers
who start after the snapshot. A customer who churns and comes back within the horizon
counts as churned. Same-day answers: the latest answer is the one with the latest date (and
time, when the export has one); of two with the same date, the one further down the surveys
table counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.periods import month_index, month_start_from_index, parse_as_of
from csm_kit.revenue import customer_months
from csm_kit.satisfaction import NPS_CATEGORIES, PASSIVE_MIN, PROMOTER_MIN
from csm_kit.stats import wilson_interval


def churn_by_nps_category(surveys: pd.DataFrame, subscriptions: pd.DataFrame, *,
                          horizon_months: int = 3, at=None, as_of=None) -> pd.DataFrame:
    r"""Do detractors churn more? Churn in the following months by each customer's NPS category.

    Take the customers active at the end of month ``at``, class each by its latest NPS
    response on or before that day, and count those no longer active at the end of any of the
    next ``horizon_months`` months:

    .. math:: \text{rate}_k = \frac{\#\{c \in k : c \text{ inactive at some month end in }
              (at, at + h]\}}{\#\{c \in k\}}

    Parameters
    ----------
    surveys : survey responses; only ``survey == "nps"`` rows are read.
    subscriptions : subscriptions, for who is active at each month end
        (:func:`csm_kit.revenue.customer_months`).
    horizon_months : h, the number of following month ends watched for churn.
    at : the snapshot month (default: ``horizon_months`` before as_of, the latest month whose
        horizon is fully observed).
    as_of : last month of subscription data used (default: last complete month, as in
        customer_months).

    Returns
    -------
    DataFrame with one row per category in the order promoter, passive, detractor: month (the
    snapshot, first day), category, customers (active at the snapshot with an NPS response),
    churned_within_horizon, rate (0–1, NaN without customers), ci_low, ci_high (95% Wilson).

    Notes
    -----
    Customers active at the snapshot who never answered NPS are left out. A response of any
    age counts; of two on the latest day the later row wins. A customer who churns and comes
    back inside the horizon counts as churned.

    Examples
    --------
    At the end of January a (promoter), b (detractor) and c (detractor) are active; c leaves
    in February: detractors churn 1 of 2 within one month.

    >>> subs = pd.DataFrame({"customer_id": list("abc"), "mrr": 10.0,
    ...                      "start_date": pd.to_datetime(["2024-01-01"] * 3),
    ...                      "end_date": pd.to_datetime([None, None, "2024-02-10"])})
    >>> s = pd.DataFrame({"customer_id": list("abc"), "survey": "nps", "score": [10, 3, 5.0],
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-20"])})
    >>> out = churn_by_nps_category(s, subs, horizon_months=1, as_of="2024-02")
    >>> print(out[["category", "customers", "churned_within_horizon", "rate"]].to_string())
        category  customers  churned_within_horizon  rate
    0   promoter          1                       0   0.0
    1    passive          0                       0   NaN
    2  detractor          2                       1   0.5
    """
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, (int, np.integer)) \
            or horizon_months < 1:
        raise ConfigError(f"`horizon_months` must be a whole number >= 1, got {horizon_months!r}")
    months = customer_months(subscriptions, as_of=as_of)
    index = month_index(months["month"])
    last = parse_as_of(as_of)
    last = index.max() if last is None else int(month_index(pd.Series([last])).iloc[0])
    snapshot = last - horizon_months if at is None else int(
        month_index(pd.Series([parse_as_of(at)])).iloc[0])
    if pd.isna(last):
        raise ConfigError("subscriptions has no customer active at a month end up to as_of")
    if snapshot + horizon_months > last:
        last_label = month_start_from_index(pd.Series([last])).iloc[0].strftime("%Y-%m")
        raise ConfigError(f"`at` must be at least horizon_months={horizon_months} months before "
                          f"the last month of data ({last_label}) so the horizon is observed; "
                          f"got at={at!r}")
    active = months.loc[index == snapshot, ["customer_id"]].drop_duplicates()
    later = months[(index > snapshot) & (index <= snapshot + horizon_months)]
    stayed = later.groupby("customer_id").size() == horizon_months
    active["churned"] = ~active["customer_id"].map(stayed).fillna(False).astype(bool)
    snapshot_month = month_start_from_index(pd.Series([snapshot])).iloc[0]
    observed = active.merge(_latest_category(surveys, before=snapshot_month), on="customer_id")
    table = observed.groupby("category").agg(customers=("churned", "size"),
                                             churned_within_horizon=("churned", "sum"))
    table = table.reindex(list(NPS_CATEGORIES), fill_value=0).astype("int64")
    customers = table["customers"].where(table["customers"] > 0)
    table["rate"] = table["churned_within_horizon"] / customers
    table["ci_low"], table["ci_high"] = wilson_interval(table["churned_within_horizon"],
                                                        table["customers"])
    return table.rename_axis("category").reset_index().assign(month=snapshot_month)[
        ["month", "category", "customers", "churned_within_horizon", "rate", "ci_low", "ci_high"]]


def _latest_category(surveys: pd.DataFrame, *, before: pd.Timestamp) -> pd.DataFrame:
    """Each customer's NPS category from its latest response up to the end of month ``before``."""
    answered = surveys[(surveys["survey"].str.lower() == "nps") & surveys["score"].notna()
                       & (surveys["date"] < before + pd.DateOffset(months=1))]
    latest = answered.sort_values("date", kind="stable").drop_duplicates("customer_id", keep="last")
    category = np.select([latest["score"] >= PROMOTER_MIN, latest["score"] >= PASSIVE_MIN],
                         ["promoter", "passive"], "detractor")
    return pd.DataFrame({"customer_id": latest["customer_id"], "category": category})
