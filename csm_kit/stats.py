"""Confidence intervals and tests for rates and scores.

Every rate the kit shows travels with its n and an interval, so a CSM with five accounts is
not ranked on noise. The intervals are vectorised: pass arrays or Series of counts.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st
from statsmodels.stats.proportion import proportion_confint

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
    low, high = proportion_confint(successes, safe_n, alpha=1 - confidence, method="wilson")
    # statsmodels leaves float noise at the edges (5.6e-17 for 0 of n): clamp to [0, 1]
    low = np.where(n > 0, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(high, 0.0, 1.0), np.nan)
    return low, high


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
    z = _st.norm.ppf(0.5 + confidence / 2)
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
    z_crit = _st.norm.ppf(0.5 + confidence / 2)
    z = float(diff_adj / se)
    raw = 100 * (promoters_b / n_b - detractors_b / n_b - promoters_a / n_a + detractors_a / n_a)
    return {
        "difference": float(raw),
        "ci_low": float((diff_adj - z_crit * se) * 100),
        "ci_high": float((diff_adj + z_crit * se) * 100),
        "z": z,
        "p_value": float(2 * _st.norm.sf(abs(z))),
    }


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
    t = _st.t.ppf(0.5 + confidence / 2, len(values) - 1)
    return float(mean - t * se), float(mean + t * se)
