"""Confidence intervals, tests and the Kaplan–Meier estimator for rates, scores and durations.

Every rate the kit shows travels with its n and an interval, so a CSM with five accounts is
not ranked on noise. The intervals are vectorised: pass arrays or Series of counts.

The Kaplan–Meier estimator (:func:`kaplan_meier`, :func:`median_survival_time`) works on
plain durations and churn flags; :mod:`csm_kit.survival` turns subscriptions into customer
lifetimes and feeds them to it. The product-limit estimate and its Greenwood standard error
come from :class:`statsmodels.duration.survfunc.SurvfuncRight`; this module lays the step
function out on a whole-month grid with pointwise log-log confidence bands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError

DEFAULT_CONFIDENCE = 0.95


def wilson_interval(successes, n, *, confidence: float = DEFAULT_CONFIDENCE):
    r"""Wilson score interval for a proportion ``successes / n``.

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + z^2/n}

    Parameters
    ----------
    successes, n : array-like of counts (n = 0 gives NaN bounds).
    confidence : two-sided confidence level.

    Returns
    -------
    (low, high) : two float arrays in [0, 1].

    Examples
    --------
    8 of 10 (statsmodels and Wilson (1927) give [0.490, 0.943]):

    >>> low, high = wilson_interval(8, 10)
    >>> round(float(low), 3), round(float(high), 3)
    (0.49, 0.943)

    None of 20 gives a lower bound of exactly 0:

    >>> float(wilson_interval(0, 20)[0])
    0.0
    """
    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    safe_n = np.where(n > 0, n, 1.0)
    # statsmodels' proportion_confint(method="wilson") step for step (the same floats, without
    # importing statsmodels and scipy.stats in every report kernel: ~0.8 s)
    share = successes / safe_n
    crit = -_normal_quantile((1 - confidence) / 2.0)
    crit2 = crit**2
    denom = 1 + crit2 / safe_n
    center = (share + crit2 / (2 * safe_n)) / denom
    dist = crit * np.sqrt(share * (1.0 - share) / safe_n + crit2 / (4.0 * safe_n**2))
    dist /= denom
    low, high = center - dist, center + dist
    # float noise at the edges (5.6e-17 for 0 of n): clamp to [0, 1]
    low = np.where(n > 0, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(high, 0.0, 1.0), np.nan)
    return low, high


def _normal_quantile(p):
    """``scipy.stats.norm.ppf(p)``: the same function (``scipy.special.ndtri``), without
    importing scipy.stats (~0.7 s in every report kernel)."""
    from scipy.special import ndtri

    return ndtri(p)


def _normal_tail(z):
    """``scipy.stats.norm.sf(z)`` (``scipy.special.ndtr(-z)``), without scipy.stats."""
    from scipy.special import ndtr

    return ndtr(-z)


def nps_interval(promoters, detractors, n, *, confidence: float = DEFAULT_CONFIDENCE):
    r"""Adjusted-Wald interval for a Net Promoter Score, in NPS points (−100 to 100).

    Adds 3 to n and ¾ to both promoters and detractors before the Wald formula
    (Sauro & Lewis, *Quantifying the User Experience*, 2nd ed., ch. 5):

    .. math::

        \tilde p = \frac{P + 3/4}{n + 3},\quad \tilde d = \frac{D + 3/4}{n + 3},\quad
        \widetilde{NPS} = \tilde p - \tilde d,\quad
        \widetilde{\mathrm{var}} = \frac{\tilde p + \tilde d - (\tilde p - \tilde d)^2}{n + 3}

    and the interval is :math:`\widetilde{NPS} \pm z\sqrt{\widetilde{\mathrm{var}}}`, clipped to
    [−100, 100]. Five promoters of five therefore give a wide interval, not a zero-width one.

    Examples
    --------
    100 promoters, 40 detractors, 60 passives (NPS 30):

    >>> low, high = nps_interval(100, 40, 200)
    >>> round(float(low), 1), round(float(high), 1)
    (18.8, 40.3)
    """
    p_adj, d_adj, var = _adjusted_nps_moments(promoters, detractors, n)
    z = _normal_quantile(0.5 + confidence / 2)
    centre = p_adj - d_adj
    half = z * np.sqrt(var)
    low = np.clip(centre - half, -1, 1) * 100
    high = np.clip(centre + half, -1, 1) * 100
    return low, high


def _adjusted_nps_moments(promoters, detractors, n):
    promoters = np.asarray(promoters, dtype=float)
    detractors = np.asarray(detractors, dtype=float)
    n_adj = np.asarray(n, dtype=float) + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    var = (p_adj + d_adj - (p_adj - d_adj) ** 2) / n_adj
    return p_adj, d_adj, var


def nps_difference_test(
    promoters_a, detractors_a, n_a, promoters_b, detractors_b, n_b, *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict:
    r"""Test the change in NPS from group A to group B (B − A) with adjusted-Wald variances.

    The difference of two independent adjusted NPS values has variance
    :math:`\widetilde{\mathrm{var}}_A + \widetilde{\mathrm{var}}_B`; the z statistic gives a
    two-sided p-value.

    Returns
    -------
    dict with ``difference`` (NPS points, unadjusted B − A), ``ci_low``, ``ci_high`` (points),
    ``z`` and ``p_value``.

    Examples
    --------
    >>> res = nps_difference_test(50, 20, 100, 50, 20, 100)
    >>> res["difference"], round(res["p_value"], 3)
    (0.0, 1.0)
    """
    pa, da, va = _adjusted_nps_moments(promoters_a, detractors_a, n_a)
    pb, db, vb = _adjusted_nps_moments(promoters_b, detractors_b, n_b)
    diff_adj = (pb - db) - (pa - da)
    se = np.sqrt(va + vb)
    z_crit = _normal_quantile(0.5 + confidence / 2)
    z = float(diff_adj / se)
    raw = 100 * (promoters_b / n_b - detractors_b / n_b - promoters_a / n_a + detractors_a / n_a)
    return {
        "difference": float(raw),
        "ci_low": float((diff_adj - z_crit * se) * 100),
        "ci_high": float((diff_adj + z_crit * se) * 100),
        "z": z,
        "p_value": float(2 * _normal_tail(abs(z))),
    }


def ratio_interval(frame: pd.DataFrame, *, numerator: str, denominator: str,
                   keys: list[str] | None = None, confidence: float = DEFAULT_CONFIDENCE,
                   upper: float | None = None) -> pd.DataFrame:
    r"""Interval for a ratio of sums :math:`R = \sum y_i / \sum x_i` over units i (per group).

    For dollar renewal (ARR renewed ÷ ARR due, contracts as units) or the share of active users
    on a key feature (customers as units), the units are the customers or contracts, not the
    dollars or users, so a binomial interval would be far too narrow. This is the ratio
    estimator's linearised (Taylor) variance (Cochran, *Sampling Techniques*, 3rd ed., §6.4,
    eq. 6.13, without the finite-population correction):

    .. math:: \hat v(R) = \frac{n}{(\sum x_i)^2} \cdot \frac{\sum (y_i - R x_i)^2}{n - 1},
              \qquad R \pm z \sqrt{\hat v(R)}

    clipped below at 0 (and above at ``upper``, e.g. 1 for gross dollar renewal).

    Parameters
    ----------
    frame : one row per unit with the ``numerator`` and ``denominator`` columns (and ``keys``).
    keys : group columns; None = one group.
    upper : optional upper clip.

    Returns
    -------
    DataFrame indexed by ``keys`` (a single row without) with ratio, units, ci_low, ci_high
    (NaN with fewer than two units or a zero denominator).

    Examples
    --------
    Three contracts of 100 due; 200, 150 and 0 renewed: R = 350 ÷ 300 = 1.167; the residuals
    83.3, 33.3 and −116.7 give v = 3 ÷ 300² × 21,666.7 ÷ 2 = 0.361, se 0.601.

    >>> f = pd.DataFrame({"due": [100.0, 100, 100], "renewed": [200.0, 150, 0]})
    >>> out = ratio_interval(f, numerator="renewed", denominator="due").round(3)
    >>> out[["ratio", "units", "ci_low", "ci_high"]].values.tolist()
    [[1.167, 3.0, 0.0, 2.344]]
    """
    y = frame[numerator].astype("float64")
    x = frame[denominator].astype("float64")
    parts = pd.DataFrame({"y": y, "x": x, "yy": y * y, "xx": x * x, "xy": x * y, "units": 1})
    if keys:
        for key in keys:
            parts[key] = frame[key].to_numpy()
        sums = parts.groupby(keys, dropna=False).sum(min_count=1)
    else:
        sums = parts.sum().to_frame().T
    sx = sums["x"].where(sums["x"] != 0)
    ratio = sums["y"] / sx
    residual = (sums["yy"] - 2 * ratio * sums["xy"] + ratio ** 2 * sums["xx"]).clip(lower=0)
    n = sums["units"].astype("float64")
    var = n / sx ** 2 * residual / (n - 1).where(n > 1)
    z = _normal_quantile(0.5 + confidence / 2)
    half = z * np.sqrt(var)
    out = pd.DataFrame({"ratio": ratio, "units": n, "ci_low": (ratio - half).clip(lower=0),
                        "ci_high": ratio + half})
    if upper is not None:
        out["ci_high"] = out["ci_high"].clip(upper=upper)
    return out


def mean_interval(values, *, confidence: float = DEFAULT_CONFIDENCE):
    """t interval for the mean of ``values`` (NaN bounds for fewer than two values).

    >>> low, high = mean_interval([1, 2, 3])
    >>> round(low, 2), round(high, 2)
    (-0.48, 4.48)
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    mean = values.mean()
    se = values.std(ddof=1) / np.sqrt(len(values))
    from scipy.special import stdtrit  # scipy.stats.t.ppf's own function, without scipy.stats

    t = stdtrit(len(values) - 1, 0.5 + confidence / 2)
    return float(mean - t * se), float(mean + t * se)


# --------------------------------------------------------------------------- Kaplan–Meier

CURVE_COLUMNS = ["months_since_start", "at_risk", "churned", "censored", "survival",
                 "ci_low", "ci_high"]


def kaplan_meier(durations, churned, *, confidence: float = 0.95) -> pd.DataFrame:
    r"""Kaplan–Meier survival curve on a whole-month grid, with log-log confidence bands.

    The share of customers still active ``t`` months after their start, allowing for
    customers whose story is not finished yet (censored):

    .. math::

        \hat S(t) = \prod_{s \le t} \left(1 - \frac{d_s}{n_s}\right), \qquad
        \widehat{\mathrm{Var}}\,\log \hat S(t) = \sum_{s \le t} \frac{d_s}{n_s (n_s - d_s)}

    where :math:`n_s` is the number of customers at risk at month :math:`s` (lifetime
    :math:`\ge s`) and :math:`d_s` the number who churned at month :math:`s`; the variance is
    Greenwood's. The band is the log-log ("exponential Greenwood", Kalbfleisch & Prentice)
    interval :math:`\hat S(t)^{\exp(\pm z\,\sigma(t))}` with
    :math:`\sigma(t) = \sqrt{\widehat{\mathrm{Var}}\log\hat S(t)}\,/\,|\log \hat S(t)|`,
    which always stays inside [0, 1] (R's ``conf.type="log-log"``, Stata's ``sts list``).

    Parameters
    ----------
    durations : array-like of int
        Months from start to churn (churned) or to the as-of month (censored); ``>= 0``.
    churned : array-like of bool
        True when the customer churned at ``durations``; False when still active (censored).
    confidence : float
        Two-sided confidence level of the pointwise band.

    Returns
    -------
    DataFrame
        One row per month 0 … max(durations): ``months_since_start`` (int), ``at_risk``
        (customers with lifetime ≥ that month), ``churned`` and ``censored`` (customers whose
        lifetime ends there), ``survival`` (share, 0–1), ``ci_low``, ``ci_high`` (share).

    Notes
    -----
    At equal times churn is counted before censoring (a customer censored at month t is at
    risk at t). Before the first churn the band is [1, 1]; once survival reaches 0 the band
    is NaN (the log-log transform is undefined there, as in R).

    Examples
    --------
    Four customers: churned after 1 and 2 months, two still active after 2 and 3 months.
    S(1) = 3/4; at month 2 three are at risk and one churns, so S(2) = 3/4 × 2/3 = 0.5:

    >>> km = kaplan_meier([1, 2, 2, 3], [True, True, False, False])
    >>> print(km[["months_since_start", "at_risk", "churned", "censored", "survival"]]
    ...       .to_string(index=False))
     months_since_start  at_risk  churned  censored  survival
                      0        4        0         0      1.00
                      1        4        1         0      0.75
                      2        3        1         1      0.50
                      3        1        0         1      0.50
    """
    if not 0 < confidence < 1:
        raise ConfigError(f"`confidence` must be between 0 and 1, got {confidence!r}")
    time = np.asarray(durations, dtype="int64")
    status = np.asarray(churned, dtype=bool)
    if len(time) != len(status):
        raise ConfigError("`durations` and `churned` must have the same length, got "
                          f"{len(time)} and {len(status)}")
    if len(time) == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64" if i < 4 else "float64")
                             for i, c in enumerate(CURVE_COLUMNS)})
    if (time < 0).any():
        raise ConfigError(f"`durations` must be >= 0 months, got a minimum of {time.min()}")
    grid = np.arange(time.max() + 1)
    counts = np.bincount(time, minlength=len(grid))
    events = np.bincount(time, weights=status, minlength=len(grid)).astype("int64")
    from statsmodels.duration.survfunc import SurvfuncRight  # heavy: imported when used

    fit = SurvfuncRight(time, status.astype(int))
    # SurvfuncRight reports only the months with a churn; carry its step forward.
    # Index 0 of the padded arrays is "before the first churn": S = 1, se = 0.
    step = np.searchsorted(fit.surv_times, grid, side="right")
    # statsmodels multiplies through exp(cumsum(log)): round off its 1e-16 noise so that
    # 3/4 x 2/3 is exactly 0.5 (the median rule compares with 0.5).
    survival = np.round(np.concatenate([[1.0], fit.surv_prob])[step], 12)
    se = np.concatenate([[0.0], fit.surv_prob_se])[step]
    low, high = _loglog_band(survival, se, confidence)
    return pd.DataFrame({
        "months_since_start": grid,
        "at_risk": np.cumsum(counts[::-1])[::-1],
        "churned": events,
        "censored": counts - events,
        "survival": survival,
        "ci_low": low,
        "ci_high": high,
    })


def _loglog_band(survival: np.ndarray, se: np.ndarray, confidence: float):
    """Pointwise log-log band from survival and its Greenwood standard error."""
    z = _normal_quantile(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        width = z * (se / survival) / np.abs(log_s)
        low = survival ** np.exp(width)
        high = survival ** np.exp(-width)
    full = survival >= 1.0
    low = np.where(full, 1.0, np.where(survival > 0, low, np.nan))
    high = np.where(full, 1.0, np.where(survival > 0, high, np.nan))
    return low, high


def median_survival_time(curve: pd.DataFrame) -> float:
    """Median lifetime read off one Kaplan–Meier curve: first month with survival ≤ 0.5.

    Returns NaN when the curve never falls to one half (fewer than half the customers have
    churned within the observed months). Note: statsmodels' ``SurvfuncRight.quantile`` uses
    the strict ``< 0.5`` (SAS's rule); this kit uses ``≤ 0.5`` ("the month by which half the
    customers have churned"), as lifelines and R do (R averages across an exact 0.5 plateau).

    Examples
    --------
    >>> median_survival_time(kaplan_meier([1, 2, 2, 3], [True, True, False, False]))
    2.0
    >>> median_survival_time(kaplan_meier([1, 3, 3], [True, False, False]))
    nan
    """
    reached = curve.loc[curve["survival"] <= 0.5, "months_since_start"]
    return float(reached.min()) if len(reached) else float("nan")
