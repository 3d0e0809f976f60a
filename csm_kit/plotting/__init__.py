"""Charts for notebooks and reports: each takes a metric's tidy output and returns the Axes.

Every ``plot_*(frame, *, ax=None, ...)`` draws on ``ax`` (or on a new figure) and returns the
Axes; it never shows or saves the figure, never picks a backend and never computes a metric —
frames are only sorted or reshaped for display. All charts share one colour-blind-safe
palette and a calm style (:mod:`csm_kit.plotting.style`), and every piece of text that comes
from customers' data (segments, events, CSM and customer names) passes through
:func:`safe_label`, so "Deal $5M to $10M" is drawn as written, not as mathtext. Groups that
come from data are capped — at most 10 lines (and 10 numbered events) and 30 bars, the
largest groups, with "+N more … not shown" for the rest — so any dataset gives a readable
chart.

========================  ====================================================================
chart                     input (from)
========================  ====================================================================
plot_trend                per-period rates or scores: logo churn, NRR/GRR, NPS, CSAT
plot_cohort_heatmap       ``cohorts.cohort_retention`` matrix (logo or revenue)
plot_mrr_bridge           one month of ``revenue.mrr_bridge``, as a waterfall
plot_mrr_movements        every month of ``revenue.mrr_bridge``, as stacked bars
plot_survival             ``survival.survival_curve`` (optionally by segment)
plot_health_bands         ``health.health_scores``
plot_distribution         survey or health scores
plot_intervals            rates per CSM or segment with their intervals, ranked
========================  ====================================================================

Examples
--------
>>> import matplotlib.pyplot as plt
>>> import pandas as pd
>>> nrr = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01"]),
...                     "rate": [1.02, 0.99]})
>>> grr = nrr.assign(rate=[0.97, 0.95])
>>> ax = plot_trend(grr, ax=plot_trend(nrr, label="NRR"), label="GRR", target=1.0)
>>> [t.get_text() for t in ax.get_legend().get_texts()]
['NRR', 'GRR', 'target']
>>> plt.close(ax.figure)
"""

from __future__ import annotations

from csm_kit.plotting.cohorts import plot_cohort_heatmap, plot_survival
from csm_kit.plotting.revenue import plot_mrr_bridge, plot_mrr_movements
from csm_kit.plotting.scores import plot_distribution, plot_health_bands, plot_intervals
from csm_kit.plotting.style import (
    BAND_COLOURS,
    CHART_STYLE,
    MOVEMENT_COLOURS,
    NPS_COLOURS,
    PALETTE,
    safe_label,
)
from csm_kit.plotting.trends import plot_trend

__all__ = [
    "BAND_COLOURS", "CHART_STYLE", "MOVEMENT_COLOURS", "NPS_COLOURS", "PALETTE",
    "plot_cohort_heatmap", "plot_distribution", "plot_health_bands", "plot_mrr_bridge",
    "plot_intervals", "plot_mrr_movements", "plot_survival", "plot_trend", "safe_label",
]
