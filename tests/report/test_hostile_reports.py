"""Every report on the hostile dataset (tests/hostile.py): nothing runs, nothing breaks, text stays text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import csm_kit as ck
from csm_kit.cli import NOTEBOOKS_DIR
from tests.hostile import (
    BIG_COMMENT_CHARS,
    LONE_SEGMENT,
    QUIET_MONTH,
    RUNS,
    hostile_tables,
    shared_reports,
)

pytestmark = pytest.mark.slow
REPORTS = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return shared_reports(tmp_path_factory, RUNS)


class PageScan(HTMLParser):
    """What a browser would run or follow in a page, and whether its tables nest properly."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self.handlers, self.bad_links, self.text = [], [], [], []
        self.open_tables, self.misplaced_cells, self.headings = 0, [], []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append((tag, name, value))
            if name.lower() in ("href", "src", "action", "formaction") and value and re.match(
                    r"\s*(javascript|vbscript|data:text/html)", value, re.IGNORECASE):
                self.bad_links.append((tag, value))
        if tag == "table":
            self.open_tables += 1
        if tag in ("td", "th") and not self._stack or tag in ("td", "th") and self._stack[-1] != "tr":
            self.misplaced_cells.append(tag)
        if tag == "h1":
            self.headings.append(tag)
        if tag in ("table", "thead", "tbody", "tr", "td", "th"):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "table":
            self.open_tables -= 1
        if tag in ("table", "thead", "tbody", "tr", "td", "th") and tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        self.text.append(data)


def scan(path: Path) -> PageScan:
    page = PageScan()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def pages(run) -> list[Path]:
    return sorted(Path(run["folder"]).glob("*.html"))


def test_the_hostile_data_loads_with_ids_kept_as_text_and_nothing_dropped(runs):
    tables = hostile_tables()
    ds = ck.load_dataset(runs["data"])
    assert len(ds.customers) == len(tables["customers"])
    assert ds.customers["customer_id"].iloc[0] == "000001"
    assert ds.surveys["comment"].str.len().max() >= BIG_COMMENT_CHARS
    # label columns (names, segments, CSMs…) lose invisible characters when loaded, so
    # look-alikes group as one; free text such as comments is kept, cleaned at display
    assert not ds.customers["name"].str.contains("\x00", regex=False).any()
    assert tables["customers"]["name"].str.contains("\x00", regex=False).any()
    assert ds.surveys["comment"].str.contains("\x00", regex=False).any()
    assert not ds.surveys["date"].dt.to_period("M").eq(QUIET_MONTH.to_period("M")).any()


@pytest.mark.parametrize("name", ["full", "lone_segment"])
def test_every_report_runs_on_the_hostile_data(runs, name):
    run = runs[name]
    assert run["exit_code"] == 0, run["output"]
    assert sorted(p.stem for p in pages(run)) == sorted([*REPORTS, "index"])


@pytest.mark.parametrize("name", ["full", "lone_segment"])
def test_no_page_runs_anything_the_kit_did_not_put_there(runs, name):
    for path in pages(runs[name]):
        page = scan(path)
        assert page.scripts == [], (path.name, page.scripts)  # the kit puts none in reports
        assert page.handlers == [], (path.name, page.handlers)
        assert page.bad_links == [], (path.name, page.bad_links)
        assert not re.search(r"<(img|iframe|object|embed|svg)\b[^>]*\bsrc=[\"']?x", path.read_text()), path.name


@pytest.mark.parametrize("name", ["full", "lone_segment"])
def test_tables_keep_their_structure(runs, name):
    for path in pages(runs[name]):
        page = scan(path)
        assert page.open_tables == 0, path.name
        assert page.misplaced_cells == [], path.name
        assert page.headings.count("h1") <= 1 or path.name != "index.html"


def test_the_canary_and_the_other_attacks_show_as_text(runs):
    folder = Path(runs["full"]["folder"])
    text = {p.stem: "".join(scan(p).text) for p in pages(runs["full"])}
    everything = "".join(text.values())
    assert '<script>alert("canary")</script>' in everything
    assert '<img src=x onerror=alert("canary")>' in everything
    assert "</td></tr></table><h1>x" in everything
    assert "[click me](javascript:alert('canary'))" in everything
    assert "\u202e" not in everything and "\u200b" not in everything and "\x00" not in everything
    assert "Ba$$in" in everything  # no MathJax: dollars stay dollars
    assert (folder / "manifest.json").read_text().count("canary") == 0


def test_a_one_megabyte_comment_is_cut_with_an_ellipsis(runs):
    satisfaction = "".join(scan(Path(runs["full"]["folder"]) / "03_satisfaction.html").text)
    assert "=1+1 " + "x" * 150 in satisfaction
    assert "x" * 200 not in satisfaction and "x…" in satisfaction
    assert (Path(runs["full"]["folder"]) / "03_satisfaction.html").stat().st_size < 2_000_000


def test_the_lone_segment_report_is_about_one_churned_customer_with_no_answers(runs):
    folder = Path(runs["lone_segment"]["folder"])
    overview = "".join(scan(folder / "00_overview.html").text)
    assert f"segment {LONE_SEGMENT}" in overview
    satisfaction = "".join(scan(folder / "03_satisfaction.html").text)
    # The segment's only customer never answered: every survey section says so in one line,
    # and no NPS figure is made up from zero answers.
    assert "No surveys table in this dataset, so this section is skipped." in satisfaction
    assert "NPS in " not in satisfaction and "answers (95% interval" not in satisfaction


def test_chart_labels_with_dollars_are_drawn_literally():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from csm_kit.plotting.style import safe_label

    fig, ax = plt.subplots()
    label = safe_label("Deal $5M to $10M and Ba$$in")
    ax.set_title(label)
    fig.canvas.draw()  # mathtext would fail or eat the dollars; escaped, it renders them
    assert ax.title.get_text() == r"Deal \$5M to \$10M and Ba\$\$in"
    plt.close(fig)
