"""HTML for the report folder: one self-contained page per executed notebook, and the index.

Pages stand alone and do not lie: they open offline (no CDN script, stylesheet or font, no
MathJax, so "$5M to $10M" stays a dollar amount), hide code unless asked, never show the
parameters papermill injected, sanitise HTML coming from notebook outputs, and a failed
notebook's page opens with a red banner carrying the escaped error. Every text value on the
index page is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import bleach
import jinja2
import nbformat
import pandas as pd
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from csm_kit.errors import ConfigError

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
) -> str:
    """Render ``index.html``: headline KPIs, links to the reports, data quality, run time.

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
        Columns metric, label, value_display, target_display, status (texts shown as is).
    quality : DataFrame, optional
        Columns table, check, severity, rows, message; an empty frame prints
        "No data-quality findings".
    data_fingerprint : str, optional
        Shown in the header line.
    note : str, optional
        A highlighted remark (e.g. that a previous good report was kept).
    exports : sequence of mappings
        Exported tables to link: ``name`` (file name) and ``href``.

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
    quality_rows = None if quality is None else _quality_records(quality)
    return env.get_template("index.html.j2").render(
        as_of=as_of,
        reports=list(reports),
        n_failed=sum(r["status"] != "ok" for r in reports),
        seconds=seconds,
        generated=generated,
        ok=ok,
        headline=headline_rows,
        quality=quality_rows,
        data_fingerprint=data_fingerprint,
        note=note,
        exports=list(exports),
    )


def _headline_records(headline: pd.DataFrame) -> list[dict]:
    frame = _displayable(headline, HEADLINE_COLUMNS, "headline")
    frame["label"] = frame["label"].where(frame["label"] != "", frame["metric"])
    frame["status_class"] = _css_class(frame["status"])
    return frame.to_dict("records")


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
