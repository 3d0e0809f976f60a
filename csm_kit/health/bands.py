"""Band cut-offs read from a churn history instead of fixed by hand.

A band is worth its name when the customers in it churn differently: :func:`suggest_bands`
puts red where the history's churn reaches a multiple of the average (3× by default) and
yellow where it is still at or above the average. The backtest reports them
(``BacktestResult.suggested_bands``); ``HealthConfig.with_bands`` applies them.
"""

from __future__ import annotations

import numpy as np


def suggest_bands(scores, churned, *, kind: str = "health", red_lift: float = 3.0,
                  yellow_lift: float = 1.0) -> dict[str, float]:
    r"""Band cut-offs read from a churn history: red where churn is ``red_lift`` × the average.

    For health (low = risky) the red cut-off is the highest whole score :math:`r` such that
    the customer-dates scoring below it churned at least ``red_lift`` times the overall rate,

    .. math:: \frac{\#\{\text{churned}, s < r\}}{\#\{s < r\}} \ge
              \text{red\_lift} \times \frac{\#\text{churned}}{n}

    and the yellow cut-off the highest whole score :math:`y > r` such that those scoring from
    :math:`r` to below :math:`y` churned at least ``yellow_lift`` times the overall rate. For
    distress (high = risky) the same is read from the top: at or above the cut-offs.

    Parameters
    ----------
    scores : scores 0–100 (NaN rows are left out).
    churned : whether each customer-date churned within the horizon.
    kind : ``health`` or ``distress``.
    red_lift, yellow_lift : the churn multiples that define the red and yellow bands.

    Returns
    -------
    dict with red and yellow (scores 0–100), ready for a configuration's ``bands``; when no
    group of scores churns at ``red_lift`` × the average, red is 0 (health) or 100
    (distress): nobody is red.

    Examples
    --------
    Ten customer-dates, those scoring 10 and 50 churned (20% overall). Below 20 only the
    churner at 10 (100% ≥ 3 × 20%); below 21 also 20, who stayed (50% < 60%): red is below 20.
    From 20 to below 80 one churner in five (20% ≥ 20%); below 81 one in six (17%): yellow is
    below 80.

    >>> suggest_bands([10, 20, 30, 50, 60, 70, 80, 90, 95, 99],
    ...               [True, False, False, True] + [False] * 6)
    {'red': 20.0, 'yellow': 80.0}
    """
    s = np.asarray(scores, dtype="float64")
    c = np.asarray(churned, dtype=bool)
    s, c = s[~np.isnan(s)], c[~np.isnan(s)]
    health = kind == "health"
    if len(s) == 0 or not c.any():
        return {"red": 0.0, "yellow": 0.0} if health else {"red": 100.0, "yellow": 100.0}
    base = c.mean()
    cuts = np.arange(0, 101, dtype="float64")
    order = np.argsort(s, kind="stable")
    below = np.searchsorted(s[order], cuts, side="left")  # how many score below each cut
    churned_below = np.concatenate([[0], np.cumsum(c[order])])[below]
    # the riskier side of each cut: below it for health, at or above it for distress
    n = below if health else len(s) - below
    k = churned_below if health else c.sum() - churned_below
    with np.errstate(invalid="ignore", divide="ignore"):
        red_ok = (n > 0) & (k / n >= red_lift * base)
    pick = np.max if health else np.min
    red = float(pick(cuts[red_ok])) if red_ok.any() else (0.0 if health else 100.0)
    r = int(red)
    with np.errstate(invalid="ignore", divide="ignore"):
        band_n, band_k = n - n[r], k - k[r]
        yellow_ok = (band_n > 0) & (band_k / band_n >= yellow_lift * base) & (
            cuts > red if health else cuts < red)
    yellow = float(pick(cuts[yellow_ok])) if yellow_ok.any() else red
    return {"red": red, "yellow": yellow}
