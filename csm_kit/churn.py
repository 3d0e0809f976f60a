"""Logo churn: the share of customers active at the end of last month who are gone this month.

Built on the MRR movements of :mod:`csm_kit.revenue` (same month-end rule, same as_of rule),
so a churned customer here is exactly a ``churn`` movement there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.revenue import bridge_table, share
from csm_kit.stats import DEFAULT_CONFIDENCE, wilson_interval

__all__ = ["logo_churn_rate"]


def logo_churn_rate(subscriptions, *, by: str | None = None, customers: pd.DataFrame | None = None,
                    as_of=None, confidence: float = DEFAULT_CONFIDENCE,
                    engine: str | None = None) -> pd.DataFrame:
    r"""Compute the monthly logo churn rate with a Wilson confidence interval.

    Customers lost this month divided by customers at the end of last month: a customer is
    counted at the start of month m when its MRR was above zero at the end of m−1, and churned
    when its MRR is zero at the end of m. Logo retention rate = 1 − rate.

    .. math:: \mathrm{churn}_m = \frac{|\{c : \mathrm{MRR}_{c,m-1} > 0,\ \mathrm{MRR}_{c,m} = 0\}|}
                                      {|\{c : \mathrm{MRR}_{c,m-1} > 0\}|}

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date (pandas,
        Polars or DuckDB).
    by : None or a column of ``customers`` (segment, csm, plan, region): one rate per group,
        by each customer's current value.
    customers : customers frame, required with ``by``.
    as_of : date or None (None = last complete month of the data).
    confidence : level of the Wilson interval.
    engine : None, "pandas", "polars" or "duckdb".

    Returns
    -------
    pandas DataFrame, one row per month (x group): month, [by], customers_start (customers
    active at the end of the previous month), churned (of them, not active at this month's
    end), rate (share, 0–1; NaN when customers_start is 0), ci_low, ci_high.

    Notes
    -----
    Months run from the first month that starts with customers to as_of. New customers of
    month m are not in its denominator; a customer who joins and leaves inside one month is
    in neither count (ProfitWell's rule). A customer who churns and comes back counts as
    churned in the month it left; cancelling one of two subscriptions is not churn.

    Examples
    --------
    Four customers at the end of January, one gone at the end of February (1 / 4 = 25%); a
    fifth joins in February and is only in March's denominator:

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d", "e"],
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-10"]),
    ...     "end_date": pd.to_datetime([None, None, None, "2024-02-15", None]),
    ...     "mrr": [10.0, 10.0, 10.0, 10.0, 10.0],
    ... })
    >>> logo_churn_rate(subs, as_of="2024-03")[["customers_start", "churned", "rate"]].values.tolist()
    [[4.0, 1.0, 0.25], [4.0, 0.0, 0.0]]
    """
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine)
    totals = table.groupby("month")["customers_start"].sum()
    started = totals.index[totals > 0]
    table = table[table["month"] >= started.min()] if len(started) else table.iloc[:0]
    out = table[["month", *([by] if by else [])]].copy()
    out["customers_start"] = table["customers_start"].astype("int64")
    out["churned"] = table["n_churn"].astype("int64")
    out["rate"] = share(out["churned"], out["customers_start"]).to_numpy()
    low, high = wilson_interval(out["churned"], out["customers_start"], confidence=confidence)
    # The Wilson bounds are exactly 0 at no churn and 1 at full churn; remove float residue.
    out["ci_low"] = np.where(out["churned"] == 0, 0.0, low)
    out["ci_high"] = np.where(out["churned"] == out["customers_start"], 1.0, high)
    out.loc[out["customers_start"] == 0, ["ci_low", "ci_high"]] = np.nan
    return out.reset_index(drop=True)
