"""Product adoption: active users per licensed seat, and how many customers use what they bought.

``usage`` (customer_id, month, active_users[, licensed_seats]) is one row per customer-month.
:func:`adoption` adds the ratio; :func:`adoption_rate` summarises it per period (and group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.grouping import group_keys, in_periods, with_group
from csm_kit.stats import wilson_interval


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
