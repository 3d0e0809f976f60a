"""Hostile data on its way out: terminals, invisible characters and aggregate privacy.

Each test feeds one class of hostile value (an ESC sequence in an id, an invisible character
in a name, a segment of one customer) to the place where the kit shows it, and checks what a
reader gets.
"""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from typer.testing import CliRunner

from csm_kit.cli import app
from csm_kit.errors import ConfigError
from csm_kit.privacy import small_groups_hidden
from csm_kit.report.context import open_report
from csm_kit.safe_text import clean_text, terminal_text
from tests.conftest import GOOD_TABLES, write_tables

runner = CliRunner()

#: An id that, printed raw, sets the terminal's title, clears the screen and erases the line.
ESCAPING_ID = "C1\x1b]0;owned\x07\x1b[2J\x1b[2K"


# --- terminal_text ------------------------------------------------------------------------


def test_terminal_text_shows_escape_sequences_instead_of_obeying_them():
    shown = terminal_text(ESCAPING_ID, markup=False)
    # ESC (0x1b) and BEL (0x07) written as the visible four-character escapes
    assert shown == "C1\\x1b]0;owned\\x07\\x1b[2J\\x1b[2K"
    assert not any(unicodedata.category(c) == "Cc" for c in shown)


def test_terminal_text_escapes_c1_controls_bidi_and_tags_but_keeps_line_feeds():
    shown = terminal_text("a\x9bb\u202ec\U000e0041d\ne", markup=False)
    assert shown == "a\\x9bb\\u202ec\\U000e0041d\ne"


def test_terminal_text_escapes_rich_markup_unless_the_text_goes_into_a_rich_text():
    assert terminal_text("[bold red]x[/]") == "\\[bold red]x\\[/]"
    assert terminal_text("[bold red]x[/]", markup=False) == "[bold red]x[/]"


def test_validate_prints_an_id_with_escape_sequences_escaped(tmp_path):
    customers = ("customer_id,signup_date,name,segment,csm\n"
                 f"{ESCAPING_ID},2024-01-05,Acme,SMB,Ana\n{ESCAPING_ID},2024-01-06,Acme,SMB,Ana\n")
    folder = write_tables(tmp_path / "esc", {**GOOD_TABLES, "customers": customers})
    result = runner.invoke(app, ["validate", "--data", str(folder)])
    assert result.exit_code == 2, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    flat = "".join(result.output.split())
    assert "C1\\x1b]0;owned\\x07" in flat  # the duplicated id is named, visibly


def test_a_kit_error_quoting_a_data_value_is_printed_escaped(capsys):
    import typer

    from csm_kit.cli import friendly_errors

    @friendly_errors
    def command():
        raise ConfigError(f"customer {ESCAPING_ID} has no segment")

    with pytest.raises(typer.Exit) as exit_:
        command()
    assert exit_.value.exit_code == 2
    printed = capsys.readouterr().err
    assert "\x1b" not in printed and "\x07" not in printed
    assert "C1\\x1b]0;owned\\x07" in "".join(printed.split())


@pytest.mark.parametrize("interactive", [False, True])
def test_a_failed_notebook_whose_error_quotes_a_hostile_id_is_reported_escaped(capsys,
                                                                                interactive):
    from csm_kit.report.progress import progress_reporter

    with progress_reporter(1, interactive=interactive) as report:
        report("04_customer_health", "failed", 1.0, f"ConfigError: no segment for {ESCAPING_ID}")
    printed = capsys.readouterr().err
    assert "nosegmentforC1\\x1b]0;owned\\x07" in "".join(printed.split())
    assert "]0;owned\x07" not in printed  # the title-setting sequence is not there to obey


# --- clean_text by Unicode category ---------------------------------------------------------


@pytest.mark.parametrize("char", ["\u2061", "\u2062", "\u2063", "\u2064", "\u061c", "\u00ad",
                                  "\U000e0001", "\U000e0041", "\U000e007f", "\ue000",
                                  "\U000f0000", "\u200d", "\u2066", "\x1b", "\x9b", "\ufeff",
                                  "\U000e01f0"])
def test_clean_text_removes_every_format_control_private_use_and_unassigned_character(char):
    # U+2061–2064 invisible operators, U+061C Arabic letter mark, soft hyphen, tag characters,
    # private use (BMP and plane 15), ZWJ, bidi isolate, ESC, CSI, BOM; U+E01F0 is unassigned
    assert clean_text(f"Ana{char} Silva") == "Ana Silva"


def test_clean_text_keeps_tabs_line_breaks_and_visible_text_of_every_script():
    text = "Zoë\tМария\n李娜\r\nفاطمة 🎉 ½"
    assert clean_text(text, max_len=1000) == text


def test_clean_text_removes_characters_by_category_not_by_a_list():
    # every Cf, Co and Cc character of the BMP but tab / LF / CR goes; the count is what
    # unicodedata says, so a list that missed one would leave it in
    hidden = [chr(c) for c in range(0x10000)
              if unicodedata.category(chr(c)) in {"Cf", "Co", "Cc"} and chr(c) not in "\t\n\r"]
    assert len(hidden) > 6400  # 65 controls, ~160 format characters, 6,400 private use
    assert clean_text("".join(hidden), max_len=100_000) == ""


def test_look_alike_csm_names_become_one_name_once_cleaned():
    # "Ana Silva" and "Ana\u2063 Silva" (an invisible separator) or "Ana Sil\u00adva" (a soft
    # hyphen) look the same on screen; cleaned, they are the same name, so a table grouping
    # cleaned names shows one row for them (what a reader sees), not three identical rows.
    names = pd.Series(["Ana Silva", "Ana\u2063 Silva", "Ana Sil\u00adva"])
    cleaned = names.map(clean_text)
    assert cleaned.nunique() == 1
    assert cleaned.iloc[0] == "Ana Silva"


def test_look_alike_csm_names_in_the_data_are_one_book_once_loaded(tmp_path):
    from csm_kit.data.loading import load_dataset

    # the same CSM typed three ways: plain, with U+2063 (invisible separator) and with a soft
    # hyphen; loaded, the customers table has one CSM, so every per-CSM table has one row
    customers = ("customer_id,signup_date,name,segment,csm\n"
                 "C1,2024-01-05,Acme,SMB,Ana Silva\n"
                 "C2,2024-01-05,Beta,SMB,Ana\u2063 Silva\n"
                 "C3,2024-01-05,Gamma\u200b,SMB,Ana Sil\u00adva\n")
    subscriptions = ("subscription_id,customer_id,start_date,end_date,mrr\n"
                     "S1,C1,2024-01-05,,100\nS2,C2,2024-01-05,,100\nS3,C3,2024-01-05,,100\n")
    folder = tmp_path / "lookalike"
    folder.mkdir()
    (folder / "customers.csv").write_text(customers, encoding="utf-8")
    (folder / "subscriptions.csv").write_text(subscriptions, encoding="utf-8")
    ds = load_dataset(str(folder))
    assert ds.customers["csm"].tolist() == ["Ana Silva"] * 3
    assert ds.customers["name"].tolist() == ["Acme", "Beta", "Gamma"]
    assert ds.customers["customer_id"].tolist() == ["C1", "C2", "C3"]  # ids as written


# --- aggregate privacy ---------------------------------------------------------------------


def test_small_groups_hidden_counts_one_row_per_member_when_there_is_no_count_column():
    health = pd.DataFrame({"customer_id": list("abcdefg"),
                           "segment": ["SMB"] * 5 + ["Solo", "Pair"],
                           "band": ["red", "green", "green", "yellow", "red", "red", "green"]})
    # SMB has 5 customers (kept at min 5); Solo 1 and Pair 1 are hidden
    kept = small_groups_hidden(health, by="segment", min_size=5)
    assert kept["segment"].unique().tolist() == ["SMB"]
    assert len(small_groups_hidden(health, by="segment", min_size=6)) == 0


def test_small_groups_hidden_reads_a_curves_size_from_its_largest_count():
    # a survival curve: SMB starts with 8 at risk (its later months have 2 — still shown,
    # the group is 8 customers); Solo starts with 1 and goes whole
    curves = pd.DataFrame({"segment": ["SMB", "SMB", "SMB", "Solo", "Solo"],
                           "months_since_start": [0, 1, 2, 0, 1], "at_risk": [8, 4, 2, 1, 1]})
    kept = small_groups_hidden(curves, by="segment", n="at_risk", min_size=5)
    assert kept["at_risk"].tolist() == [8, 4, 2]


def test_small_groups_hidden_without_a_group_column_returns_the_table_whole():
    frame = pd.DataFrame({"band": ["red"]})
    assert small_groups_hidden(frame, min_size=5) is frame


def _two_segment_folder(tmp_path):
    """GOOD_TABLES' customers with one of them alone in segment 'Solo'."""
    customers = GOOD_TABLES["customers"].strip().splitlines()
    header, first, *rest = customers
    first = first.split(",")
    first[header.split(",").index("segment")] = "Solo"
    return write_tables(tmp_path / "solo", {**GOOD_TABLES,
                                            "customers": "\n".join([header, ",".join(first), *rest])})


def test_aggregate_privacy_refuses_a_segment_below_the_minimum_group(tmp_path):
    folder = _two_segment_folder(tmp_path)
    with pytest.raises(ConfigError, match=r"segment 'Solo' has fewer than 5 customers.*"
                                          r"--min-group-size"):
        open_report(str(folder), segment="Solo", privacy="aggregate", min_group_size=5)
    # the same segment is fine when privacy is off, or when the minimum is 1
    assert len(open_report(str(folder), segment="Solo").dataset.customers) == 1
    assert len(open_report(str(folder), segment="Solo", privacy="aggregate",
                           min_group_size=1).dataset.customers) == 1


def test_report_with_aggregate_privacy_on_a_one_customer_segment_exits_2_writing_nothing(tmp_path):
    folder = _two_segment_folder(tmp_path)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--data", str(folder), "--segment", "Solo",
                                 "--privacy", "aggregate", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "fewer than 5 customers" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.rglob("index.html"))


def _solo_segment_folder(tmp_path):
    """Six customers from January 2024 at 100 MRR: C1–C5 in SMB, C6 alone in "Solo"; C2
    leaves at the end of March (end date 1 April)."""
    customers = "customer_id,signup_date,name,segment,csm\n" + "".join(
        f"C{i},2024-01-05,Name {i},{'Solo' if i == 6 else 'SMB'},Ana\n" for i in range(1, 7))
    subscriptions = "subscription_id,customer_id,start_date,end_date,mrr\n" + "".join(
        f"S{i},C{i},2024-01-05,{'2024-04-01' if i == 2 else ''},100\n" for i in range(1, 7))
    return write_tables(tmp_path / "solo6", {"customers": customers,
                                             "subscriptions": subscriptions})


def _run_notebook_cell(notebook: str, marker: str, ctx):
    """Execute the code cell of ``notebooks/<notebook>`` containing ``marker`` with ``ctx``
    (the notebook's own code, so the test checks what the report runs) and return its Axes."""
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    import csm_kit as ck
    from csm_kit import plotting as plot
    from csm_kit.report.display import note, say, show_table

    cells = json.loads((Path(__file__).parents[1] / "notebooks" / notebook).read_text())["cells"]
    (source,) = ["".join(c["source"]) for c in cells
                 if c["cell_type"] == "code" and marker in "".join(c["source"])]
    plt.close("all")
    exec(source, {"ctx": ctx, "ds": ctx.dataset, "ck": ck, "plot": plot, "pd": pd,
                  "note": note, "say": say, "show_table": show_table, "display": lambda *a: None})
    ax = plt.gcf().axes[0]
    return ax


@pytest.mark.parametrize("privacy", ["off", "aggregate"])
def test_the_health_bands_by_segment_chart_hides_a_one_customer_segment_in_aggregate_mode(
        tmp_path, privacy):
    ctx = open_report(str(_solo_segment_folder(tmp_path)), as_of="2024-06-30", privacy=privacy,
                      min_group_size=4)
    ax = _run_notebook_cell("04_customer_health.ipynb", "plot_health_bands", ctx)
    shown = [t.get_text() for t in ax.get_yticklabels()]
    # scored in June: SMB's 4 active customers (C2 left), Solo's 1. Off: both segments drawn;
    # aggregate with a minimum of 4: Solo is gone, SMB stays
    assert shown == (["SMB", "Solo"] if privacy == "off" else ["SMB"])


@pytest.mark.parametrize("privacy", ["off", "aggregate"])
def test_the_survival_by_segment_chart_hides_a_one_customer_segment_in_aggregate_mode(
        tmp_path, privacy):
    ctx = open_report(str(_solo_segment_folder(tmp_path)), as_of="2024-06-30", privacy=privacy,
                      min_group_size=4)
    ax = _run_notebook_cell("01_churn_cohorts.ipynb", "plot_survival", ctx)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # SMB: 5 customers at the start (>= 4, kept); Solo: 1 (hidden in aggregate mode)
    assert legend == (["SMB (n=5)", "Solo (n=1)"] if privacy == "off" else ["SMB (n=5)"])


#: Cells that group by customers' attributes but show no per-group figure: the log-rank test
#: prints one statistic over all segments.
ONE_FIGURE_OVER_GROUPS = ("ck.logrank_test(",)
CUSTOMER_GROUPS = ('by="segment"', 'by="csm"', 'by="agent"', 'by="channel"', 'by="priority"',
                   'by="nps_category"', "by=ctx.segment_column")


def test_every_notebook_cell_that_groups_customers_hides_small_groups_in_aggregate_mode():
    # a new per-group chart or table must go through ctx.small_groups_hidden (a no-op unless
    # privacy is "aggregate"), or a segment of one is shown with its figures
    import json
    from pathlib import Path

    leaks = []
    for path in sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb")):
        for number, cell in enumerate(json.loads(path.read_text())["cells"]):
            source = "".join(cell["source"])
            grouped = cell["cell_type"] == "code" and any(g in source for g in CUSTOMER_GROUPS)
            if grouped and "small_groups_hidden" not in source \
                    and not any(ok in source for ok in ONE_FIGURE_OVER_GROUPS):
                leaks.append(f"{path.name} cell {number}")
    assert leaks == []
