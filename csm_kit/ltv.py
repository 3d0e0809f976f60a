"""Customer lifetime value (LTV): three documented methods side by side.

* ``simple`` — ARPA ÷ monthly logo churn: the source documents' "average revenue × average
  lifespan" with lifespan = 1 ÷ churn.
* ``smoothed`` — ARPA ÷ the trailing mean of monthly logo churn (default 6 months), so one
  quiet or bad month does not swing LTV.
* ``survival`` — ARPA × the expected number of paying months within a horizon, read off the
  Kaplan–Meier survival curve (:mod:`csm_kit.survival`), optionally discounted.

All three are ``ltv = arpa × gross_margin × lifetime_months``; they differ in how
``lifetime_months`` is estimated.

The definition rules (:mod:`csm_kit.definitions`) reach LTV through its two inputs — ARPA
(``zero_mrr``) and the monthly logo churn rate (every churn rule) — and through
``exclude_current_month``: ChartMogul's LTV divides by the mean churn of the six months
*before* the current one. ``definitions="chartmogul"`` sets all of them at once.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from csm_kit.churn import logo_churn_rate
from csm_kit.definitions import resolve
from csm_kit.errors import ConfigError
from csm_kit.revenue import mrr_summary
from csm_kit.survival import survival_curve

METHODS = ("simple", "smoothed", "survival")


def ltv_from_arpa_and_churn(arpa, churn):
    r"""Lifetime value from average revenue per account and churn rate of the same period.

    .. math:: \mathrm{LTV} = \mathrm{ARPA} \times \frac{1}{\text{churn}}

    ``1 / churn`` is the average lifespan in periods (a constant churn of 10% a year means
    customers stay 10 years on average), so this is "average revenue × average lifespan".
    ARPA and churn must use the same period (both monthly, or both yearly).

    Parameters
    ----------
    arpa : float or array-like
        Average revenue per account per period (currency).
    churn : float or array-like
        Logo churn rate per period (share, 0–1).

    Returns
    -------
    float or array-like of the same shape (currency). NaN where churn is 0 (LTV would be
    infinite; a warning says how many) or missing.

    Examples
    --------
    The source documents' example: $100 a year for an average lifespan of 10 years (10%
    yearly churn) is worth $1,000:

    >>> ltv_from_arpa_and_churn(100, 0.10)
    1000.0
    """
    churn_arr = np.asarray(churn, dtype="float64")
    zero = churn_arr == 0
    if zero.any():
        warnings.warn(f"churn is 0 in {int(zero.sum())} period(s): lifetime value is "
                      "infinite there and shown as NaN", stacklevel=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lifespan = np.where(zero, np.nan, 1.0 / churn_arr)
    result = np.asarray(arpa, dtype="float64") * lifespan
    if isinstance(churn, pd.Series):
        return pd.Series(result, index=churn.index)
    return float(result) if np.ndim(result) == 0 else result


def expected_lifetime_months(curve: pd.DataFrame, *, horizon_months: int = 60,
                             discount_rate: float = 0.0, window: int = 6) -> float:
    r"""Expected paying months within a horizon, from a Kaplan–Meier curve, discounted.

    .. math::

        L = \sum_{t=0}^{H-1} \hat S(t)\,(1 + r)^{-t/12}

    where :math:`\hat S(t)` is the share of customers still active ``t`` months after start
    (:math:`\hat S(0) = 1`), :math:`H` the horizon in months and :math:`r` the annual
    discount rate (month ``t``'s revenue is discounted by ``t/12`` years; month 0 is not
    discounted). With a constant monthly churn ``c`` and no discount, :math:`L \to 1/c` as the
    horizon grows, the ``simple`` method's lifespan.

    Parameters
    ----------
    curve : DataFrame
        ``months_since_start``, ``at_risk``, ``churned``, ``survival`` as from
        :func:`csm_kit.stats.kaplan_meier` (one group).
    horizon_months : int
        Number of months summed, ``H``.
    discount_rate : float
        Annual discount rate (0.1 = 10% a year).
    window : int
        Months at the end of the curve whose pooled churn extends it past the data.

    Returns
    -------
    float : months.

    Notes
    -----
    Beyond the last observed month ``M`` the curve is extended geometrically,
    :math:`\hat S(M)(1-h)^{t-M}`, with ``h`` = churned ÷ at risk pooled over the curve's
    last ``window`` months (0 if nobody churned there, giving a flat tail).
    :func:`survival_extension` returns that tail churn rate.

    Examples
    --------
    Survival 1, 0.75, 0.5, 0.5 over a 4-month horizon: 1 + 0.75 + 0.5 + 0.5 = 2.75 months.

    >>> curve = pd.DataFrame({"months_since_start": [0, 1, 2, 3], "at_risk": [4, 4, 3, 1],
    ...                       "churned": [0, 1, 1, 0], "survival": [1.0, 0.75, 0.5, 0.5]})
    >>> expected_lifetime_months(curve, horizon_months=4)
    2.75
    """
    _check_horizon(horizon_months, discount_rate, window)
    survival, _ = survival_extension(curve, horizon_months=horizon_months, window=window)
    discount = (1.0 + discount_rate) ** (-np.arange(horizon_months) / 12.0)
    return float(np.sum(survival * discount))


def survival_extension(curve: pd.DataFrame, *, horizon_months: int, window: int = 6):
    """Survival for months 0 … horizon−1: observed, then extended at the tail churn rate.

    Returns ``(survival, tail_churn_rate)``: a float array of length ``horizon_months`` and
    the pooled monthly churn of the curve's last ``window`` months (see
    :func:`expected_lifetime_months`). An empty curve gives NaN survival.

    >>> curve = pd.DataFrame({"months_since_start": [0, 1], "at_risk": [10, 10],
    ...                       "churned": [0, 5], "survival": [1.0, 0.5]})
    >>> s, h = survival_extension(curve, horizon_months=4, window=1)
    >>> s.tolist(), h
    ([1.0, 0.5, 0.25, 0.125], 0.5)
    """
    if len(curve) == 0:
        return np.full(horizon_months, np.nan), float("nan")
    ordered = curve.sort_values("months_since_start")
    observed = ordered["survival"].to_numpy(dtype="float64")
    tail = ordered.iloc[-window:]
    at_risk = tail["at_risk"].sum()
    hazard = float(tail["churned"].sum() / at_risk) if at_risk > 0 else 0.0
    last_month = int(ordered["months_since_start"].iloc[-1])
    months = np.arange(horizon_months)
    steps = np.clip(months - last_month, 0, None)
    extended = observed[-1] * (1.0 - hazard) ** steps
    survival = np.where(months <= last_month,
                        observed[np.clip(months, 0, len(observed) - 1)], extended)
    return survival, hazard


def lifetime_value(subscriptions: pd.DataFrame, *, method: str | None = None, as_of=None,
                   horizon_months: int = 60, discount_rate: float = 0.0,
                   gross_margin: float = 1.0, window: int = 6,
                   exclude_current_month: bool | None = None, definitions: str | None = None,
                   zero_mrr: str | None = None, join_and_cancel: str | None = None,
                   churn_and_return: str | None = None, churn_denominator: str | None = None,
                   churn_window_days: int | None = None) -> pd.DataFrame:
    r"""Customer lifetime value per month, by one of three documented methods.

    .. math::

        \mathrm{LTV}(m) = \mathrm{ARPA}(m) \times \text{gross margin} \times L(m), \quad
        L(m) = \begin{cases}
        1 / \mathrm{churn}(m) & \texttt{simple} \\
        1 / \overline{\mathrm{churn}}_{m-w+1..m} & \texttt{smoothed} \\
        1 / \overline{\mathrm{churn}}_{m-w..m-1} & \texttt{smoothed},
            \text{ excluding the current month} \\
        \sum_{t=0}^{H-1} \hat S(t)(1+r)^{-t/12} & \texttt{survival}
        \end{cases}

    ARPA(m) = MRR ÷ active customers at the end of m and churn(m) the monthly logo churn
    rate (:func:`csm_kit.revenue.mrr_summary`, :func:`csm_kit.churn.logo_churn_rate`);
    :math:`\overline{\mathrm{churn}}` is the plain mean of the last ``window`` monthly rates;
    :math:`\hat S` is the Kaplan–Meier curve of all customers up to as_of
    (:func:`csm_kit.survival.survival_curve`; see :func:`expected_lifetime_months`).

    Parameters
    ----------
    subscriptions : DataFrame
        The subscriptions table (data/README.md).
    method : {"simple", "smoothed", "survival"} or None
        None = the preset's ``ltv_method`` (chartmogul: smoothed; baremetrics, stripe:
        simple), else "simple".
    as_of : date-like, optional
        Last month. None = the latest complete month in the data.
    horizon_months : int
        ``survival`` only: months of revenue summed, ``H``.
    discount_rate : float
        ``survival`` only: annual discount rate ``r`` (``simple``/``smoothed`` are
        undiscounted; a non-zero rate with them is an error).
    gross_margin : float
        Share of revenue kept as gross profit (0–1]; 1 = revenue LTV.
    window : int
        ``smoothed``: months in the trailing mean; ``survival``: tail months whose churn
        extends the curve past the data.
    exclude_current_month : bool or None
        ``smoothed``: average the ``window`` months before the current one (ChartMogul's
        rule) instead of the window ending with it. None = the preset's
        ``ltv_exclude_current`` (False for csm-kit).
    definitions : str or None
        A preset (:mod:`csm_kit.definitions`): sets the method, ``exclude_current_month``
        and the rules of ARPA and churn at once.
    zero_mrr, join_and_cancel, churn_and_return, churn_denominator, churn_window_days
        The rules of ARPA (``zero_mrr``) and of the monthly logo churn rate, as in
        :func:`csm_kit.churn.logo_churn_rate`; None = the preset's.

    Returns
    -------
    DataFrame
        ``month``, ``arpa`` (currency per month), ``churn_rate`` (the monthly churn used;
        NaN for ``survival``), ``lifetime_months``, ``ltv`` (currency), ``method``; for
        ``survival`` also ``horizon_months``, ``observed_months`` (horizon months covered by
        data; the rest is extrapolated) and ``tail_churn_rate``.

    Notes
    -----
    Churn 0 makes ``simple``/``smoothed`` LTV infinite: it is NaN (with a warning when it is the
    latest month; zero churn in early history is common and stays quiet). Months with
    no customers at the start (the first month) have no churn rate and NaN LTV; ``smoothed``
    is NaN until ``window`` monthly rates exist. ``survival`` uses one curve (all history up
    to as_of) for every month, so its month-to-month changes come from ARPA alone.

    Examples
    --------
    Two customers at $100 from January; one leaves in February (February: ARPA $100, churn
    1 of 2 = 50%, LTV = 100 ÷ 0.5 = $200; January has no customers at its start):

    >>> subs = pd.DataFrame({
    ...     "subscription_id": ["s1", "s2"], "customer_id": ["A", "B"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
    ...     "end_date": pd.to_datetime(["2024-02-10", None]), "mrr": [100.0, 100.0]})
    >>> print(lifetime_value(subs, as_of="2024-02-29")[["month", "arpa", "churn_rate", "ltv"]]
    ...       .to_string(index=False))
         month  arpa  churn_rate   ltv
    2024-01-01 100.0         NaN   NaN
    2024-02-01 100.0         0.5 200.0
    """
    chosen = resolve(definitions, ltv_exclude_current=exclude_current_month, zero_mrr=zero_mrr,
                     join_and_cancel=join_and_cancel, churn_and_return=churn_and_return,
                     churn_denominator=churn_denominator, churn_window_days=churn_window_days)
    method = method or chosen.ltv_method or "simple"
    _check_options(method, horizon_months, discount_rate, gross_margin, window)
    churn_rules = {r: getattr(chosen, r) for r in (
        "zero_mrr", "join_and_cancel", "churn_and_return", "churn_denominator",
        "churn_window_days")}
    summary = mrr_summary(subscriptions, as_of=as_of, zero_mrr=chosen.zero_mrr)[["month", "arpa"]]
    churn = logo_churn_rate(subscriptions, as_of=as_of, **churn_rules)[["month", "rate"]]
    frame = summary.merge(churn, on="month", how="left").sort_values("month")
    if method == "survival":
        return _survival_ltv(frame, subscriptions, as_of=as_of, horizon_months=horizon_months,
                             discount_rate=discount_rate, gross_margin=gross_margin,
                             window=window)
    rate = frame["rate"].astype("float64")
    if method == "smoothed":
        rate = rate.rolling(window, min_periods=window).mean()
        if chosen.ltv_exclude_current:
            rate = rate.shift(1)
    with warnings.catch_warnings():
        # zero churn in early history is common; only the latest month's figure is read
        warnings.simplefilter("ignore")
        lifetime = ltv_from_arpa_and_churn(pd.Series(1.0, index=rate.index), rate)
    if len(rate) and rate.iloc[-1] == 0:
        warnings.warn("churn is 0 in the latest month: lifetime value is infinite there and "
                      "shown as NaN", stacklevel=2)
    return pd.DataFrame({
        "month": frame["month"], "arpa": frame["arpa"], "churn_rate": rate,
        "lifetime_months": lifetime, "ltv": frame["arpa"] * gross_margin * lifetime,
        "method": method,
    }).reset_index(drop=True)


def _survival_ltv(frame, subscriptions, *, as_of, horizon_months, discount_rate,
                  gross_margin, window) -> pd.DataFrame:
    """LTV per month from one Kaplan–Meier curve of all customers up to as_of."""
    curve = survival_curve(subscriptions, as_of=as_of)
    lifetime = expected_lifetime_months(curve, horizon_months=horizon_months,
                                        discount_rate=discount_rate, window=window)
    _, hazard = survival_extension(curve, horizon_months=horizon_months, window=window)
    return pd.DataFrame({
        "month": frame["month"], "arpa": frame["arpa"], "churn_rate": np.nan,
        "lifetime_months": lifetime, "ltv": frame["arpa"] * gross_margin * lifetime,
        "method": "survival", "horizon_months": horizon_months,
        "observed_months": min(len(curve), horizon_months), "tail_churn_rate": hazard,
    }).reset_index(drop=True)


def _check_options(method, horizon_months, discount_rate, gross_margin, window) -> None:
    if method not in METHODS:
        raise ConfigError(f"`method` must be one of {list(METHODS)}, got {method!r}")
    _check_horizon(horizon_months, discount_rate, window)
    if not 0 < gross_margin <= 1:
        raise ConfigError(f"`gross_margin` must be in (0, 1], got {gross_margin!r}")
    if method != "survival" and discount_rate != 0:
        raise ConfigError(f"`discount_rate` applies only to method='survival' (the "
                          f"{method!r} method is undiscounted), got {discount_rate!r}")


def _check_horizon(horizon_months, discount_rate, window) -> None:
    if not isinstance(horizon_months, (int, np.integer)) or horizon_months < 1:
        raise ConfigError(f"`horizon_months` must be a whole number >= 1, got {horizon_months!r}")
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError(f"`window` must be a whole number >= 1, got {window!r}")
    if not discount_rate > -1:
        raise ConfigError(f"`discount_rate` must be an annual rate above -1, got "
                          f"{discount_rate!r}")
