"""Tests for csm_kit.plotting: charts asserted on their data and labels, never on pixels."""

from __future__ import annotations

import inspect
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import cbook
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

from csm_kit.errors import ConfigError
from csm_kit.plotting import (
    BAND_COLOURS,
    NPS_COLOURS,
    PALETTE,
    plot_cohort_heatmap,
    plot_distribution,
    plot_health_bands,
    plot_mrr_bridge,
    plot_mrr_movements,
    plot_survival,
    plot_trend,
    safe_label,
)
from csm_kit.plotting import cohorts as plotting_cohorts
from csm_kit.plotting import revenue as plotting_revenue
from csm_kit.plotting import scores as plotting_scores
from csm_kit.plotting import style as plotting_style
from csm_kit.plotting import trends as plotting_trends

matplotlib.use("Agg")  # here only: the package must leave the notebooks' inline backend alone

MONEY_SEGMENT = "Deal $5M to $10M"
ESCAPED_SEGMENT = r"Deal \$5M to \$10M"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def months(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts)))


def legend_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def churn_frame() -> pd.DataFrame:
    return pd.DataFrame({"month": months("2024-01-01", "2024-02-01", "2024-03-01"),
                         "rate": [0.04, 0.06, 0.05], "ci_low": [0.02, 0.03, 0.03],
                         "ci_high": [0.08, 0.10, 0.09]})


def bridge_frame() -> pd.DataFrame:
    # Feb: 100 + 80 + 50 + 0 − 30 − 0 = 200; Mar: 200 + 0 + 0 + 10 − 0 − 60 = 150.
    return pd.DataFrame({"month": months("2024-01-01", "2024-02-01", "2024-03-01"),
                         "start_mrr": [0.0, 100.0, 200.0], "new": [100.0, 80.0, 0.0],
                         "expansion": [0.0, 50.0, 0.0], "reactivation": [0.0, 0.0, 10.0],
                         "contraction": [0.0, 30.0, 0.0], "churn": [0.0, 0.0, 60.0],
                         "end_mrr": [100.0, 200.0, 150.0]})


def cohort_matrix() -> pd.DataFrame:
    return pd.DataFrame([[1.0, 0.5, 0.0], [1.0, 0.75, np.nan], [1.0, np.nan, np.nan]],
                        index=pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2024-03-01"],
                                               name="cohort"),
                        columns=pd.Index([0, 1, 2], name="months_since_start"))


# --------------------------------------------------------------------------- safe_label


def test_a_label_with_dollar_amounts_is_escaped_and_renders_literally():
    fig, ax = plt.subplots()
    title = ax.set_title(safe_label(MONEY_SEGMENT))
    fig.canvas.draw()  # mathtext would choke on or typeset "$5M to $"; this must not raise
    assert title.get_text() == ESCAPED_SEGMENT
    assert not cbook.is_math_text(title.get_text())  # Matplotlib draws it as plain text


def test_a_segment_with_dollar_amounts_reaches_the_legend_escaped():
    frame = pd.concat([churn_frame().assign(segment=MONEY_SEGMENT),
                       churn_frame().assign(segment="SMB")])
    ax = plot_trend(frame, by="segment")
    ax.figure.canvas.draw()
    assert legend_texts(ax) == [ESCAPED_SEGMENT, "SMB"]


def test_a_megabyte_label_is_cut_to_sixty_characters_ending_with_an_ellipsis():
    label = safe_label("Acme " * 200_000)
    assert len(label) <= 60
    assert label.endswith("…")
    assert label.startswith("Acme Acme")


def test_cutting_never_splits_an_escaped_dollar_and_counts_the_backslashes():
    label = safe_label("$" * 1_000_000)
    assert len(label) <= 60 and label.endswith("…")
    assert label[:-1] == r"\$" * 29  # 29 escaped dollars = 58 characters, then "…"


def test_control_bidi_override_and_zero_width_characters_are_removed():
    nasty = "Ac\x00me\u202e Co\u200b\u200c\u200d\u200e\u200f\u2060\ufeffrp\x07\nLtd\t"
    assert safe_label(nasty) == "Acme Corp Ltd"


def test_lone_surrogates_are_removed_so_font_rendering_does_not_crash():
    fig, ax = plt.subplots()
    ax.set_title(safe_label("Acme\ud800 Corp"))
    fig.canvas.draw()
    assert ax.get_title() == "Acme Corp"


def test_missing_values_give_an_empty_label_and_numbers_their_text():
    assert [safe_label(v) for v in (None, np.nan, pd.NA, pd.NaT)] == ["", "", "", ""]
    assert safe_label(42) == "42"


def test_a_label_starting_with_an_underscore_still_shows_in_the_legend():
    # Matplotlib hides legend entries whose label starts with "_".
    frame = pd.concat([churn_frame().assign(segment="_internal"),
                       churn_frame().assign(segment="SMB")])
    assert legend_texts(plot_trend(frame, by="segment")) == ["SMB", " _internal"]


def test_max_len_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="`max_len` must be a whole number >= 1, got 0"):
        safe_label("x", max_len=0)


BRIEF_INVISIBLES = "".join(map(chr, [*range(0, 32), 127, 0x202E, *range(0x200B, 0x2010),
                                     0x2060, 0xFEFF]))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec=None) | st.sampled_from("$\\_ \n\u202e\u200b\ud800")),
       max_len=st.integers(1, 80))
def test_safe_labels_are_short_plain_text_without_invisibles_and_idempotent(text, max_len):
    label = safe_label(text, max_len)
    assert len(label) <= max_len
    assert not cbook.is_math_text(label)
    assert not set(label) & set(BRIEF_INVISIBLES)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in label)
    assert safe_label(label, max_len) == label


# --------------------------------------------------------------------------- style


def test_the_plotting_modules_never_pick_a_backend_show_or_save():
    for module in (plotting_style, plotting_trends, plotting_cohorts, plotting_revenue,
                   plotting_scores):
        source = inspect.getsource(module)
        assert "matplotlib.use(" not in source and "mpl.use(" not in source
        assert ".show(" not in source and "savefig(" not in source


def test_the_health_band_colours_stay_apart_under_simulated_colour_blindness():
    # Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
    # color vision deficiency", severity-1.0 matrices (on linear RGB); distance CIE76 ΔE.
    simulations = {
        "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                       [-0.003882, -0.048116, 1.051998]],
        "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]],
        "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                       [0.004733, 0.691367, 0.303900]],
    }
    for name, matrix in simulations.items():
        for palette in (BAND_COLOURS, NPS_COLOURS):
            seen = [_lab(np.clip(np.array(matrix) @ _linear(c), 0, 1)) for c in palette.values()]
            for i in range(len(seen)):
                for j in range(i + 1, len(seen)):
                    assert np.linalg.norm(seen[i] - seen[j]) > 25, (name, palette)


def _linear(colour: str) -> np.ndarray:
    c = np.asarray(to_rgb(colour))
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear_rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


EVERY_CHART = [
    lambda: plot_trend(churn_frame()),
    lambda: plot_cohort_heatmap(cohort_matrix()),
    lambda: plot_mrr_bridge(bridge_frame()),
    lambda: plot_mrr_movements(bridge_frame()),
    lambda: plot_survival(pd.DataFrame({"months_since_start": [0, 1], "survival": [1.0, 0.5]})),
    lambda: plot_health_bands(pd.DataFrame({"band": ["red", "green"]})),
    lambda: plot_distribution(pd.Series([1, 2, 2, 5])),
]


@pytest.mark.parametrize("draw", EVERY_CHART)
def test_every_chart_returns_the_axes_it_drew_on(draw):
    ax = draw()
    assert isinstance(ax, Axes)
    ax.figure.canvas.draw()


@pytest.mark.parametrize("draw", EVERY_CHART)
def test_charts_draw_without_tex_even_when_the_notebook_turned_tex_on(draw):
    # No LaTeX is installed here: any text left with usetex=True would fail to draw.
    with matplotlib.rc_context({"text.usetex": True}):
        ax = draw()
        ax.figure.canvas.draw()
    assert not any(t.get_usetex() for t in ax.findobj(Text))


def test_a_chart_draws_on_the_axes_it_is_given():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_mrr_movements(bridge_frame(), ax=right) is right
    assert len(right.containers) == 5 and not left.containers
    assert len(plt.get_fignums()) == 1  # no extra figure was opened


# --------------------------------------------------------------------------- plot_trend


def test_the_trend_line_carries_the_rates_unchanged_on_a_percent_axis():
    ax = plot_trend(churn_frame())
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "series"]
    assert line.get_ydata().tolist() == [0.04, 0.06, 0.05]
    formatter = ax.yaxis.get_major_formatter()
    assert isinstance(formatter, PercentFormatter) and formatter.xmax == 1.0
    ax.figure.canvas.draw()
    assert all(t.get_text().endswith("%") for t in ax.get_yticklabels() if t.get_text())


def test_percent_false_leaves_scores_as_plain_numbers():
    nps = pd.DataFrame({"period": months("2024-01-01", "2024-02-01"), "value": [25.0, -10.0]})
    ax = plot_trend(nps, x="period", y="value", percent=False)
    assert not isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)


def test_the_interval_is_shaded_between_ci_low_and_ci_high():
    ax = plot_trend(churn_frame())
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    assert {0.02, 0.03, 0.08, 0.10, 0.09} <= set(np.round(ys, 6))


def test_the_target_is_a_dashed_line_at_the_target_value_labelled_target():
    ax = plot_trend(churn_frame(), target=0.05)
    (target,) = [ln for ln in ax.lines if ln.get_gid() == "target"]
    assert list(target.get_ydata()) == [0.05, 0.05]
    assert target.get_linestyle() == "--" and target.get_label() == "target"
    assert "target" in legend_texts(ax)


def test_events_are_vertical_lines_at_their_dates_with_safe_labels():
    events = pd.DataFrame({
        "date": pd.to_datetime(["2024-02-10", "2024-03-20", "2023-06-01", "2024-05-01"]),
        "label": ["Price $ up", "Outage\u202e", "long before", "long after"],
        "segment": [None, MONEY_SEGMENT, None, None],
    })
    ax = plot_trend(churn_frame(), events=events)
    (lines,) = [c for c in ax.collections if c.get_gid() == "events"]
    # 10 Feb is inside; 20 Mar is within one period after the last month (1 Mar); the others
    # are outside the charted period and left out.
    xs = [segment[0, 0] for segment in lines.get_segments()]
    assert xs == list(mdates.date2num(pd.to_datetime(["2024-02-10", "2024-03-20"])))
    # numbered just above the plot area; the words in the legend, off the data
    assert [t.get_text() for t in ax.texts] == ["1", "2"]
    assert all(t.get_position()[1] > 1 and not t.get_clip_on() for t in ax.texts)
    assert legend_texts(ax)[-2:] == [r"1  Price \$ up", r"2  Outage (Deal \$5M to \$10M)"]
    ax.figure.canvas.draw()


def test_events_need_a_date_axis():
    curve = pd.DataFrame({"month": [0, 1], "rate": [1.0, 0.9]})
    events = pd.DataFrame({"date": pd.to_datetime(["2024-01-01"]), "label": ["x"]})
    with pytest.raises(ConfigError, match="`events` can only be drawn on a date axis"):
        plot_trend(curve, events=events)


def test_one_line_and_one_legend_entry_per_group():
    frame = pd.concat([churn_frame().assign(segment=s) for s in ("SMB", "Enterprise")])
    ax = plot_trend(frame, by="segment")
    assert len([ln for ln in ax.lines if ln.get_gid() == "series"]) == 2
    assert legend_texts(ax) == ["Enterprise", "SMB"]


def test_small_samples_are_hollow_grey_points_with_their_n():
    nps = pd.DataFrame({"period": months("2024-01-01", "2024-02-01", "2024-03-01"),
                        "value": [20.0, 50.0, 10.0], "n": [40, 3, 35],
                        "small_sample": [False, True, False]})
    ax = plot_trend(nps, x="period", y="value", percent=False)
    (small,) = [ln for ln in ax.lines if ln.get_gid() == "small_sample"]
    assert small.get_ydata().tolist() == [50.0]
    assert small.get_markerfacecolor() == "white"
    assert to_hex(small.get_markeredgecolor()) == plotting_style.GREY.lower()
    assert [t.get_text() for t in ax.texts] == ["n=3"]
    assert "small sample (n shown)" in legend_texts(ax)


def test_a_missing_column_is_a_config_error_naming_it():
    nps = pd.DataFrame({"period": months("2024-01-01"), "value": [20.0]})
    with pytest.raises(ConfigError, match=r"must have the column\(s\) \['month', 'rate'\]"):
        plot_trend(nps)


def test_the_title_is_plain_text_and_a_second_call_keeps_it():
    ax = plot_trend(churn_frame(), title=f"Churn – {MONEY_SEGMENT}", label="churn")
    plot_trend(churn_frame().assign(rate=[0.01, 0.02, 0.03]), ax=ax, label="other")
    assert ax.get_title(loc="left") == rf"Churn – {ESCAPED_SEGMENT}"
    assert legend_texts(ax) == ["churn", "other"]


# --------------------------------------------------------------------------- cohorts


def test_immature_cohort_cells_are_masked_not_painted_as_zero():
    ax = plot_cohort_heatmap(cohort_matrix())
    cells = ax.collections[0].get_array()
    assert np.ma.getmaskarray(cells).tolist() == cohort_matrix().isna().to_numpy().tolist()
    assert cells[0, 2] == 0.0 and not np.ma.is_masked(cells[0, 2])  # a real 0% is painted
    zero_colour = plotting_style.HEATMAP_CMAP(0.0)
    assert to_hex(zero_colour) != "#ffffff"  # …in a colour that differs from a blank cell


def test_cohorts_are_labelled_by_month_and_small_matrices_show_percentages():
    ax = plot_cohort_heatmap(cohort_matrix())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Jan 2024", "Feb 2024", "Mar 2024"]
    # Six reached cells, row by row: 100%, 50%, 0%, 100%, 75%, 100%.
    assert [t.get_text() for t in ax.texts] == ["100%", "50%", "0%", "100%", "75%", "100%"]
    assert ax.get_title(loc="left") == "Logo retention by cohort"


def test_a_report_sized_matrix_is_annotated_and_only_a_huge_one_is_not():
    # the reports show 24 cohorts x up to 24 months: every reached cell carries its value
    report = pd.DataFrame(np.full((24, 24), 0.5),
                          index=pd.date_range("2022-01-01", periods=24, freq="MS", name="cohort"))
    assert [t.get_text() for t in plot_cohort_heatmap(report).texts] == ["50%"] * 24 * 24
    big = pd.DataFrame(np.full((40, 40), 0.5),
                       index=pd.date_range("2022-01-01", periods=40, freq="MS", name="cohort"))
    assert len(plot_cohort_heatmap(big).texts) == 0
    assert plot_cohort_heatmap(big, max_months=5).collections[0].get_array().shape == (40, 6)


def test_revenue_cohorts_use_a_diverging_palette_centred_on_100_percent():
    ax = plot_cohort_heatmap(cohort_matrix().replace(0.75, 1.3), kind="revenue")
    mesh = ax.collections[0]
    assert mesh.get_clim() == (0.0, 1.3)  # down to the lowest cell, up to the largest
    # 100% gets the palette's neutral middle; below it red, above it blue
    middle = matplotlib.colormaps[plotting_style.DIVERGING_CMAP](0.5)
    assert np.allclose(mesh.cmap(mesh.norm(1.0)), middle, atol=0.02)
    low, high = to_rgb(mesh.cmap(mesh.norm(0.5))), to_rgb(mesh.cmap(mesh.norm(1.3)))
    assert low[0] > low[2] and high[2] > high[0]
    assert [t.get_text() for t in ax.texts] == ["100%", "50%", "0%", "100%", "130%", "100%"]
    assert ax.get_title(loc="left") == "Revenue retention by cohort"


def test_a_cohort_heatmap_can_say_what_its_cells_are():
    ax = plot_cohort_heatmap(cohort_matrix(), title="Customers ordering again, by first-order cohort",
                             value_label="Customers ordering again")
    assert ax.get_title(loc="left") == "Customers ordering again, by first-order cohort"
    assert ax.collections[0].colorbar.ax.get_ylabel() == "Customers ordering again"


def test_an_unknown_cohort_kind_is_a_config_error():
    with pytest.raises(ConfigError, match=r"`kind` must be one of \['logo', 'revenue'\], got 'x'"):
        plot_cohort_heatmap(cohort_matrix(), kind="x")


# --------------------------------------------------------------------------- survival


def test_survival_curves_are_post_steps_with_bands_and_n_in_the_legend():
    curves = pd.DataFrame({
        "segment": [MONEY_SEGMENT] * 3 + ["SMB"] * 2,
        "months_since_start": [0, 1, 2, 0, 1], "at_risk": [3, 3, 2, 2, 1],
        "survival": [1.0, 2 / 3, 2 / 3, 1.0, 0.5], "ci_low": [1.0, 0.2, 0.2, 1.0, 0.1],
        "ci_high": [1.0, 0.9, 0.9, 1.0, 0.9]})
    ax = plot_survival(curves, by="segment")
    lines = [ln for ln in ax.lines if ln.get_gid() == "survival"]
    assert [ln.get_drawstyle() for ln in lines] == ["steps-post", "steps-post"]
    assert lines[1].get_ydata().tolist() == [1.0, 0.5]
    assert len(ax.collections) == 2  # one band per segment
    assert legend_texts(ax) == [rf"{ESCAPED_SEGMENT} (n=3)", "SMB (n=2)"]
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)


def test_survival_reads_a_month_column_when_that_is_what_the_curve_has():
    ax = plot_survival(pd.DataFrame({"month": [0, 1, 2], "survival": [1.0, 0.8, 0.6]}))
    assert ax.lines[0].get_xdata().tolist() == [0, 1, 2]


# --------------------------------------------------------------------------- revenue


def test_the_waterfall_bars_are_the_bridge_values_stacked_on_running_totals():
    ax = plot_mrr_bridge(bridge_frame(), month="2024-02")
    bars = list(ax.containers[0])
    # Feb: start 100, +80 new, +50 expansion, +0 reactivation, −30 contraction, −0 churn, end 200.
    assert [p.get_height() for p in bars] == [100.0, 80.0, 50.0, 0.0, -30.0, -0.0, 200.0]
    assert [p.get_y() for p in bars] == [0.0, 100.0, 180.0, 230.0, 230.0, 200.0, 0.0]
    assert [to_hex(p.get_facecolor()) for p in bars][1] == plotting_style.MOVEMENT_COLOURS["new"].lower()
    assert [t.get_text() for t in ax.get_xticklabels()] == plotting_revenue.STEP_NAMES
    assert ax.get_title(loc="left") == "MRR bridge, Feb 2024"
    assert [t.get_text() for t in ax.texts] == ["100", "+80", "+50", "+0", "−30", "−0", "200"]


def test_the_waterfall_defaults_to_the_last_month():
    ax = plot_mrr_bridge(bridge_frame())
    assert ax.get_title(loc="left") == "MRR bridge, Mar 2024"
    assert ax.containers[0][-1].get_height() == 150.0


def test_small_movements_zoom_the_axis_and_say_where_it_starts():
    bridge = bridge_frame().assign(start_mrr=[0.0, 10_000.0, 10_150.0],
                                   end_mrr=[100.0, 10_100.0, 10_100.0])
    zoomed = plot_mrr_bridge(bridge)  # Mar: 10,150 → 10,100, movements of 10 and 60
    assert zoomed.get_ylim()[0] > 9_000 and "axis starts at" in zoomed.get_ylabel()
    assert plot_mrr_bridge(bridge, from_zero=True).get_ylim()[0] <= 0


def test_a_month_outside_the_bridge_is_a_config_error():
    with pytest.raises(ConfigError, match="`month` 2023-12 is not in the bridge, which covers "
                                          "2024-01 to 2024-03"):
        plot_mrr_bridge(bridge_frame(), month="2023-12-15")
    with pytest.raises(ConfigError, match="`month` must be a date like 2024-03, got 'soon'"):
        plot_mrr_bridge(bridge_frame(), month="soon")


def test_a_bridge_with_one_row_per_group_must_be_narrowed_first():
    by_segment = pd.concat([bridge_frame().assign(segment=s) for s in ("SMB", "Enterprise")])
    with pytest.raises(ConfigError, match=r"several rows for month 2024-01 \(one per \['segment'\]"):
        plot_mrr_bridge(by_segment)
    with pytest.raises(ConfigError, match="several rows for month"):
        plot_mrr_movements(by_segment)


def test_movements_stack_gains_up_and_losses_down_with_the_net_change_line():
    ax = plot_mrr_movements(bridge_frame())
    bars = {c.get_label(): c for c in ax.containers}
    assert list(bars) == ["New", "Expansion", "Reactivation", "Contraction", "Churn"]
    assert [p.get_height() for p in bars["Expansion"]] == [0.0, 50.0, 0.0]
    assert [p.get_y() for p in bars["Expansion"]] == [100.0, 80.0, 0.0]  # on top of new
    assert [p.get_height() for p in bars["Churn"]] == [-0.0, -0.0, -60.0]
    assert [p.get_y() for p in bars["Churn"]] == [0.0, -30.0, 0.0]  # under contraction
    (net,) = [ln for ln in ax.lines if ln.get_gid() == "net"]
    assert net.get_ydata().tolist() == [100.0, 100.0, -50.0]  # end − start
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Jan 2024", "Feb 2024", "Mar 2024"]


# ------------------------------------------------------------- dashboard-standard formatting


def tick_texts(ax: Axes, axis: str = "y") -> list[str]:
    ax.figure.canvas.draw()
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels if t.get_text()]


def mrr_frame() -> pd.DataFrame:
    return pd.DataFrame({"month": pd.date_range("2024-01-01", periods=12, freq="MS"),
                         "mrr": np.linspace(1_200_000, 5_800_000, 12)})


def test_a_money_axis_reads_in_the_currency_with_k_and_m_never_1e6():
    ax = plot_trend(mrr_frame(), y="mrr", ci=None, money=True, currency="USD")
    ticks = tick_texts(ax)
    assert ticks and all(t.startswith("$") and t.endswith("M") for t in ticks if t != "$0"), ticks
    assert "$2M" in ticks and "$5M" in ticks
    assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e6" above the axis


def test_the_bridge_and_movements_write_amounts_in_the_currency():
    bridge = bridge_frame().assign(start_mrr=[0.0, 1e6, 2e6], new=[1e6, 8e5, 0.0],
                                   expansion=[0.0, 5e5, 0.0], contraction=[0.0, 3e5, 0.0],
                                   reactivation=[0.0, 0.0, 1e5], churn=[0.0, 0.0, 6e5],
                                   end_mrr=[1e6, 2e6, 1.5e6])
    ax = plot_mrr_bridge(bridge, month="2024-02", currency="EUR")
    # Feb: start 1M, +800K new, +500K expansion, +0, −300K contraction, −0 churn, end 2M
    assert [t.get_text() for t in ax.texts] == ["€1M", "+€800K", "+€500K", "+€0", "−€300K",
                                                "−€0", "€2M"]
    assert all(t.startswith(("€", "−€")) for t in tick_texts(ax))
    movements = plot_mrr_movements(bridge, currency="EUR")
    assert all(t.startswith(("€", "−€")) for t in tick_texts(movements))


def test_a_plain_number_axis_has_no_offset_or_scientific_notation():
    frame = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=3, freq="MS"),
                          "value": [5_798_100.0, 5_798_200.0, 5_798_300.0]})
    ax = plot_trend(frame, y="value", ci=None, percent=False)
    ticks = tick_texts(ax)
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert not any("e" in t for t in ticks), ticks


def test_percent_axes_read_as_percentages():
    assert all(t.endswith("%") for t in tick_texts(plot_trend(churn_frame())))


@pytest.mark.parametrize(("limits", "first"), [((0.0, 0.05), "0%"), ((0.01, 0.03), "1.0%"),
                                               ((0.9, 1.1), "90%")])
def test_percent_ticks_carry_only_the_decimals_their_spacing_needs(limits, first):
    ax = plot_trend(churn_frame(), ci=None)
    ax.set_ylim(*limits)
    ticks = tick_texts(ax)
    # 0-5%: ticks a whole point apart, whole percents; 1-3%: ticks less than a point
    # apart, one decimal; 90-110%: whole percents
    assert ticks[0] == first and not any(t.endswith(".00%") for t in ticks), ticks


def test_every_chart_writes_months_one_way():
    month = r"^[A-Z][a-z]{2} \d{4}$"
    trend_ticks = tick_texts(plot_trend(mrr_frame(), y="mrr", ci=None, money=True), "x")
    movement_ticks = tick_texts(plot_mrr_movements(bridge_frame()), "x")
    cohort_rows = [t.get_text() for t in plot_cohort_heatmap(cohort_matrix()).get_yticklabels()]
    for ticks in (trend_ticks, movement_ticks, cohort_rows):
        assert ticks and all(pd.Series(ticks).str.match(month)), ticks


@pytest.mark.parametrize("draw", [
    lambda: plot_trend(pd.concat([churn_frame().assign(segment=s) for s in ("A", "B")]), by="segment"),
    lambda: plot_mrr_movements(bridge_frame()),
    lambda: plot_survival(pd.DataFrame({"months_since_start": [0, 1], "survival": [1.0, 0.5]})),
])
def test_legends_sit_outside_the_plot_area(draw):
    ax = draw()
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1


# --------------------------------------------------------------------------- scores


def test_health_bands_count_customers_in_colour_blind_safe_band_colours():
    scores = pd.DataFrame({"customer_id": list("abcdef"),
                           "band": ["green", "red", "green", "yellow", "green", None]})
    ax = plot_health_bands(scores)
    bars = list(ax.containers[0])
    # 1 red, 1 yellow, 3 green, 1 without a score: six customers.
    assert [p.get_height() for p in bars] == [1, 1, 3, 1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["red", "yellow", "green", "no score"]
    assert [to_hex(p.get_facecolor()) for p in bars[:3]] == [c.lower() for c in BAND_COLOURS.values()]
    assert [t.get_text() for t in ax.texts] == ["1 (17%)", "1 (17%)", "3 (50%)", "1 (17%)"]


def test_health_bands_by_segment_stack_one_bar_per_segment():
    scores = pd.DataFrame({"segment": ["SMB", "SMB", MONEY_SEGMENT, "SMB"],
                           "band": ["red", "green", "green", "green"]})
    ax = plot_health_bands(scores, by="segment")
    bars = {c.get_label(): c for c in ax.containers}
    # Segments sorted: "Deal…" then "SMB". Green: 1 and 2, drawn after 0/1 red and 0 yellow.
    assert [p.get_width() for p in bars["green"]] == [1.0, 2.0]
    assert [p.get_x() for p in bars["green"]] == [0.0, 1.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [ESCAPED_SEGMENT, "SMB"]
    assert legend_texts(ax) == ["red", "yellow", "green"]


def test_an_unknown_band_is_left_out_with_a_warning():
    scores = pd.DataFrame({"band": ["red", "amber", "green"]})
    with pytest.warns(UserWarning, match="1 scores have a band other than red/yellow/green"):
        ax = plot_health_bands(scores)
    assert [p.get_height() for p in ax.containers[0]] == [1, 0, 1]


def test_nps_scores_are_bars_coloured_detractor_passive_promoter():
    # Scores 10, 9, 9, 7, 3, 0 and one missing: six responses.
    ax = plot_distribution(pd.DataFrame({"score": [10, 9, 9, 7, 3, 0, None]}), nps=True)
    heights = [int(p.get_height()) for p in ax.patches]
    assert heights == [1, 0, 0, 1, 0, 0, 0, 1, 0, 2, 1]
    colours = [to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours[:7] == [NPS_COLOURS["detractor"].lower()] * 7
    assert colours[7:9] == [NPS_COLOURS["passive"].lower()] * 2
    assert colours[9:] == [NPS_COLOURS["promoter"].lower()] * 2
    assert legend_texts(ax) == ["detractors (0–6)", "passives (7–8)", "promoters (9–10)"]
    assert "n = 6" in [t.get_text() for t in ax.texts]


def test_whole_scores_get_one_bar_each_and_fractions_a_histogram():
    ax = plot_distribution(pd.Series([1, 2, 2, 5]))  # CSAT 1–5: counts 1, 2, 0, 0, 1
    assert [int(p.get_height()) for p in ax.patches] == [1, 2, 0, 0, 1]
    assert [to_hex(p.get_facecolor()) for p in ax.patches][0] == PALETTE[0].lower()
    hist = plot_distribution(pd.Series([12.5, 40.0, 41.0, 90.5]), bins=[0, 50, 100])
    assert [int(p.get_height()) for p in hist.patches] == [3, 1]


def test_nps_scores_outside_zero_to_ten_are_left_out_with_a_warning():
    with pytest.warns(UserWarning, match="1 scores are not whole numbers 0–10"):
        ax = plot_distribution(pd.Series([10, 11.0]), nps=True)
    assert sum(p.get_height() for p in ax.patches) == 1


@pytest.mark.parametrize(("draw", "what"), [
    (lambda: plot_trend(churn_frame().iloc[:0]), "No data to show"),
    (lambda: plot_cohort_heatmap(cohort_matrix().iloc[:0]), "No cohorts to show"),
    (lambda: plot_mrr_bridge(bridge_frame().iloc[:0]), "No MRR bridge to show"),
    (lambda: plot_distribution(pd.Series([], dtype=float)), "No scores to show"),
])
def test_empty_inputs_draw_a_calm_no_data_chart(draw, what):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = draw()
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.texts] == [what]


def test_heatmap_leaves_off_ages_no_shown_cohort_has_reached():
    # Two young cohorts cut from a longer matrix: ages 2-3 are NaN for both and add nothing.
    matrix = pd.DataFrame([[1.0, 0.5, np.nan, np.nan], [1.0, np.nan, np.nan, np.nan]],
                          index=pd.DatetimeIndex(["2024-01-01", "2024-02-01"], name="cohort"),
                          columns=pd.Index([0, 1, 2, 3], name="months_since_start"))
    ax = plot_cohort_heatmap(matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]
    plt.close(ax.figure)


def test_trend_shows_the_n_behind_every_point_as_faint_bars():
    nps = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
                        "value": [30.0, 35.0, 20.0], "n": [120, 80, 12],
                        "ci_low": [20.0, 25.0, -10.0], "ci_high": [40.0, 45.0, 50.0]})
    ax = plot_trend(nps, x="period", y="value", percent=False)
    twin = [other for other in ax.figure.axes if other is not ax and other.bbox.bounds == ax.bbox.bounds]
    assert len(twin) == 1
    bars = [p for p in twin[0].patches if p.get_gid() == "n"]
    assert [b.get_height() for b in bars] == [120, 80, 12]
    assert twin[0].get_ylim()[1] == 600  # bars stay in the bottom fifth
    plt.close(ax.figure)


def test_trend_draws_no_n_bars_for_several_groups_or_when_asked_not_to():
    frame = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
                          "rate": [0.1, 0.2, 0.3, 0.4], "n": [5, 6, 7, 8], "segment": ["a", "a", "b", "b"]})
    ax = plot_trend(frame, by="segment", ci=None)
    assert len(ax.figure.axes) == 1
    plt.close(ax.figure)
    ax = plot_trend(frame[frame["segment"] == "a"], ci=None, show_n=False)
    assert len(ax.figure.axes) == 1
    plt.close(ax.figure)


def test_an_empty_series_added_to_a_chart_leaves_the_chart_as_it_was():
    # A 12-month retention line on two months of data has no point yet; the monthly line
    # already drawn stays, with its date axis (it used to crash the date formatter).
    import matplotlib.pyplot as plt

    from csm_kit.plotting import plot_trend

    monthly = pd.DataFrame({"month": pd.to_datetime(["2024-02-01", "2024-03-01"]),
                            "rate": [0.97, 0.95]})
    ax = plot_trend(monthly, label="1 month")
    same = plot_trend(monthly.iloc[:0], label="12 months", ax=ax)
    assert same is ax and [line.get_label() for line in ax.lines] == ["1 month"]
    ax.figure.canvas.draw()  # the date ticks still format
    plt.close(ax.figure)


@pytest.mark.parametrize(("low", "high", "labels"), [
    (0.0, 0.05, ["0%", "1%", "2%", "3%", "4%", "5%"]),        # ticks 1 point apart
    (0.01, 0.02, ["1.0%", "1.2%", "1.4%", "1.6%", "1.8%", "2.0%"]),  # 0.2 points apart
    (-0.02, 0.02, ["−2.0%", "−1.5%", "−1.0%", "−0.5%", "0.0%", "0.5%", "1.0%", "1.5%",
                   "2.0%"]),                                      # a minus sign, not a hyphen
])
def test_percent_ticks_get_as_many_decimals_as_their_spacing_needs(low, high, labels):
    from csm_kit.plotting.style import SharePercent, percent_axis

    fig, ax = plt.subplots()
    ax.plot([0, 1], [low, high])
    ax.set_ylim(low, high)
    percent_axis(ax.yaxis)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert SharePercent()(0.05) == "5%"  # on its own (no axis, no ticks): whole percentages
    plt.close(fig)


@pytest.mark.parametrize(("backend", "stale"), [
    ("inline", False), ("module://matplotlib_inline.backend_inline", False), ("agg", True)])
def test_a_new_chart_in_a_notebook_is_drawn_once_into_its_picture_and_elsewhere_as_before(
        monkeypatch, backend, stale):
    # Jupyter's inline backend draws a chart into the PNG it shows; pyplot's end-of-cell
    # drawing of "stale" figures before it is never seen, so a chart made there is marked
    # drawn. Every other backend (a window, Agg here) keeps pyplot's own rule.
    monkeypatch.setattr(plotting_style.mpl, "get_backend", lambda: backend)
    ax = plot_trend(churn_frame())
    assert ax.figure.stale is stale
    ax.figure.canvas.draw()  # the one drawing still draws everything
    assert ax.get_lines()[0].get_ydata().tolist() == churn_frame()["rate"].tolist()


def test_a_chart_on_your_own_axes_leaves_your_figure_as_it_was(monkeypatch):
    monkeypatch.setattr(plotting_style.mpl, "get_backend", lambda: "inline")
    fig, (left, right) = plt.subplots(1, 2)
    plot_trend(churn_frame(), ax=left)
    assert fig.stale  # the other Axes may still change: pyplot draws the figure as usual
