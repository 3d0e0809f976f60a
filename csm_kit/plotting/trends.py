"""Trend charts: a rate or score over time with its interval, target, events and small samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes

from csm_kit.errors import ConfigError
from csm_kit.plotting.style import (
    DATE_FORMAT,
    GREY,
    INK,
    MAX_LINES,
    largest_groups,
    money_axis,
    no_data,
    note_left_out,
    percent_axis,
    plain_axis,
    require_columns,
    safe_label,
    safe_labels,
    styled_axes,
    tick_every,
    tidy_legend,
)

#: Event labels are listed in the legend beside their number; longer ones are cut.
EVENT_LABEL_LEN = 40
SMALL_SAMPLE_LABEL = "small sample (n shown)"


def plot_trend(frame: pd.DataFrame, *, x: str = "month", y: str = "rate",
               ci: tuple[str, str] | None = ("ci_low", "ci_high"), target: float | None = None,
               events: pd.DataFrame | None = None, percent: bool = True,
               title: str | None = None, ylabel: str | None = None, by: str | None = None,
               label: str | None = None, show_n: bool | None = None,
               money: bool = False, currency: str | None = None,
               ax: Axes | None = None) -> Axes:
    """Draw a metric over time: one line per group, its interval, the target and events.

    Used for logo churn (month, rate, ci_low, ci_high), NRR/GRR (month, rate), NPS and CSAT
    (period, value, ci_low, ci_high, n, small_sample) and any tidy per-period table.

    Parameters
    ----------
    frame : tidy metric output, one row per period (and group).
    x, y : the time column and the value column.
    ci : the interval's (low, high) columns, shaded when both are in ``frame``; None = no band.
    target : a goal in the units of ``y``, drawn as a dashed line labelled "target".
    events : the events table (date, label[, segment]); each event inside the charted period
        is a dotted vertical line numbered above the plot, its label (and segment) listed
        beside the number in the legend, so no text covers the data; the latest 10 are
        drawn, and "+N earlier events not shown" says how many more there are.
    percent : ``y`` holds shares (0.05 = 5%); False for points (NPS) or counts.
    money : ``y`` holds amounts: the axis reads "$1.5M" (overrides ``percent``).
    currency : the reporting currency's ISO code for money axes (None = no sign).
    title, ylabel : plain text (a ``$`` is drawn as a dollar sign).
    by : a column of ``frame``: one line per value, named in the legend; at most
        :data:`~csm_kit.plotting.style.MAX_LINES` (10), the largest by total ``n`` (by rows
        without an ``n`` column), and a last legend entry "+N more … not shown" for the rest.
    label : legend entry of the single line when ``by`` is None (e.g. "NRR" when NRR and GRR
        share an Axes: ``plot_trend(grr, ax=plot_trend(nrr, label="NRR"), label="GRR")``).
    show_n : draw each period's ``n`` as faint bars along the bottom (on a twin axis using
        the lowest fifth of the height), so every figure shows the count behind it. None =
        whenever ``frame`` has an ``n`` column and there is one line.
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : lines with gid "series", the target line gid "target", event lines gid "events"
    (their empty legend keys gid "event_key"), small-sample markers gid "small_sample"; the n bars (gid "n") are on a twin Axes. The
    legend sits outside the plot, on the right; months read "Mar 2024".

    Notes
    -----
    When ``frame`` has ``n`` and ``small_sample`` columns, points flagged small are drawn
    hollow and grey with "n=…" beside them. An event counts as inside the charted period from
    the first ``x`` up to one period step after the last (an outage on 15 June belongs to the
    June point). Nothing is computed: rows are only sorted by ``x`` for drawing.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> churn = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
    ...                       "rate": [0.04, 0.06, 0.05]})
    >>> events = pd.DataFrame({"date": pd.to_datetime(["2024-02-10"]), "label": ["Price $ up"]})
    >>> ax = plot_trend(churn, target=0.05, events=events, title="Logo churn")
    >>> [line.get_gid() for line in ax.lines]
    ['series', 'target', 'event_key']
    >>> [t.get_text() for t in ax.texts], [t.get_text() for t in ax.get_legend().get_texts()]
    (['1'], ['target', '1  Price \\\\$ up'])
    >>> type(ax.yaxis.get_major_formatter()).__name__
    'SharePercent'

    >>> plt.close(ax.figure)
    """
    require_columns(frame, [x, y] + ([by] if by is not None else []), name="frame")
    if events is not None:
        require_columns(events, ["date", "label"], name="events")
        if not pd.api.types.is_datetime64_any_dtype(frame[x]):
            raise ConfigError(f"`events` can only be drawn on a date axis; column {x!r} holds "
                              f"{frame[x].dtype}")
    band = ci if ci is not None and set(ci) <= set(frame.columns) else None
    if frame.empty and ax is not None and ax.lines:
        return ax  # nothing to add to a chart that already shows other lines
    with styled_axes(ax) as ax:
        if frame.empty:
            return no_data(ax, "data")
        drawn, left_out = largest_groups(frame, by, most=MAX_LINES, sizes=_group_sizes(frame, by))
        groups = (drawn.groupby(by, sort=True, observed=True) if by is not None
                  else [(label, frame)])
        for key, rows in groups:
            _draw_series(ax, rows.sort_values(x), x=x, y=y, band=band,
                         label=None if key is None else safe_label(key))
        if show_n is None:
            show_n = "n" in frame.columns and by is None
        if show_n:
            _draw_counts(ax, frame.sort_values(x), x=x)
        if target is not None:
            ax.axhline(target, color=INK, linestyle="--", linewidth=1, label="target",
                       gid="target")
        if events is not None:
            _draw_events(ax, events, frame[x])
        if pd.api.types.is_datetime64_any_dtype(frame[x]):
            _date_axis(ax, frame[x])
        if money:
            money_axis(ax.yaxis, currency)
        elif percent:
            percent_axis(ax.yaxis)
        else:
            plain_axis(ax.yaxis)
        if title is not None:  # above the event numbers, when there are any
            ax.set_title(safe_label(title, 120), pad=14 if events is not None else None)
        if ylabel is not None:
            ax.set_ylabel(safe_label(ylabel, 80))
        note_left_out(ax, left_out, by=by, most=MAX_LINES, legend=True)
        tidy_legend(ax)
    return ax


def _group_sizes(frame: pd.DataFrame, by: str | None) -> pd.Series | None:
    """Each ``by`` group's total ``n`` (its answers, customers…), or None to count rows."""
    if by is None or "n" not in frame.columns:
        return None
    return frame.groupby(by, sort=True, observed=True)["n"].sum()


def _draw_series(ax: Axes, rows: pd.DataFrame, *, x: str, y: str, band, label) -> None:
    (line,) = ax.plot(rows[x], rows[y], marker="o", markersize=3.5, linewidth=1.8,
                      label=label, gid="series")
    if band is not None:
        ax.fill_between(rows[x], rows[band[0]], rows[band[1]], color=line.get_color(),
                        alpha=0.18, linewidth=0)
    if {"n", "small_sample"} <= set(rows.columns):
        _mark_small_samples(ax, rows[rows["small_sample"].fillna(False).astype(bool)], x=x, y=y)


def _draw_counts(ax: Axes, rows: pd.DataFrame, *, x: str) -> None:
    counts = ax.twinx()
    step = _period_step(rows[x]) if pd.api.types.is_datetime64_any_dtype(rows[x]) else None
    width = step * 0.6 if step is not None and step > pd.Timedelta(0) else 0.6
    counts.bar(rows[x], rows["n"], width=width, color=GREY, alpha=0.25, gid="n")
    top = float(rows["n"].max()) if rows["n"].notna().any() else 0.0
    counts.set_ylim(0, max(top, 1.0) * 5)  # the bars use the bottom fifth of the chart
    counts.set_ylabel("n (count behind each point)", color=GREY, fontsize=8)
    counts.tick_params(axis="y", colors=GREY, labelsize=7)
    counts.grid(False)
    ax.set_zorder(counts.get_zorder() + 1)  # the line stays above the bars
    ax.patch.set_visible(False)


def _mark_small_samples(ax: Axes, small: pd.DataFrame, *, x: str, y: str) -> None:
    if small.empty:
        return
    ax.plot(small[x], small[y], linestyle="none", marker="o", markersize=6,
            markerfacecolor="white", markeredgecolor=GREY, label=SMALL_SAMPLE_LABEL,
            gid="small_sample")
    # Matplotlib has no vectorised text: one annotation per flagged point (a handful).
    for at, value, n in zip(small[x], small[y], small["n"], strict=True):
        ax.annotate(f"n={n:g}", (at, value), xytext=(4, 4), textcoords="offset points",
                    fontsize=7, color=GREY)


def _draw_events(ax: Axes, events: pd.DataFrame, xs: pd.Series) -> None:
    dates = pd.to_datetime(events["date"])
    low, high = xs.min(), xs.max() + _period_step(xs)
    shown = events[dates.between(low, high)]
    if shown.empty:
        return
    earlier = max(len(shown) - MAX_LINES, 0)  # the latest MAX_LINES events are numbered
    shown = shown.iloc[pd.to_datetime(shown["date"]).argsort(kind="stable")].iloc[earlier:]
    when = pd.to_datetime(shown["date"])
    text = shown["label"].astype("string").fillna("")
    if "segment" in shown.columns:
        segment = shown["segment"].astype("string")
        text = text.where(segment.isna(), text + " (" + segment + ")")
    ax.vlines(when, 0, 1, transform=ax.get_xaxis_transform(), colors=GREY, linestyles=":",
              linewidth=1, gid="events")
    # the number sits just above the plot area; the words go in the legend, off the data
    for number, (at, words) in enumerate(zip(when, safe_labels(text, EVENT_LABEL_LEN),
                                             strict=True), start=1):
        ax.text(at, 1.01, str(number), transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=7.5, color=GREY, clip_on=False)
        ax.plot([], [], color=GREY, linestyle=":", linewidth=1, label=f"{number}  {words}",
                gid="event_key")
    if earlier:
        ax.plot([], [], linestyle="none", label=f"+{earlier:,} earlier events not shown",
                gid="not_shown")


def _period_step(xs: pd.Series) -> pd.Timedelta:
    """The usual distance between consecutive periods (0 for a single period)."""
    steps = np.diff(np.sort(xs.dropna().unique()))
    return pd.Timedelta(np.median(steps)) if len(steps) else pd.Timedelta(0)


def _date_axis(ax: Axes, xs: pd.Series) -> None:
    """Month ticks written "Mar 2024" (:data:`DATE_FORMAT`, as on every chart); daily data
    gets "05 Mar 2024"."""
    if _period_step(xs) >= pd.Timedelta(days=28):
        months = (xs.max().year - xs.min().year) * 12 + xs.max().month - xs.min().month + 1
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=tick_every(months, most=6)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter(DATE_FORMAT))
    else:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
        ax.xaxis.set_major_formatter(mdates.DateFormatter(f"%d {DATE_FORMAT}"))
