"""Customer survival: Kaplan–Meier retention curves, median lifetime and the log-rank test.

A customer's *lifetime* is counted in whole months on the kit's month-end rule (docs/definitions.md):
it starts in the first month the customer has MRR > 0 at month end (``months_since_start``
0) and ends at the first later month-end at which it is no longer active. Customers still
active at the as-of month are *right-censored*: we know they lasted at least that long.

This module turns subscriptions into customer lifetimes and reports them; the curves come
from the generic estimator :func:`csm_kit.stats.kaplan_meier` (product-limit estimate with
pointwise log-log bands on a whole-month grid) and the log-rank test from
:func:`statsmodels.duration.survfunc.survdiff`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit.engine import to_pandas
from csm_kit.errors import ConfigError
from csm_kit.periods import month_index, month_start_from_index, parse_as_of
from csm_kit.revenue import customer_months, prepare_subscriptions
from csm_kit.stats import CURVE_COLUMNS, kaplan_meier, median_survival_time

LIFETIME_COLUMNS = ["customer_id", "start_month", "months", "churned"]


def customer_lifetimes(customer_months: pd.DataFrame, *, as_of=None) -> pd.DataFrame:
    r"""Turn customer-months into one lifetime per customer (first spell only).

    ``customer_id, month[, mrr]`` → ``customer_id, start_month, months, churned``. The
    lifetime starts in the customer's first month with MRR > 0 at month end and ends at the
    first later month-end without MRR; a customer still active in the as-of month is
    censored there.

    .. math::

        \text{months} = \begin{cases}
        \text{first inactive month} - \text{start month} & \text{churned} \\
        \text{as-of month} - \text{start month} & \text{censored (still active)}
        \end{cases}

    Parameters
    ----------
    customer_months : DataFrame
        ``customer_id``, ``month`` (first of month) and optionally ``mrr``; one row per
        customer-month active at month end (as :func:`csm_kit.revenue.customer_months`).
        Rows with ``mrr <= 0`` are ignored.
    as_of : date-like, optional
        Last month observed; later months are ignored. None = the latest month in the frame.

    Returns
    -------
    DataFrame
        ``customer_id``, ``start_month`` (first of month), ``months`` (int, whole months),
        ``churned`` (bool; False = right-censored, still active at as_of), sorted by id.

    Notes
    -----
    Only the first spell counts: a customer who churns and later reactivates has the
    lifetime of its first spell and churned = True (reactivations are ignored, so the curve
    describes time to *first* churn). Customers starting after as_of are left out.

    Examples
    --------
    A: Jan–Mar then gone (churned after 3 months); B: Feb–Apr, still active at April
    (censored after 2 months); C: Jan, gap, Mar–Apr (first spell 1 month, churned):

    >>> cm = pd.DataFrame({
    ...     "customer_id": ["A", "A", "A", "B", "B", "B", "C", "C", "C"],
    ...     "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-02-01",
    ...                              "2024-03-01", "2024-04-01", "2024-01-01", "2024-03-01",
    ...                              "2024-04-01"])})
    >>> print(customer_lifetimes(cm).to_string(index=False))
    customer_id start_month  months  churned
              A  2024-01-01       3     True
              B  2024-02-01       2    False
              C  2024-01-01       1     True
    """
    frame = customer_months
    if "mrr" in frame.columns:
        frame = frame[frame["mrr"] > 0]
    frame = frame[["customer_id", "month"]].assign(idx=month_index(frame["month"]))
    as_of_month = parse_as_of(as_of)
    if as_of_month is None and len(frame):
        as_of_month = frame["month"].max()
    if len(frame) == 0:
        return pd.DataFrame({"customer_id": pd.Series(dtype="str"),
                             "start_month": pd.Series(dtype="datetime64[ns]"),
                             "months": pd.Series(dtype="int64"),
                             "churned": pd.Series(dtype="bool")})
    as_of_idx = int(as_of_month.year * 12 + as_of_month.month - 1)
    frame = frame[(frame["idx"] <= as_of_idx).to_numpy()]
    # Integer customer codes sorted with their months: no sort or groupby on text ids.
    codes, ids = pd.factorize(frame["customer_id"])
    idx = frame["idx"].to_numpy(dtype="int64")
    known = codes >= 0  # a missing id is no customer
    codes, idx = codes[known], idx[known]
    order = np.lexsort((idx, codes))
    codes, idx = codes[order], idx[order]
    fresh = np.ones(len(codes), dtype=bool)  # a customer's month listed twice counts once
    fresh[1:] = (codes[1:] != codes[:-1]) | (idx[1:] != idx[:-1])
    codes, idx = codes[fresh], idx[fresh]
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    sizes = np.diff(np.r_[first, len(codes)])
    start = idx[first]
    # In the first spell a customer's k-th month (0-based) is exactly start + k.
    k = np.arange(len(codes)) - np.repeat(first, sizes)
    in_spell = (idx - np.repeat(start, sizes)) == k
    spell = np.add.reduceat(in_spell.astype("int64"), first) if len(first) else start
    churned = (start + spell) <= as_of_idx
    months = np.where(churned, spell, as_of_idx - start)
    out = pd.DataFrame({
        "customer_id": pd.Series(ids.take(codes[first])).astype("str").to_numpy(),
        "start_month": month_start_from_index(pd.Series(start)).to_numpy(),
        "months": months.astype("int64"),
        "churned": churned,
    })
    return out.sort_values("customer_id", ignore_index=True)


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test of equal survival curves across groups."""

    statistic: float
    df: int
    p_value: float
    groups: tuple


def survival_curve(subscriptions: pd.DataFrame, *, by: str | None = None,
                   customers: pd.DataFrame | None = None, as_of=None,
                   confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier customer survival (logo retention) curve, optionally per segment.

    The share of customers still active ``t`` months after their first month with MRR,
    counting customers who are still active as censored (see
    :func:`csm_kit.stats.kaplan_meier` for the formula and the log-log band, and
    :func:`customer_lifetimes` for how a lifetime is measured).

    Parameters
    ----------
    subscriptions : DataFrame
        The subscriptions table (data/README.md).
    by : str, optional
        A column of ``customers`` (e.g. ``"segment"``) to draw one curve per value.
    customers : DataFrame, optional
        The customers table; required when ``by`` is given.
    as_of : date-like, optional
        Last month observed. None = the latest complete month in the data.
    confidence : float
        Two-sided level of the pointwise band.

    Returns
    -------
    DataFrame
        ``[by]``, ``months_since_start`` (0, 1, 2, …), ``at_risk``, ``churned``, ``censored``
        (customers), ``survival``, ``ci_low``, ``ci_high`` (shares 0–1); one row per group
        and month since start, up to the group's longest observed lifetime.

    Notes
    -----
    Month 0 is the first month with MRR > 0 at month end, so survival(0) = 1. A customer who
    joins and leaves inside one month is never active at a month end and is not counted
    (ProfitWell's rule, as for logo churn). Reactivation is ignored: the first churn ends
    the lifetime. Customers with no value in ``by`` are left out with a warning.

    Examples
    --------
    Three customers starting in January; A leaves at the end of February (lifetime 1
    month), B and C are still active in April (censored at 3 months). S(1) = 2/3:

    >>> subs = pd.DataFrame({
    ...     "subscription_id": ["s1", "s2", "s3"], "customer_id": ["A", "B", "C"],
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 3),
    ...     "end_date": pd.to_datetime(["2024-02-15", None, None]), "mrr": [10.0, 20.0, 30.0]})
    >>> curve = survival_curve(subs, as_of="2024-04-30")
    >>> curve["survival"].round(3).tolist()
    [1.0, 0.667, 0.667, 0.667]
    """
    lifetimes = _grouped_lifetimes(subscriptions, by=by, customers=customers, as_of=as_of)
    if by is None:
        return kaplan_meier(lifetimes["months"], lifetimes["churned"], confidence=confidence)
    curves = [
        kaplan_meier(group["months"], group["churned"], confidence=confidence)
        .assign(**{by: key})
        for key, group in lifetimes.groupby(by, sort=True)
    ]
    if not curves:
        return pd.DataFrame(columns=[by, *CURVE_COLUMNS])
    return pd.concat(curves, ignore_index=True)[[by, *CURVE_COLUMNS]]


def median_lifetime(subscriptions: pd.DataFrame, *, by: str | None = None,
                    customers: pd.DataFrame | None = None, as_of=None):
    """Median customer lifetime in months from the Kaplan–Meier curve.

    The first month since start at which the survival curve is at or below one half
    (see :func:`csm_kit.stats.median_survival_time`); NaN when fewer than half have churned
    so far.

    Returns
    -------
    float (months) when ``by`` is None, else a Series of months indexed by the ``by`` values.

    Examples
    --------
    Four January starters: A leaves in February, B in March, C and D stay (as of April):
    S(1) = 3/4, S(2) = 2/4, so the median lifetime is 2 months.

    >>> subs = pd.DataFrame({
    ...     "subscription_id": ["s1", "s2", "s3", "s4"], "customer_id": ["A", "B", "C", "D"],
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 4),
    ...     "end_date": pd.to_datetime(["2024-02-10", "2024-03-10", None, None]),
    ...     "mrr": [10.0] * 4})
    >>> median_lifetime(subs, as_of="2024-04-30")
    2.0
    """
    curve = survival_curve(subscriptions, by=by, customers=customers, as_of=as_of)
    if by is None:
        return median_survival_time(curve)
    reached = curve[curve["survival"] <= 0.5].groupby(by)["months_since_start"].min()
    groups = pd.Index(curve[by].unique(), name=by)
    return reached.reindex(groups).astype("float64").rename("median_lifetime_months")


def logrank_test(subscriptions: pd.DataFrame, *, by: str, customers: pd.DataFrame,
                 as_of=None) -> LogrankResult:
    r"""Log-rank test that the survival curves of the ``by`` groups are the same.

    Compares, month by month, the churns observed in each group with those expected if all
    groups shared one curve (:func:`statsmodels.duration.survfunc.survdiff`):

    .. math:: \chi^2 = (O - E)^\top V^{-1} (O - E) \sim \chi^2_{k-1}

    with :math:`O`, :math:`E` the observed and expected churns of the first :math:`k-1` groups
    and :math:`V` their hypergeometric covariance.

    Returns
    -------
    LogrankResult
        ``statistic`` (chi-square), ``df`` (groups − 1), ``p_value`` (the chi-square
        survival function at ``statistic``, exact down to ~1e-300, so strongly separated
        groups give a tiny p rather than 0), ``groups`` (labels).
        NaN statistic and p-value, with a warning, when there are fewer than two groups or
        no churn at all.

    Examples
    --------
    Two segments with identical lifetimes are indistinguishable (p = 1):

    >>> subs = pd.DataFrame({
    ...     "subscription_id": ["s1", "s2", "s3", "s4"], "customer_id": ["A", "B", "C", "D"],
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 4),
    ...     "end_date": pd.to_datetime(["2024-03-10", None, "2024-03-10", None]),
    ...     "mrr": [10.0] * 4})
    >>> cust = pd.DataFrame({"customer_id": ["A", "B", "C", "D"],
    ...                      "segment": ["SMB", "SMB", "ENT", "ENT"]})
    >>> res = logrank_test(subs, by="segment", customers=cust, as_of="2024-04-30")
    >>> res.df, round(res.p_value, 3)
    (1, 1.0)
    """
    lifetimes = _grouped_lifetimes(subscriptions, by=by, customers=customers, as_of=as_of)
    groups = tuple(sorted(lifetimes[by].unique()))
    if len(groups) < 2 or not lifetimes["churned"].any():
        warnings.warn(f"the log-rank test needs at least two `{by}` groups and at least one "
                      f"churn; found {len(groups)} group(s) and "
                      f"{int(lifetimes['churned'].sum())} churn(s)", stacklevel=2)
        return LogrankResult(float("nan"), max(len(groups) - 1, 0), float("nan"), groups)
    from scipy.stats import chi2
    from statsmodels.duration.survfunc import survdiff  # heavy: imported when used

    statistic, _ = survdiff(lifetimes["months"].to_numpy(),
                            lifetimes["churned"].to_numpy().astype(int),
                            lifetimes[by].to_numpy())
    df = len(groups) - 1
    # survdiff's p is 1 - cdf, which rounds to 0 below ~1e-16; the survival function does not
    return LogrankResult(float(statistic), df, float(chi2.sf(statistic, df)), groups)


def _grouped_lifetimes(subscriptions, *, by, customers, as_of) -> pd.DataFrame:
    """Lifetimes of every customer, with the ``by`` column joined from ``customers``."""
    if by is not None:
        if customers is None:
            raise ConfigError(f"`by={by!r}` needs the customers table: pass `customers=`")
        if by not in customers.columns or by == "customer_id":
            raise ConfigError(f"`by` must be one of the customers columns "
                              f"{sorted(c for c in customers.columns if c != 'customer_id')}, "
                              f"got {by!r}")
    # The revenue engine settles as_of (None = last complete month of the data), so a
    # customer whose last month is before it is churned, not censored.
    _, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of)
    months = to_pandas(nw.from_native(customer_months(subscriptions, as_of=as_of)))
    as_of_month = month_start_from_index(pd.Series([max(as_of_index, 0)])).iloc[0]
    lifetimes = customer_lifetimes(months, as_of=as_of_month)
    if by is None:
        return lifetimes
    labels = customers[["customer_id", by]].drop_duplicates("customer_id")
    labels = labels.assign(customer_id=labels["customer_id"].astype("str"))
    lifetimes = lifetimes.merge(labels, on="customer_id", how="left")
    missing = lifetimes[by].isna()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} customer(s) have no `{by}` in the customers "
                      f"table (e.g. {lifetimes.loc[missing, 'customer_id'].iloc[0]!r}); they are "
                      f"left out of the per-{by} survival figures", stacklevel=3)
    return lifetimes[~missing]
