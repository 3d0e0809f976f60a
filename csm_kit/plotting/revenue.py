"""MRR charts: the one-month bridge as a waterfall, and the monthly movements as stacked bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from csm_kit.errors import ConfigError
from csm_kit.formatting import format_money
from csm_kit.periods import parse_as_of
from csm_kit.plotting.style import (
    DATE_FORMAT,
    GREY,
    INK,
    MOVEMENT_COLOURS,
    money_axis,
    month_labels,
    no_data,
    require_columns,
    styled_axes,
    tick_every,
    tidy_legend,
)

GAINS = ("new", "expansion", "reactivation")
LOSSES = ("contraction", "churn")
BRIDGE_COLUMNS = ["month", "start_mrr", *GAINS, *LOSSES, "end_mrr"]
STEP_NAMES = ["Start MRR", "New", "Expansion", "Reactivation", "Contraction", "Churn", "End MRR"]


def plot_mrr_bridge(bridge: pd.DataFrame, *, month=None, from_zero: bool = False,
                    currency: str | None = None, ax: Axes | None = None) -> Axes:
    """Draw one month of the MRR bridge as a waterfall, from opening to closing MRR.

    Bars, left to right: start MRR (from 0), + new, + expansion, + reactivation (rising from
    the running total), − contraction, − churn (falling from it), end MRR (from 0). Each bar
    is labelled with its amount; dotted connectors carry the running total across.

    Parameters
    ----------
    bridge : the output of :func:`csm_kit.revenue.mrr_bridge` — month, start_mrr, new,
        expansion, reactivation, contraction, churn, end_mrr (positive amounts per month).
    month : the month to draw (a date or "2024-03"); None = the last month in ``bridge``.
    from_zero : start the MRR axis at 0 even when that leaves the movements as slivers.
    currency : the reporting currency's ISO code: bar labels and the axis read "$5.8M"
        (None = no sign).
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : ``ax.containers[0]`` holds the seven bars, each labelled with its amount
    ("$230", "+$20", "−$50"); a loss has a negative height whose
    bottom is the running total before it.

    Notes
    -----
    The bars are laid out from the bridge's own numbers (running totals only), so a bridge
    that balances ends exactly on the end MRR bar. A bridge with one row per group (``by=``)
    must be narrowed to one group first. When a month's movements are small next to its MRR,
    the axis starts above 0 so they stay readable, and the axis label says where it starts
    (``from_zero=True`` keeps 0).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> bridge = pd.DataFrame({"month": pd.to_datetime(["2024-03-01"]), "start_mrr": [230.0],
    ...     "new": [0.0], "expansion": [20.0], "reactivation": [0.0], "contraction": [50.0],
    ...     "churn": [10.0], "end_mrr": [190.0]})
    >>> ax = plot_mrr_bridge(bridge)
    >>> [float(p.get_height()) for p in ax.containers[0]]
    [230.0, 0.0, 20.0, 0.0, -50.0, -10.0, 190.0]
    >>> [float(p.get_y()) for p in ax.containers[0]]
    [0.0, 230.0, 230.0, 250.0, 250.0, 200.0, 0.0]
    >>> plt.close(ax.figure)
    >>> ax = plot_mrr_bridge(bridge.assign(start_mrr=2_300_000.0, expansion=20_000.0,
    ...                      contraction=50_000.0, churn=10_000.0, end_mrr=2_260_000.0),
    ...                      currency="USD")
    >>> [t.get_text() for t in ax.texts][:3], ax.get_title(loc="left")
    (['$2.3M', '+$0', '+$20K'], 'MRR bridge, Mar 2024')
    >>> plt.close(ax.figure)
    """
    require_columns(bridge, BRIDGE_COLUMNS, name="bridge")
    _one_row_per_month(bridge)
    row = None if bridge.empty else _bridge_row(bridge, month)
    with styled_axes(ax) as ax:
        if row is None:
            return no_data(ax, "MRR bridge")
        values = row[BRIDGE_COLUMNS[1:]].to_numpy(dtype="float64")
        heights = values * np.array([1, 1, 1, 1, -1, -1, 1])
        bottoms = np.r_[0.0, np.cumsum(heights[:-2]), 0.0]
        colours = [GREY, *(MOVEMENT_COLOURS[m] for m in (*GAINS, *LOSSES)), GREY]
        steps = np.arange(len(STEP_NAMES))
        bars = ax.bar(steps, heights, bottom=bottoms, color=colours, width=0.6)
        ax.set_xticks(steps, STEP_NAMES, rotation=20, ha="right", rotation_mode="anchor")
        signs = ["", "+", "+", "+", "−", "−", ""]
        ax.bar_label(bars, labels=[f"{s}{format_money(v, currency)}"
                                   for s, v in zip(signs, values, strict=True)],
                     padding=2, fontsize=8, color=INK)
        levels = np.cumsum(heights[:-1])
        ax.hlines(levels, steps[:-1] + 0.3, steps[1:] - 0.3, colors=GREY,
                  linestyles=":", linewidth=0.8)
        floor = 0.0 if from_zero else _zoom_on_movements(ax, levels)
        money_axis(ax.yaxis, currency)
        ax.set_ylabel("MRR" if floor == 0 else
                      f"MRR (axis starts at {format_money(floor, currency)})".replace("$", r"\$"))
        ax.set_title(f"MRR bridge, {pd.Timestamp(row['month']).strftime(DATE_FORMAT)}")
    return ax


def plot_mrr_movements(bridge: pd.DataFrame, *, currency: str | None = None,
                       ax: Axes | None = None) -> Axes:
    """Draw MRR movements per month: gains stacked up, losses stacked down, net change as a line.

    Parameters
    ----------
    bridge : the output of :func:`csm_kit.revenue.mrr_bridge` (one row per month).
    currency : the reporting currency's ISO code for the axis ("$250K"); None = no sign.
    ax : draw here; None = a new figure.

    Returns
    -------
    Axes : one bar container per movement, labelled New, Expansion, Reactivation,
    contraction, churn (losses with negative heights); the line "Net change" (gid "net")
    is end_mrr − start_mrr of each month.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> bridge = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01"]),
    ...     "start_mrr": [0.0, 100.0], "new": [100.0, 80.0], "expansion": [0.0, 50.0],
    ...     "reactivation": [0.0, 0.0], "contraction": [0.0, 30.0], "churn": [0.0, 0.0],
    ...     "end_mrr": [100.0, 200.0]})
    >>> ax = plot_mrr_movements(bridge)
    >>> ax.lines[0].get_ydata().tolist(), [t.get_text() for t in ax.get_xticklabels()]
    ([100.0, 100.0], ['Jan 2024', 'Feb 2024'])
    >>> plt.close(ax.figure)
    """
    require_columns(bridge, BRIDGE_COLUMNS, name="bridge")
    _one_row_per_month(bridge)
    with styled_axes(ax) as ax:
        if bridge.empty:
            return no_data(ax, "MRR movements")
        data = bridge.sort_values("month")
        where = np.arange(len(data))
        for columns, sign in ((GAINS, 1), (LOSSES, -1)):
            stacked = np.zeros(len(data))
            for movement in columns:
                height = sign * data[movement].to_numpy(dtype="float64")
                ax.bar(where, height, bottom=stacked, width=0.7, label=movement.capitalize(),
                       color=MOVEMENT_COLOURS[movement])
                stacked += height
        net = (data["end_mrr"] - data["start_mrr"]).to_numpy(dtype="float64")
        ax.plot(where, net, color=INK, marker="o", markersize=3, linewidth=1.4,
                label="Net change", gid="net")
        ax.axhline(0, color=GREY, linewidth=0.8)
        every = tick_every(len(data))
        ax.set_xticks(where[::every], month_labels(data["month"])[::every])
        money_axis(ax.yaxis, currency)
        ax.set_ylabel("MRR change")
        ax.set_title("MRR movements by month")
        tidy_legend(ax)
    return ax


def _zoom_on_movements(ax: Axes, levels: np.ndarray) -> float:
    """Start the axis near the lowest running total when 0 would hide the movements.

    Returns where the axis starts (0 when the movements are large enough to read from 0).
    """
    low, high = levels.min(), levels.max()
    spread = max(high - low, 0.02 * high)
    floor = low - 2 * spread
    if floor <= 0.5 * low:
        return 0.0
    step = 10 ** np.floor(np.log10(spread))
    floor = float(np.floor(floor / step) * step)
    ax.set_ylim(floor, high + 0.15 * (high - floor))
    return floor


def _one_row_per_month(bridge: pd.DataFrame) -> None:
    repeated = bridge["month"].duplicated()
    if repeated.any():
        extra = [str(c) for c in bridge.columns if c not in BRIDGE_COLUMNS]
        raise ConfigError(f"`bridge` has several rows for month "
                          f"{pd.Timestamp(bridge.loc[repeated, 'month'].iloc[0]):%Y-%m} "
                          f"(one per {extra or 'group'}?); draw one group at a time, e.g. "
                          f"bridge[bridge[column] == value]")


def _bridge_row(bridge: pd.DataFrame, month) -> pd.Series:
    months = pd.to_datetime(bridge["month"])
    if month is None:
        wanted = months.max()
    else:
        try:
            wanted = parse_as_of(month)
        except ConfigError:
            raise ConfigError(f"`month` must be a date like 2024-03, got {month!r}") from None
    chosen = bridge[months == wanted]
    if chosen.empty:
        raise ConfigError(f"`month` {wanted:%Y-%m} is not in the bridge, which covers "
                          f"{months.min():%Y-%m} to {months.max():%Y-%m}")
    return chosen.iloc[0]
