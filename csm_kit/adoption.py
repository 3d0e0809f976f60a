"""Product adoption: active users per licensed seat, and how many customers use what they bought.

``usage`` (customer_id, month, active_users[, licensed_seats, key_feature_users]) is one row
per customer-month. :func:`adoption` adds the seat ratio; :func:`adoption_rate` summarises it
per period (and group); :func:`key_feature_adoption` does the same for the key feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.grouping import group_keys, in_periods, with_group
from csm_kit.stats import ratio_interval, wilson_interval


def adoption(usage: pd.DataFrame) -> pd.DataFrame:
    r"""Adoption per customer-month: the share of licensed seats in active use.

    .. math:: \text{adoption} = \frac{\text{active\_users}}{\text{licensed\_seats}}

    Parameters
    ----------
    usage : one row per customer-month with active_users and licensed_seats.

    Returns
    -------
    DataFrame customer_id, month, active_users, licensed_seats → the same plus adoption
    (ratio, float; 1.0 = every seat used), in the input's row order.

    Notes
    -----
    adoption is NaN when licensed_seats is empty or 0 (no seats to use) and may exceed 1 when
    more people are active than seats were bought (a sign of seat sharing or an upsell); it
    is not capped.

    Examples
    --------
    >>> u = pd.DataFrame({"customer_id": list("abc"), "month": pd.to_datetime(["2024-01-01"] * 3),
    ...                   "active_users": [5, 12, 3], "licensed_seats": [10, 10, 0]})
    >>> adoption(u)["adoption"].tolist()
    [0.5, 1.2, nan]
    """
    if "licensed_seats" not in usage.columns:
        raise ConfigError("usage has no licensed_seats column; adoption = active users ÷ licensed "
                          "seats needs it (map your seats column to licensed_seats)")
    users = usage["active_users"].astype("float64")
    seats = usage["licensed_seats"].astype("float64")
    ratio = users / seats.where(seats > 0)
    out = usage[["customer_id", "month", "active_users", "licensed_seats"]]
    return out.assign(adoption=ratio.to_numpy())


def adoption_rate(usage: pd.DataFrame, *, threshold: float = 0.5, freq: str = "M",
                  by: str | None = None, customers: pd.DataFrame | None = None,
                  as_of=None) -> pd.DataFrame:
    r"""Share of customers whose adoption is at or above a threshold, per period.

    .. math:: \text{share} = \frac{\#\{\text{customers with adoption} \ge \text{threshold}\}}
                                  {\#\{\text{customers with a known adoption}\}}

    Parameters
    ----------
    usage : one row per customer-month (see :func:`adoption`).
    threshold : adoption counted as healthy, e.g. 0.5 = half the seats active.
    freq : ``"M"``, ``"Q"`` or ``"Y"``. For quarters and years a customer's adoption is the
        mean of its months in the period.
    by : optional column of usage or of customers (segment, csm, plan).
    customers : the customers table; needed when ``by`` is not a column of usage.
    as_of : last month to include (default: the latest month in usage, taken as complete).

    Returns
    -------
    DataFrame with period (first day), [by], customers (with a known adoption),
    above_threshold (count), share (0–1), ci_low, ci_high (95% Wilson) and median_adoption.

    Notes
    -----
    Customer-months without seats (adoption NaN) are left out of every column. A period
    where no customer has a known adoption has no row.

    Examples
    --------
    In January a uses 8 of 10 seats, b 2 of 10, c 5 of 10: two of three are at or above 50%.

    >>> u = pd.DataFrame({"customer_id": list("abc"), "month": pd.to_datetime(["2024-01-01"] * 3),
    ...                   "active_users": [8, 2, 5], "licensed_seats": [10, 10, 10]})
    >>> print(adoption_rate(u)[["customers", "above_threshold", "median_adoption"]].to_string())
       customers  above_threshold  median_adoption
    0          3                2              0.5
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) \
            or not threshold >= 0:
        raise ConfigError(f"`threshold` must be a number >= 0 (e.g. 0.5), got {threshold!r}")
    ratios = adoption(usage).dropna(subset=["adoption"])
    month_ends = usage["month"] + pd.offsets.MonthEnd(0)  # a month present in usage is complete
    ratios = in_periods(ratios, "month", freq=freq, as_of=as_of, data_dates=month_ends)
    ratios = with_group(ratios, by, customers, table="usage")
    keys = group_keys(by)
    per_customer = ratios.groupby(keys + ["customer_id"], dropna=False)["adoption"].mean()
    per_customer = per_customer.reset_index()
    per_customer["above"] = per_customer["adoption"] >= threshold
    table = per_customer.groupby(keys, dropna=False).agg(
        customers=("customer_id", "size"), above_threshold=("above", "sum"),
        median_adoption=("adoption", "median"))
    table["share"] = table["above_threshold"] / table["customers"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["above_threshold"],
                                                        table["customers"])
    columns = ["customers", "above_threshold", "share", "ci_low", "ci_high", "median_adoption"]
    return table.reset_index()[keys + columns]


def key_feature_adoption(usage: pd.DataFrame, *, freq: str = "M", by: str | None = None,
                         customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    r"""Key-feature adoption per period: how many active users use the key feature.

    Two views of ``usage.key_feature_users``:

    .. math:: \text{user share} = \frac{\sum \text{key\_feature\_users}}{\sum \text{active\_users}}
              ,\qquad \text{customer share} = \frac{\#\{\text{customers with a key-feature user}\}}
              {\#\{\text{customers with active users}\}}

    The user share is a ratio of sums over customers, so its interval treats customers, not
    users, as the units (:func:`csm_kit.stats.ratio_interval`): the users of one account
    are not independent draws.

    Parameters
    ----------
    usage : one row per customer-month with active_users and key_feature_users.
    freq : ``"M"``, ``"Q"`` or ``"Y"``; for quarters and years a customer's users are summed
        over its months in the period (user-months).
    by, customers, as_of : as in :func:`adoption_rate`.

    Returns
    -------
    DataFrame with period (first day), [by], customers (with active users and a known
    key_feature_users), using_key_feature (customers with at least one), customer_share (0–1),
    customer_ci_low, customer_ci_high (95% Wilson), active_users, key_feature_users (sums),
    user_share (0–1), ci_low, ci_high (95%, of user_share).

    Notes
    -----
    Customer-months with no active users, or an empty key_feature_users, are left out. A
    period without such rows has no row.

    Examples
    --------
    In January a has 10 active users of whom 5 use the key feature, b 10 and 0, c 20 and 15:
    user share (5 + 0 + 15) ÷ 40 = 50%; 2 of 3 customers use it.

    >>> u = pd.DataFrame({"customer_id": list("abc"), "month": pd.to_datetime(["2024-01-01"] * 3),
    ...                   "active_users": [10, 10, 20], "key_feature_users": [5, 0, 15]})
    >>> out = key_feature_adoption(u)
    >>> print(out[["customers", "using_key_feature", "user_share"]].to_string())
       customers  using_key_feature  user_share
    0          3                  2         0.5
    """
    if "key_feature_users" not in usage.columns:
        raise ConfigError("usage has no key_feature_users column; key-feature adoption needs "
                          "the active users of the key feature (map your column to "
                          "key_feature_users)")
    known = usage[(usage["active_users"] > 0) & usage["key_feature_users"].notna()]
    month_ends = usage["month"] + pd.offsets.MonthEnd(0)
    known = in_periods(known, "month", freq=freq, as_of=as_of, data_dates=month_ends)
    known = with_group(known, by, customers, table="usage")
    keys = group_keys(by)
    per_customer = known.groupby(keys + ["customer_id"], dropna=False)[
        ["active_users", "key_feature_users"]].sum().astype("float64").reset_index()
    per_customer["using"] = per_customer["key_feature_users"] > 0
    table = per_customer.groupby(keys, dropna=False).agg(
        customers=("customer_id", "size"), using_key_feature=("using", "sum"),
        active_users=("active_users", "sum"), key_feature_users=("key_feature_users", "sum"))
    table["customer_share"] = table["using_key_feature"] / table["customers"]
    table["customer_ci_low"], table["customer_ci_high"] = wilson_interval(
        table["using_key_feature"], table["customers"])
    bounds = ratio_interval(per_customer, numerator="key_feature_users",
                            denominator="active_users", keys=keys, upper=None)
    table["user_share"] = table["key_feature_users"] / table["active_users"]
    table["ci_low"] = bounds["ci_low"].reindex(table.index)
    table["ci_high"] = bounds["ci_high"].reindex(table.index)
    columns = ["customers", "using_key_feature", "customer_share", "customer_ci_low",
               "customer_ci_high", "active_users", "key_feature_users", "user_share",
               "ci_low", "ci_high"]
    return table.reset_index()[keys + columns]
