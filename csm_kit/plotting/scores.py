"""Score charts: customers per health band, and the distribution of survey or health scores."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from csm_kit.plotting.style import (
    BAND_COLOURS,
    GREY,
    INK,
    MAX_BARS,
    NPS_COLOURS,
    PALETTE,
    largest_groups,
    no_data,
    note_left_out,
    percent_axis,
    require_columns,
    safe_label,
    safe_labels,
    styled_axes,
    tidy_legend,
)

NO_SCORE = "no score"
NPS_GROUPS = (("detractor", "detractors (0–6)", range(0, 7)),
              ("passive", "passives (7–8)", range(7, 9)),
              ("promoter", "promoters (9–10)", range(9, 11)))


def plot_health_bands(scores: pd.DataFrame, *, by: str | None = None,
                      ax: Axes | None = None) -> Axes:
    """Draw how many customers sit in each health band, overall or per segment.

    Parameters
    ----------
    scores : the output of :func:`csm_kit.health.scores.health_scores` — customer_id, [segment],
        score, band ("red"/"yellow"/"green"; missing when the customer has no score).
    by : a column of ``scores`` (e.g. "segment"): one horizontal stacked bar per value; at
        most 30 bars (the groups with the most customers), with "+N more … not shown" above
        the plot for the rest.
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : without ``by``, one bar per band (red, yellow, green, then "no score" when some
    customers have none) labelled "count (share)"; with ``by``, one bar container per band
    (label = band) stacked left to right.

    Notes
    -----
    Colours are a colour-blind-safe red/yellow/green (vermillion, yellow, bluish green).
    Rows whose band is some other word are left out with a warning.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> s = pd.DataFrame({"customer_id": list("abcd"), "score": [20.0, 55, 80, 90],
    ...                   "band": ["red", "yellow", "green", "green"]})
    >>> ax = plot_health_bands(s)
    >>> [int(p.get_height()) for p in ax.containers[0]], [t.get_text() for t in ax.texts]
    ([1, 1, 2], ['1 (25%)', '1 (25%)', '2 (50%)'])
    >>> plt.close(ax.figure)
    """
    require_columns(scores, ["band"] + ([by] if by is not None else []), name="scores")
    band = scores["band"].astype("string").fillna(NO_SCORE)
    known = band.isin([*BAND_COLOURS, NO_SCORE])
    if not known.all():
        odd = sorted(band[~known].unique())[:5]
        warnings.warn(f"{int((~known).sum())} scores have a band other than red/yellow/green "
                      f"(e.g. {safe_labels(odd, 20)}) and are not drawn", stacklevel=2)
    order = [*BAND_COLOURS, *([NO_SCORE] if (band == NO_SCORE).any() else [])]
    colours = [*BAND_COLOURS.values(), "#FFFFFF"]
    with styled_axes(ax, grid="y" if by is None else "x") as ax:
        if not known.any():
            return no_data(ax, "health scores")
        if by is None:
            counts = band[known].value_counts().reindex(order, fill_value=0)
            bars = ax.bar(order, counts.to_numpy(), color=colours[: len(order)], width=0.6,
                          edgecolor=INK, linewidth=0.6)
            shares = counts / counts.sum()
            ax.bar_label(bars, labels=[f"{c} ({s:.0%})" for c, s in zip(counts, shares,
                                                                       strict=True)],
                         padding=2, fontsize=8, color=INK)
            ax.set_ylabel("Customers")
        else:
            table = pd.crosstab(scores.loc[known, by], band[known]).reindex(columns=order,
                                                                            fill_value=0)
            totals = table.sum(axis=1)
            kept = totals.sort_values(ascending=False, kind="stable").index[:MAX_BARS]
            _stacked_by_group(ax, table.loc[table.index.isin(kept)], colours)
            note_left_out(ax, len(table) - len(kept), by=by, most=MAX_BARS)
        ax.set_title("Customers by health band")
    return ax


def _stacked_by_group(ax: Axes, table: pd.DataFrame, colours: list[str]) -> None:
    where = np.arange(len(table))
    left = np.zeros(len(table))
    for name, colour in zip(table.columns, colours, strict=False):
        counts = table[name].to_numpy(dtype="float64")
        ax.barh(where, counts, left=left, color=colour, edgecolor=INK, linewidth=0.6,
                height=0.6, label=name)
        left += counts
    ax.set_yticks(where, safe_labels(table.index))
    ax.invert_yaxis()
    ax.set_xlabel("Customers")
    tidy_legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def plot_distribution(values, *, bins=None, nps: bool = False, title: str | None = None,
                      xlabel: str = "Score", ax: Axes | None = None) -> Axes:
    """Draw how scores are spread: one bar per whole score, or a histogram.

    Parameters
    ----------
    values : a Series of scores, or a frame with a ``score`` column (survey responses,
        health scores). Missing scores are left out.
    bins : None = one bar per whole score from the lowest to the highest (for 0–10 or 1–5
        scales; a histogram with automatic bins when scores have fractions); an int or a
        sequence of edges = a histogram with those bins.
    nps : draw 0–10 with detractors (0–6), passives (7–8) and promoters (9–10) coloured.
    title : plain text; n (the number of scores) is always written in the corner.
    xlabel : the axis label.
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : bars (``ax.patches``) whose heights are the counts.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = plot_distribution(pd.Series([10, 9, 7, 3.0]), nps=True)
    >>> [int(p.get_height()) for p in ax.patches]
    [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1]
    >>> ax.texts[0].get_text()
    'n = 4'
    >>> plt.close(ax.figure)
    """
    if isinstance(values, pd.DataFrame):
        require_columns(values, ["score"], name="values")
        values = values["score"]
    scores = pd.Series(values, dtype="float64").dropna()
    whole = bool(np.all(np.mod(scores, 1) == 0))
    with styled_axes(ax) as ax:
        if scores.empty:
            return no_data(ax, "scores")
        if nps:
            _nps_bars(ax, scores)
        elif bins is None and whole:
            levels = np.arange(scores.min(), scores.max() + 1)
            counts = scores.value_counts().reindex(levels, fill_value=0)
            ax.bar(levels, counts.to_numpy(), width=0.8, color=PALETTE[0])
            ax.set_xticks(levels)
        else:
            ax.hist(scores, bins="auto" if bins is None else bins, color=PALETTE[0],
                    edgecolor="white")
        ax.text(0.99, 0.98, f"n = {len(scores):,}", transform=ax.transAxes, ha="right",
                va="top", color=GREY, fontsize=8)
        ax.set_xlabel(safe_label(xlabel, 80))
        ax.set_ylabel("Count")
        if title is not None:
            ax.set_title(safe_label(title, 120))
    return ax


def _nps_bars(ax: Axes, scores: pd.Series) -> None:
    levels = np.arange(11)
    counts = scores.value_counts().reindex(levels, fill_value=0)
    outside = len(scores) - int(counts.sum())
    if outside:
        warnings.warn(f"{outside} scores are not whole numbers 0–10 and are not drawn",
                      stacklevel=3)
    colour = {score: NPS_COLOURS[key] for key, _, span in NPS_GROUPS for score in span}
    ax.bar(levels, counts.to_numpy(), width=0.8, color=[colour[s] for s in levels])
    ax.set_xticks(levels)
    ax.legend(handles=[Patch(color=NPS_COLOURS[key], label=name) for key, name, _ in NPS_GROUPS],
              loc="upper left", bbox_to_anchor=(1.0, 1.0))


def plot_intervals(frame: pd.DataFrame, *, label: str, value: str, ci: tuple[str, str],
                   n: str | None = None, percent: bool = True, title: str | None = None,
                   ax: Axes | None = None) -> Axes:
    """Draw one dot per row with its interval as a horizontal line, sorted by value.

    Used for rates per CSM (or segment), so a five-account book's wide interval is visible
    next to its rate instead of a bare ranking.

    Parameters
    ----------
    frame : one row per group: the ``label`` column, the ``value`` and its ``ci`` bounds.
    n : optional count column, shown as "name (n=…)" on the axis.

    At most 30 rows are drawn (those with the largest ``n``; without ``n``, the first groups
    in sorted order), with "+N more … not shown" above the plot for the rest.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> card = pd.DataFrame({"csm": ["Ana", "Ben"], "rate": [0.02, 0.05],
    ...                      "lo": [0.01, 0.0], "hi": [0.04, 0.3], "n": [400, 5]})
    >>> ax = plot_intervals(card, label="csm", value="rate", ci=("lo", "hi"), n="n")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Ana (n=400)', 'Ben (n=5)']
    >>> plt.close(ax.figure)
    """
    require_columns(frame, [label, value, *ci, *([n] if n else [])], name="frame")
    shown = frame.dropna(subset=[value])
    sizes = shown.set_index(label)[n] if n is not None else None
    if sizes is not None and sizes.index.has_duplicates:
        sizes = sizes.groupby(level=0, sort=True).sum()
    shown, left_out = largest_groups(shown, label, most=MAX_BARS, sizes=sizes)
    shown = shown.sort_values(value, kind="stable")
    names = safe_labels(shown[label])
    if n is not None:
        names = [f"{name} (n={count:,.0f})" for name, count in zip(names, shown[n], strict=True)]
    with styled_axes(ax, grid="x") as ax:
        if shown.empty:
            return no_data(ax, "values")
        where = np.arange(len(shown))
        ax.hlines(where, shown[ci[0]], shown[ci[1]], color=GREY, linewidth=2)
        ax.plot(shown[value], where, "o", color=PALETTE[0])
        ax.set_yticks(where, names)
        ax.invert_yaxis()
        if percent:
            percent_axis(ax.xaxis)
        if title:
            ax.set_title(safe_label(title, 80))
        note_left_out(ax, left_out, by=label, most=MAX_BARS)
    return ax
