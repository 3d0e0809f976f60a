"""The look every csm-kit chart shares, and the rule that keeps customers' text plain on a chart.

One palette (Okabe & Ito's colour-blind-safe set, https://jfly.uni-koeln.de/color/), fixed
colours for health bands, NPS categories and MRR movements, and a calm rc style applied while a
chart is drawn. :func:`safe_label` is the single door through which data-derived text (segment,
event, CSM and customer names) reaches a chart: Matplotlib reads ``$...$`` as mathtext, so a
segment called "Deal $5M to $10M" would otherwise be typeset as math.

The plotting modules never choose a backend and never show or save a figure: a notebook keeps
its inline backend, a test picks Agg itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, PercentFormatter, ScalarFormatter

from csm_kit.errors import ConfigError
from csm_kit.formatting import format_axis_money
from csm_kit.safe_text import clean_text

#: Okabe–Ito colours, calm ones first: the colour of the n-th series on every chart.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
INK = "#333333"     # text, target lines, net lines
GREY = "#8C8C8C"    # totals, events, small samples
LIGHT = "#E3E3E3"   # grid
#: Health bands: vermillion / yellow / bluish green stay apart under the common colour blindnesses.
BAND_COLOURS = {"red": "#D55E00", "yellow": "#F0E442", "green": "#009E73"}
NPS_COLOURS = {"detractor": "#D55E00", "passive": "#D0D0D0", "promoter": "#009E73"}
MOVEMENT_COLOURS = {"new": "#0072B2", "expansion": "#56B4E9", "reactivation": "#009E73",
                    "contraction": "#E69F00", "churn": "#D55E00"}
#: The one way every chart writes a month (tick labels, cohort rows, titles' months).
DATE_FORMAT = "%b %Y"
#: Diverging red–blue for revenue retention, centred on 100% (below red, above blue).
DIVERGING_CMAP = "RdBu"
#: Sequential blues starting at a visible tint, so a 0% cell never looks like a blank (NaN) one.
HEATMAP_CMAP = ListedColormap(mpl.colormaps["Blues"](np.linspace(0.12, 1.0, 256)),
                              name="csm_blues")

#: rc settings in force while a csm-kit chart is drawn (``plt.rcParams.update`` to use them
#: for your own charts). ``text.usetex`` stays off: TeX would treat customers' text as markup.
CHART_STYLE = {
    "text.usetex": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "figure.figsize": (8.0, 4.0),
    "figure.constrained_layout.use": True,
    "font.size": 9.5,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelcolor": INK,
    "axes.edgecolor": GREY,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
}

_DOLLAR = re.compile(r"(?<!\\)\$")             # a dollar sign not escaped yet
_UNDRAWABLE = re.compile("[\x80-\x9f\ud800-\udfff]")  # C1 controls; lone surrogates crash FreeType


def safe_label(text, max_len: int = 60) -> str:
    r"""Turn one piece of data-derived text into a plain, one-line chart label.

    Removes control and invisible characters (by Unicode category, as
    :func:`csm_kit.safe_text.clean_text` does: NUL, C1 controls, bidirectional overrides such
    as U+202E, zero-width characters, U+2061–2064, the soft hyphen, tag characters, private
    use, lone surrogates, which crash font rendering), folds every run of whitespace and line breaks into one space, escapes
    ``$`` as ``\$`` so Matplotlib draws it literally instead of as mathtext, and cuts the
    result to ``max_len`` characters ending with "…".

    Parameters
    ----------
    text : any value; None and missing values give "".
    max_len : the longest label returned, counting the escaping backslashes.

    Returns
    -------
    str : at most ``max_len`` characters; applying ``safe_label`` again changes nothing.

    Notes
    -----
    A ``$`` already preceded by a backslash counts as escaped (Matplotlib's own rule), so the
    function is idempotent. A label starting with "_" gets a leading space, because Matplotlib
    hides legend entries whose label starts with an underscore.

    Examples
    --------
    >>> safe_label("Deal $5M to $10M")
    'Deal \\$5M to \\$10M'
    >>> safe_label("Acme\u202eCorp\x00\nLtd")
    'AcmeCorp Ltd'
    >>> safe_label("x" * 100, max_len=5)
    'xxxx…'
    """
    if not isinstance(max_len, int) or max_len < 1:
        raise ConfigError(f"`max_len` must be a whole number >= 1, got {max_len!r}")
    if text is None or _is_missing(text):
        return ""
    raw = str(text)
    plain = " ".join(_UNDRAWABLE.sub("", clean_text(raw, max_len=len(raw) + 1)).split())
    if plain.startswith("_"):
        plain = " " + plain
    escaped = _escape(plain)
    if len(escaped) <= max_len:
        return escaped
    keep = plain[: max_len - 1]
    while len(_escape(keep)) > max_len - 1:  # at most max_len steps: each escape adds one char
        keep = keep[:-1]
    return _escape(keep.rstrip()) + "…"


def _escape(text: str) -> str:
    return _DOLLAR.sub(r"\\$", text)


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are not a missing scalar
        return False


def safe_labels(values: Sequence, max_len: int = 60) -> list[str]:
    """Apply :func:`safe_label` to each value (tick labels, legend entries)."""
    return [safe_label(value, max_len) for value in values]


def month_labels(values) -> list[str]:
    """Label months as "Mar 2024" (:data:`DATE_FORMAT`); anything that is not a date goes
    through :func:`safe_label`.

    >>> month_labels(pd.DatetimeIndex(["2024-03-01", "2024-04-01"]))
    ['Mar 2024', 'Apr 2024']
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return list(pd.DatetimeIndex(values).strftime(DATE_FORMAT))
    return safe_labels(values)


@contextmanager
def styled_axes(ax: Axes | None = None, *, grid: str | None = "y",
                figsize: tuple[float, float] | None = None) -> Iterator[Axes]:
    """Yield ``ax`` (or a new figure's Axes) with the kit's style in force; tidy it afterwards.

    On exit: top and right spines hidden, a light grid on ``grid`` ("x", "y" or None) behind
    the data, and TeX switched off for every text of the Axes (tick labels included).
    """
    with mpl.rc_context(CHART_STYLE):
        made = ax is None
        if made:
            _, ax = plt.subplots(figsize=figsize)
        yield ax
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(False)
        if grid is not None:
            ax.grid(True, axis=grid, color=LIGHT, linewidth=0.7)
            ax.set_axisbelow(True)
        plain_text(ax)
        if made:
            drawn_once(ax.figure)


def drawn_once(figure) -> None:
    """Spare a figure of Jupyter's inline backend its first, unseen drawing.

    In a notebook with ``%matplotlib inline``, pyplot draws every changed ("stale") figure
    when a cell ends, and then the inline backend draws it again into the PNG the notebook
    shows: the first drawing is never seen and costs as much as the second (a third of a
    report's chart time). Marking the new figure as drawn leaves only the PNG's drawing.
    Other backends (a window, a widget, Agg in tests) draw as before: there the first
    drawing is the one shown.
    """
    if mpl.get_backend() in ("inline", "module://matplotlib_inline.backend_inline"):
        figure.stale = False


def plain_text(*axes: Axes) -> None:
    """Switch TeX off for every text of ``axes`` (ticks are created now so later ones copy them)."""
    for each in axes:
        each.xaxis.get_major_ticks()
        each.yaxis.get_major_ticks()
        for text in each.findobj(Text):
            text.set_usetex(False)


def tick_every(count: int, *, most: int = 8) -> int:
    """A calendar-friendly step (1, 2, 3, 6, 12, … months) that leaves at most ``most`` ticks.

    >>> tick_every(36), tick_every(5)
    (6, 1)
    """
    steps = (1, 2, 3, 6, 12, 24, 60, 120)
    return next((k for k in steps if count / k <= most), steps[-1])


class SharePercent(PercentFormatter):
    """Shares as percentages with as few decimals as the tick spacing needs: ticks 0.01
    apart read "1%, 2%", 0.005 apart "1.5%, 2.0%" — never "5.00%"."""

    def __init__(self):
        super().__init__(xmax=1.0)
        self._step: float | None = None

    def set_locs(self, locs) -> None:
        """Matplotlib hands the tick values over before labelling them: the spacing is worked
        out once here, not again for every label (asking the axis recomputes its ticks)."""
        super().set_locs(locs)
        self._step = _spacing(locs)

    def __call__(self, x, pos=None):
        if self._step is None:
            self._step = _spacing(self.axis.get_majorticklocs() if self.axis is not None else [])
        digits = 0 if self._step >= 0.999 else 1 if self._step >= 0.0999 else 2
        return f"{x * 100:.{digits}f}%".replace("-", "−")


def _spacing(ticks) -> float:
    """The smallest distance between ticks, in percentage points (1.0 with fewer than two)."""
    ticks = np.sort(np.asarray(ticks, dtype="float64"))
    return float(np.min(np.diff(ticks))) * 100 if len(ticks) > 1 else 1.0


def percent_axis(axis) -> None:
    """Show shares on ``axis`` (``ax.yaxis``) as percentages: 0.05 → 5%."""
    axis.set_major_formatter(SharePercent())


def money_axis(axis, currency: str | None = None) -> None:
    """Show amounts on ``axis`` in the reporting currency with K/M: 1500000 → "$1.5M".

    ``currency`` is an ISO 4217 code (None = no sign); never an offset or "1e6".
    """
    axis.set_major_formatter(FuncFormatter(lambda x, _: format_axis_money(x, currency)))


def plain_axis(axis) -> None:
    """Show plain numbers on ``axis``: no "1e6" and no "+5.79e6" offset above the axis."""
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)


#: Where legends go: outside the plot, to the right, so they never cover the data.
LEGEND_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}


def tidy_legend(ax: Axes, **options) -> None:
    """Draw a legend with one entry per distinct label (if there is any label), outside the
    plot area on the right unless ``options`` place it."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        ax.legend(list(unique.values()), list(unique.keys()), **(options or LEGEND_OUTSIDE))


#: The most lines a line chart draws (one per group) and the most bars a bar chart draws:
#: beyond these a chart is unreadable (5,000 segments once made a legend 94,582 px tall).
MAX_LINES = 10
MAX_BARS = 30


def largest_groups(frame: pd.DataFrame, by: str | None, *, most: int,
                   sizes: pd.Series | None = None) -> tuple[pd.DataFrame, int]:
    """Keep the rows of the ``most`` largest groups of ``frame[by]``; say how many are left out.

    ``sizes`` is each group's size indexed by the ``by`` value (customers at the start, the
    sum of ``n``…); None = the group's number of rows. Equal sizes keep the first groups in
    sorted order, so the choice never depends on row order.

    >>> frame = pd.DataFrame({"segment": ["a", "b", "b", "c", "c", "c"]})
    >>> kept, left_out = largest_groups(frame, "segment", most=2)
    >>> sorted(kept["segment"].unique()), left_out
    (['b', 'c'], 1)
    """
    if by is None:
        return frame, 0
    if sizes is None:
        sizes = frame.groupby(by, observed=True, sort=True).size()
    if len(sizes) <= most:
        return frame, 0
    try:
        sizes = sizes.sort_index()
    except TypeError:  # group names of mixed types: keep their order in the data
        pass
    keep = sizes.sort_values(ascending=False, kind="stable").index[:most]
    return frame.loc[frame[by].isin(keep)], len(sizes) - most


def note_left_out(ax: Axes, left_out: int, *, by: str, most: int, legend: bool = False) -> None:
    """Say "+N more <by> not shown (the M largest are drawn)": as the last legend entry
    (``legend``, for line charts; call before :func:`tidy_legend`) or above the plot's right
    end (bar charts). Nothing when ``left_out`` is 0."""
    if left_out <= 0:
        return
    text = f"+{left_out:,} more {safe_label(by, 30)} not shown (the {most} largest are drawn)"
    if legend:
        ax.plot([], [], linestyle="none", label=text, gid="not_shown")
    else:
        ax.text(1.0, 1.01, text, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7.5, color=GREY, gid="not_shown")


def no_data(ax: Axes, what: str) -> Axes:
    """Say on ``ax`` that there is nothing to draw, instead of an empty frame of axes."""
    ax.text(0.5, 0.5, f"No {what} to show", transform=ax.transAxes, ha="center", va="center",
            color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def require_columns(frame: pd.DataFrame, columns: Sequence[str], *, name: str) -> None:
    """Raise ConfigError naming the missing columns of ``frame`` and the ones it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"`{name}` must have the column(s) {missing}; it has "
                          f"{[str(c) for c in frame.columns]}; pass the output of the matching "
                          f"metric function or name its columns with the plot's options")
