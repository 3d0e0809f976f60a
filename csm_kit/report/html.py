"""HTML for the report folder: one self-contained page per executed notebook, and the index.

Pages stand alone and do not lie: they open offline (no CDN script, stylesheet or font, no
MathJax, so "$5M to $10M" stays a dollar amount), hide code unless asked, never show the
parameters papermill injected, sanitise HTML coming from notebook outputs, and a failed
notebook's page opens with a red banner carrying the escaped error. Every text value on the
index page is escaped by Jinja2's autoescape; the only markup it is given is the sparklines,
which are drawn from numbers alone (:mod:`csm_kit.report.sparkline`).

The index reads top to bottom in the order a CS leader needs it: what changed (the
narrative), 6–8 headline cards, every KPI grouped by area, the reports, data quality, and
the run's own details last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import bleach
import jinja2
import nbformat
import pandas as pd
from markupsafe import Markup
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from csm_kit.errors import ConfigError
from csm_kit.headlines import headline_cards
from csm_kit.kpis import AREAS
from csm_kit.report.sparkline import sparkline_svg
from csm_kit.safe_text import clean_text

TEMPLATES = Path(__file__).parent / "templates"
NOTEBOOK_TEMPLATE = TEMPLATES / "notebook.html.j2"

#: Cell tags whose cells never reach a report page (papermill tags the cell it injects).
HIDDEN_CELL_TAGS = frozenset({"injected-parameters", "remove-cell", "remove_cell"})

#: What HTML in Markdown cells and outputs may contain once sanitised: text structure and
#: tables. Anything else (script, style, iframe, on* attributes, javascript: links) is
#: escaped, so it shows as text instead of running. nbconvert's own ``clean_html`` allows
#: too little (no headings, paragraphs or table headers) and escapes the whole report.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd",
    "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "*": ["class", "id", "title"],
    "a": ["href", "title", "class"],
    "td": ["class", "id", "colspan", "rowspan"],
    "th": ["class", "id", "colspan", "rowspan", "scope"],
}

HEADLINE_COLUMNS = ["metric", "label", "value_display", "target_display", "status"]
#: Shown when the headline has them (the output of :func:`csm_kit.headlines.headline` does).
HEADLINE_EXTRAS = ["area", "change_display", "history_display", "n_display", "period_note",
                   "vs_history", "noise", "direction"]
QUALITY_COLUMNS = ["table", "check", "severity", "rows", "message"]


def notebook_to_html(
    nb: nbformat.NotebookNode,
    *,
    include_code: bool = False,
    failure: str | None = None,
    sanitize: bool = True,
) -> str:
    """Export an executed notebook to one self-contained HTML page.

    nbconvert's ``HTMLExporter`` with the "lab" template, overridden by
    ``csm_kit/templates/notebook.html.j2`` to drop the require.js, MathJax, mermaid and
    widget ``<script src="https://...">`` tags (images are already inline base64 PNGs).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook (not modified).
    include_code : bool, default False
        Show code cells' input; by default only their outputs appear.
    failure : str, optional
        Error text of a failed run; the page then opens with a red "FAILED" banner.
    sanitize : bool, default True
        Pass HTML from outputs and Markdown through :func:`clean_report_html` (escapes
        ``<script>``, ``<style>``, event attributes and ``javascript:`` links).

    Returns
    -------
    str
        The HTML document.
    """
    exporter = HTMLExporter(
        template_name="lab",
        template_file=str(NOTEBOOK_TEMPLATE),
        exclude_input=not include_code,
        exclude_input_prompt=not include_code,
        exclude_output_prompt=True,
        sanitize_html=sanitize,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=set(HIDDEN_CELL_TAGS), enabled=True),
        enabled=True,
    )
    exporter.register_filter("clean_html", clean_report_html)
    body, _ = exporter.from_notebook_node(nb, resources={"csm_failure": failure})
    return body


def clean_report_html(element) -> str:
    """Sanitise HTML from a notebook for a report page (the exporter's ``clean_html`` filter).

    Allowed: :data:`ALLOWED_TAGS` with :data:`ALLOWED_ATTRIBUTES`, links only to http(s)
    and mailto. Anything else is escaped, so it shows as text; comments are dropped.

    >>> clean_report_html('<h2>Churn</h2><script>alert(1)</script><a href="javascript:x()">y</a>')
    '<h2>Churn</h2>&lt;script&gt;alert(1)&lt;/script&gt;<a>y</a>'
    """
    element = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(element, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        protocols={"http", "https", "mailto"}, strip=False,
                        strip_comments=True)


def render_index(
    *,
    as_of: str,
    reports: Sequence[Mapping[str, object]],
    seconds: float,
    generated: str,
    ok: bool,
    headline: pd.DataFrame | None = None,
    quality: pd.DataFrame | None = None,
    data_fingerprint: str | None = None,
    note: str | None = None,
    exports: Sequence[Mapping[str, str]] = (),
    narrative: Sequence[str] = (),
    skipped: Sequence[Mapping[str, str]] = (),
) -> str:
    """Render ``index.html``: narrative, headline cards, KPIs by area, reports, data quality,
    run details.

    Parameters
    ----------
    as_of : str
        The reports' as-of date, shown in the title.
    reports : sequence of mappings
        One per notebook: ``name``, ``status`` ("ok"/"failed"), ``seconds``, ``error``
        (text or None) and ``href`` (link relative to the index, or None).
    seconds : float
        Total run time in seconds.
    generated : str
        When the run finished (ISO timestamp).
    ok : bool
        Whether every report succeeded; if not the page opens with a red banner.
    headline : DataFrame, optional
        Columns metric, label, value_display, target_display, status (texts shown as is);
        with the other columns of :func:`csm_kit.headlines.headline` (area, change_display,
        history_display, n_display, period_note, trend, ...) the index shows 6–8 cards with
        sparklines and the full table grouped by area.
    quality : DataFrame, optional
        Columns table, check, severity, rows, message; an empty frame prints
        "No data-quality findings".
    data_fingerprint : str, optional
        Shown in the header line.
    note : str, optional
        A highlighted remark (e.g. that a previous good report was kept).
    exports : sequence of mappings
        Exported tables to link: ``name`` (file name) and ``href``.
    narrative : sequence of str
        The opening sentences (:func:`csm_kit.report.narrative.narrative`), escaped here.
    skipped : sequence of mappings
        Reports left out because the data lacks their tables: ``name`` and ``reason``.

    Returns
    -------
    str
        The HTML document; every value is escaped.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    headline_rows = None if headline is None else _headline_records(headline)
    cards = None if headline is None else _card_records(headline, headline_rows)
    quality_rows = None if quality is None else _quality_records(quality)
    return env.get_template("index.html.j2").render(
        as_of=as_of,
        reports=list(reports),
        n_failed=sum(r["status"] != "ok" for r in reports),
        seconds=seconds,
        generated=generated,
        ok=ok,
        headline=headline_rows,
        areas=None if headline_rows is None else _by_area(headline_rows),
        cards=cards,
        narrative=[clean_text(sentence, max_len=2000) for sentence in narrative],
        skipped=list(skipped),
        quality=quality_rows,
        data_fingerprint=data_fingerprint,
        note=note,
        exports=list(exports),
    )


def _headline_records(headline: pd.DataFrame) -> list[dict]:
    extras = [c for c in HEADLINE_EXTRAS if c in headline.columns]
    frame = _displayable(headline, HEADLINE_COLUMNS, "headline")
    frame = frame.join(_displayable(headline, extras, "headline")) if extras else frame
    for column in HEADLINE_EXTRAS:
        if column not in frame.columns:
            frame[column] = ""
    frame["label"] = frame["label"].where(frame["label"] != "", frame["metric"])
    frame["status_class"] = frame["status"].map(_status_class)
    frame["history_class"] = [
        "noise" if noise else vs for vs, noise in zip(frame["vs_history"], frame["noise"], strict=True)]
    change = (pd.to_numeric(headline["change"], errors="coerce") if "change" in headline.columns
              else pd.Series(float("nan"), index=headline.index))
    # a change that reads as zero ("+0.00 vs Sep 2026") is neither better nor worse
    shown = frame["change_display"].str.split(" vs ").str[0].str.contains(r"[1-9]", regex=True)
    frame["change_class"] = [_change_class(c, d) if moved else "" for c, d, moved in
                             zip(change, frame["direction"], shown, strict=True)]
    return frame.to_dict("records")


def _card_records(headline: pd.DataFrame, rows: list[dict]) -> list[dict]:
    """The headline cards (:func:`csm_kit.headlines.headline_cards`), each with its sparkline."""
    by_metric = {row["metric"]: row for row in rows}
    chosen = headline_cards(headline.reset_index(drop=True))
    trends = dict(zip(headline["metric"], headline["trend"], strict=True)) \
        if "trend" in headline.columns else {}
    return [{**by_metric[m], "sparkline": Markup(sparkline_svg(list(trends.get(m) or [])))}
            for m in chosen["metric"]]


def _by_area(rows: list[dict]) -> list[dict]:
    """The headline rows grouped by area, in :data:`csm_kit.kpis.AREAS` order."""
    order = {area: i for i, area in enumerate(AREAS)}
    areas: dict[str, list[dict]] = {}
    for row in rows:
        areas.setdefault(row["area"] or "other", []).append(row)
    return [{"area": area.capitalize(), "rows": areas[area]}
            for area in sorted(areas, key=lambda a: order.get(a, len(order)))]


def _status_class(status: str) -> str:
    """'met' / 'near' / 'missed' / 'noise' (within noise, too few answers) / 'none'."""
    if status in ("met", "near", "missed"):
        return status
    if status == "within noise" or status.startswith("too few"):
        return "noise"
    return "none"


def _change_class(change: float, direction: str) -> str:
    """'better' or 'worse' for a change in the metric's direction; '' for none or no direction."""
    if pd.isna(change) or change == 0 or direction not in ("higher_is_better", "lower_is_better"):
        return ""
    return "better" if (change > 0) == (direction == "higher_is_better") else "worse"


def _quality_records(quality: pd.DataFrame) -> list[dict]:
    frame = _displayable(quality, QUALITY_COLUMNS, "quality")
    frame["severity_class"] = _css_class(frame["severity"])
    return frame.to_dict("records")


def _displayable(frame: pd.DataFrame, columns: list[str], name: str) -> pd.DataFrame:
    """The named columns as text, missing values as empty strings."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"`{name}` must have columns {columns}, got {list(frame.columns)}; missing {missing}"
        )
    shown = frame[columns].astype(object)
    return shown.where(shown.notna(), "").astype(str)


def _css_class(values: pd.Series) -> pd.Series:
    """'On track' -> 'on_track': a safe CSS class suffix for a status text."""
    return values.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")
