"""Charts cap the groups they draw: any dataset, however many segments, gives a readable page.

Each chart is fed 5,000 groups (one report once drew a 94,582-px-tall legend for 5,000
segments) and must draw at most 10 lines or 30 bars — the largest groups — with a note saying
how many were left out, in a figure whose drawn size stays that of a normal chart.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from csm_kit.plotting import plot_health_bands, plot_intervals, plot_survival, plot_trend
from csm_kit.plotting.style import MAX_BARS, MAX_LINES, largest_groups

matplotlib.use("Agg")

GROUPS = 5_000
MONTHS = pd.date_range("2024-01-01", periods=3, freq="MS")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def drawn_height_px(ax) -> float:
    """The height of everything drawn (legend and notes included), in pixels at 100 dpi:
    what a notebook's inline backend (bbox_inches="tight") would show."""
    fig = ax.figure
    fig.set_dpi(100)
    fig.canvas.draw()
    return fig.get_tightbbox(fig.canvas.get_renderer()).height * 100


def not_shown_notes(ax) -> list[str]:
    legend = ax.get_legend()
    entries = [t.get_text() for t in legend.get_texts()] if legend is not None else []
    texts = [t.get_text() for t in ax.texts]
    return [t for t in entries + texts if "not shown" in t]


def per_month_by_segment() -> pd.DataFrame:
    """5,000 segments × 3 months; segment g has n = g + 1 answers each month, so the largest
    ten are g = 4990 … 4999."""
    segments = np.repeat(np.arange(GROUPS), len(MONTHS))
    return pd.DataFrame({"month": np.tile(MONTHS, GROUPS), "segment": [f"s{g:04d}" for g in segments],
                         "rate": 0.05, "n": segments + 1})


def test_a_trend_by_5000_segments_draws_the_10_largest_and_says_4990_are_not_shown():
    ax = plot_trend(per_month_by_segment(), by="segment", ci=None)
    series = [line for line in ax.lines if line.get_gid() == "series"]
    assert len(series) == MAX_LINES == 10
    assert sorted(line.get_label() for line in series) == [f"s{g}" for g in range(4990, 5000)]
    assert not_shown_notes(ax) == ["+4,990 more segment not shown (the 10 largest are drawn)"]
    assert drawn_height_px(ax) < 600  # an 8 × 4 inch chart is 400 px tall; the legend fits


def test_a_trend_with_few_groups_has_no_note():
    ax = plot_trend(per_month_by_segment().query("segment < 's0003'"), by="segment", ci=None)
    assert len([line for line in ax.lines if line.get_gid() == "series"]) == 3
    assert not_shown_notes(ax) == []


def test_survival_by_5000_segments_draws_the_10_largest_by_customers_at_the_start():
    # segment g starts with g + 1 customers at risk, so the largest are s4990 … s4999
    curves = pd.DataFrame({"segment": [f"s{g:04d}" for g in range(GROUPS)],
                           "months_since_start": 0, "at_risk": np.arange(GROUPS) + 1,
                           "survival": 1.0})
    ax = plot_survival(curves, by="segment")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:MAX_LINES] == [f"s{g} (n={g + 1})" for g in range(4990, 5000)]
    assert legend[MAX_LINES:] == ["+4,990 more segment not shown (the 10 largest are drawn)"]
    assert drawn_height_px(ax) < 600


def test_health_bands_by_5000_segments_draw_30_bars_of_the_largest_segments():
    # segment g has (g % 7) + 1 customers: the 30 largest are those with 7 customers (g % 7
    # == 6), the first 30 of them in sorted order: s0006, s0013, …
    sizes = [(g % 7) + 1 for g in range(GROUPS)]
    scores = pd.DataFrame({"segment": np.repeat([f"s{g:04d}" for g in range(GROUPS)], sizes),
                           "band": "green"})
    ax = plot_health_bands(scores, by="segment")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == MAX_BARS == 30
    assert labels == [f"s{g:04d}" for g in range(6, 7 * 30, 7)]
    assert not_shown_notes(ax) == ["+4,970 more segment not shown (the 30 largest are drawn)"]
    assert drawn_height_px(ax) < 600


def test_intervals_for_5000_csms_draw_the_30_books_with_the_largest_n():
    card = pd.DataFrame({"csm": [f"c{g:04d}" for g in range(GROUPS)], "rate": 0.1,
                         "lo": 0.05, "hi": 0.2, "n": np.arange(GROUPS) + 1})
    ax = plot_intervals(card, label="csm", value="rate", ci=("lo", "hi"), n="n")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 30
    assert {label.split(" ")[0] for label in labels} == {f"c{g}" for g in range(4970, 5000)}
    assert not_shown_notes(ax) == ["+4,970 more csm not shown (the 30 largest are drawn)"]
    assert drawn_height_px(ax) < 600


def test_a_chart_with_5000_events_numbers_the_latest_10():
    churn = pd.DataFrame({"month": MONTHS, "rate": [0.04, 0.05, 0.06]})
    events = pd.DataFrame({"date": pd.Timestamp("2024-02-01") + pd.to_timedelta(
        np.arange(GROUPS) % 28, unit="D"), "label": [f"e{i}" for i in range(GROUPS)]})
    ax = plot_trend(churn, events=events)
    assert len(ax.texts) == MAX_LINES  # the numbers above the plot
    assert not_shown_notes(ax) == ["+4,990 earlier events not shown"]
    assert drawn_height_px(ax) < 600


def test_largest_groups_never_depends_on_row_order():
    frame = per_month_by_segment().query("segment < 's0030'")
    kept, left_out = largest_groups(frame, "segment", most=10)  # all 3 rows each: ties
    shuffled, _ = largest_groups(frame.sample(frac=1, random_state=1), "segment", most=10)
    assert left_out == 20
    assert sorted(kept["segment"].unique()) == sorted(shuffled["segment"].unique()) == \
        [f"s{g:04d}" for g in range(10)]
