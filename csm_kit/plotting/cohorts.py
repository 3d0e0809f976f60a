"""Retention over customer age: cohort heatmaps and Kaplan–Meier survival curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from csm_kit.errors import ConfigError
from csm_kit.plotting.style import (
    DIVERGING_CMAP,
    HEATMAP_CMAP,
    MAX_LINES,
    largest_groups,
    month_labels,
    no_data,
    note_left_out,
    percent_axis,
    plain_text,
    require_columns,
    safe_label,
    styled_axes,
    tidy_legend,
)

KINDS = ("logo", "revenue")
#: Cells get their percentage written in them up to this many cohorts × months.
ANNOTATE_MAX = (36, 36)


def plot_cohort_heatmap(matrix: pd.DataFrame, *, kind: str = "logo", ax: Axes | None = None,
                        max_months: int | None = None, annotate: bool | None = None,
                        title: str | None = None, value_label: str | None = None) -> Axes:
    """Draw a cohort retention matrix as a heatmap; cells a cohort has not reached stay blank.

    Parameters
    ----------
    matrix : the output of :func:`csm_kit.cohorts.cohort_retention`: index ``cohort``
        (first-of-month timestamps), columns ``months_since_start`` 0..N, values shares
        (0–1; revenue retention may exceed 1), NaN where the cohort is too young.
    kind : "logo" or "revenue" — sets the default title and the colour scale: sequential
        blues from 0 to 100% for logos; for revenue a diverging red–blue palette centred on
        100% (red: the cohort's MRR shrank, blue: it grew past its start).
    max_months : draw months since start 0..max_months only.
    annotate : write the percentage in each cell; None = when the matrix is at most
        36 cohorts × 36 months.
    title : the chart's title (plain text); None = "Logo retention by cohort" or "Revenue
        retention by cohort". Say what the cells are when they are not logos, e.g.
        "Customers ordering again, by first-order cohort" for purchase cohorts.
    value_label : the colour bar's label; None = "Customers still active" (logo) or "MRR
        vs the cohort's first month" (revenue).
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : the heatmap (``ax.collections[0]``, a masked mesh) with a percent colour bar; the
    cell texts are ``ax.texts``.

    Notes
    -----
    NaN cells are masked, so they show the background rather than the colour of 0%: a young
    cohort is not a cohort that lost everyone. Trailing ages that no cohort shown has reached
    are left off the chart. Cohorts are labelled "Mar 2024", as months are on every chart.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> m = pd.DataFrame([[1.0, 0.5], [1.0, np.nan]],
    ...                  index=pd.DatetimeIndex(["2024-01-01", "2024-02-01"], name="cohort"),
    ...                  columns=pd.Index([0, 1], name="months_since_start"))
    >>> ax = plot_cohort_heatmap(m)
    >>> ax.collections[0].get_array().mask.tolist()
    [[False, False], [False, True]]
    >>> [t.get_text() for t in ax.get_yticklabels()], [t.get_text() for t in ax.texts]
    (['Jan 2024', 'Feb 2024'], ['100%', '50%', '100%'])
    >>> plt.close(ax.figure)
    """
    if kind not in KINDS:
        raise ConfigError(f"`kind` must be one of {list(KINDS)}, got {kind!r}")
    shown = matrix if max_months is None else matrix.loc[:, matrix.columns <= max_months]
    shown = shown.astype("float64")
    # ages no cohort shown has reached yet (e.g. after filtering to recent cohorts) add nothing
    reached = np.flatnonzero(shown.notna().any(axis=0).to_numpy())
    if len(reached):
        shown = shown.iloc[:, : reached[-1] + 1]
    size = (min(max(9.0, 2.5 + 0.42 * shown.shape[1]), 16.0),
            min(2.0 + 0.3 * len(shown), 14.0))
    with styled_axes(ax, grid=None, figsize=size) as ax:
        if shown.empty:
            return no_data(ax, "cohorts")
        if annotate is None:
            annotate = len(shown) <= ANNOTATE_MAX[0] and shown.shape[1] <= ANNOTATE_MAX[1]
        labelled = shown.set_axis(month_labels(shown.index), axis=0)
        import seaborn as sns  # heavy (it imports scipy.stats): imported when used

        sns.heatmap(labelled, ax=ax, mask=shown.isna().to_numpy(), annot=annotate, fmt=".0%",
                    annot_kws={"fontsize": 7 if shown.shape[1] <= 16 else 6},
                    linewidths=0.5, linecolor="white", **_colour_scale(shown, kind),
                    cbar_kws={"format": PercentFormatter(1.0, decimals=0),
                              "label": safe_label(value_label or _VALUE_LABELS[kind], 80)})
        ax.set_title(safe_label(title, 120) if title is not None
                     else f"{kind.capitalize()} retention by cohort")
        ax.set_xlabel("Months since start")
        ax.set_ylabel("Cohort (first month)")
        ax.tick_params(axis="y", rotation=0)
        plain_text(ax.collections[0].colorbar.ax)
    return ax


_VALUE_LABELS = {"logo": "Customers still active", "revenue": "MRR vs the cohort's first month"}


def _colour_scale(shown: pd.DataFrame, kind: str) -> dict:
    """Sequential 0–100% for logos; for revenue a diverging palette centred on 100%."""
    if kind == "logo":
        return {"cmap": HEATMAP_CMAP, "vmin": 0.0, "vmax": 1.0}
    values = shown.to_numpy()
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    return {"cmap": DIVERGING_CMAP, "center": 1.0, "vmin": min(low, 0.99),
            "vmax": max(high, 1.01)}


def plot_survival(curves: pd.DataFrame, *, by: str | None = None, x: str | None = None,
                  ax: Axes | None = None) -> Axes:
    """Draw Kaplan–Meier retention curves as steps with shaded confidence bands.

    Parameters
    ----------
    curves : the output of :func:`csm_kit.survival.survival_curve`: [by], months_since_start
        (or month), at_risk, churned, censored, survival, ci_low, ci_high (shares 0–1).
    by : the group column: one curve per value, its legend entry "name (n=…)" with n the
        customers at risk at the start; at most 10 curves (the largest groups), and a last
        legend entry "+N more … not shown" for the rest.
    x : the time column; None = ``months_since_start``, or ``month`` when that is what
        ``curves`` has.
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : one step line (drawstyle "steps-post", gid "survival") per group.

    Notes
    -----
    Survival is a step function: it stays level until the next month with a churn, so lines
    and bands are drawn "post" steps. The band is omitted when ci_low/ci_high are missing.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> km = pd.DataFrame({"months_since_start": [0, 1, 2], "at_risk": [3, 3, 2],
    ...                    "survival": [1.0, 0.667, 0.667]})
    >>> ax = plot_survival(km)
    >>> ax.lines[0].get_drawstyle(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('steps-post', ['All customers (n=3)'])
    >>> plt.close(ax.figure)
    """
    if x is None:
        x = next((c for c in ("months_since_start", "month") if c in curves.columns),
                 "months_since_start")
    require_columns(curves, [x, "survival"] + ([by] if by is not None else []), name="curves")
    band = {"ci_low", "ci_high"} <= set(curves.columns)
    with styled_axes(ax) as ax:
        if curves.empty:
            return no_data(ax, "survival curves")
        sizes = (curves.groupby(by, sort=True, observed=True)["at_risk"].max()
                 if by is not None and "at_risk" in curves.columns else None)
        drawn, left_out = largest_groups(curves, by, most=MAX_LINES, sizes=sizes)
        groups = (drawn.groupby(by, sort=True, observed=True) if by is not None
                  else [("All customers", curves)])
        for key, rows in groups:
            rows = rows.sort_values(x)
            label = safe_label(key)
            if "at_risk" in rows.columns:
                label += f" (n={rows['at_risk'].iloc[0]:g})"
            (line,) = ax.step(rows[x], rows["survival"], where="post", linewidth=1.8,
                              label=label, gid="survival")
            if band:
                ax.fill_between(rows[x], rows["ci_low"], rows["ci_high"], step="post",
                                color=line.get_color(), alpha=0.18, linewidth=0)
        ax.set_ylim(0, 1.02)
        percent_axis(ax.yaxis)
        ax.set_xlabel("Months since start")
        ax.set_ylabel("Customers still active")
        ax.set_title("Customer survival (Kaplan–Meier)")
        note_left_out(ax, left_out, by=by, most=MAX_LINES, legend=True)
        tidy_legend(ax)
    return ax
