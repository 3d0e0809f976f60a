"""Showing results in notebooks and reports: escaped tables, sentences and section notes.

Customer names, segments, comments and CSM names come from customers' data, so every piece
of text shown here is HTML-escaped at the source; Markdown is never built from data.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import pandas as pd

from csm_kit.formatting import format_money
from csm_kit.safe_text import clean_text

#: Words written in capitals in a column header ("nrr_12m" → "NRR 12m").
ACRONYMS = {"id": "ID", "mrr": "MRR", "arr": "ARR", "nrr": "NRR", "grr": "GRR", "nps": "NPS",
            "csat": "CSAT", "ces": "CES", "csm": "CSM", "ltv": "LTV", "arpa": "ARPA",
            "ci": "CI", "auc": "AUC", "fcr": "FCR", "url": "URL", "n": "n"}
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def human_header(name) -> str:
    """Turn a snake_case column name into a header a reader expects; other names stay as they are.

    >>> human_header("churn_rate"), human_header("customer_id"), human_header("nrr_12m"), human_header("n")
    ('Churn rate', 'Customer ID', 'NRR 12m', 'n')
    >>> human_header("Expansion MRR 12m"), human_header("monthly churn")
    ('Expansion MRR 12m', 'Monthly churn')
    """
    text = str(name)
    if not _SNAKE.match(text.replace(" ", "_")):
        return text
    words = [ACRONYMS.get(w, w) for w in re.split(r"[_ ]", text)]
    first = words[0] if words[0] in ACRONYMS.values() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def _date_format(values: pd.Series) -> str:
    """"%b %Y" for first-of-month dates, "%Y-%m-%d" for dates, with the time only when there is one."""
    present = pd.to_datetime(values.dropna())
    if present.empty or (present != present.dt.normalize()).any():
        return "%Y-%m-%d %H:%M"
    return "%b %Y" if (present.dt.day == 1).all() and len(present) > 1 else "%Y-%m-%d"


def html_table(
    frame: pd.DataFrame,
    *,
    percent: Iterable[str] = (),
    money: Iterable[str] = (),
    decimals: dict[str, int] | None = None,
    caption: str | None = None,
    max_rows: int = 50,
    currency: str | None = None,
) -> str:
    """Render a frame as an HTML table with every cell, header and index escaped.

    Headers are written for readers (``churn_rate`` → "Churn rate", :func:`human_header`);
    dates without a time never show "00:00:00" (months read "Mar 2024").

    Parameters
    ----------
    percent : columns holding shares (0.25 is shown as 25.0%).
    money : columns holding amounts (shown as $1,234 in the reporting ``currency``).
    decimals : other numeric columns and their decimals.
    caption : optional caption (escaped).
    max_rows : rows shown; a note says how many more there are.
    currency : ISO code of the reporting currency for ``money`` columns; None = no sign.

    >>> out = html_table(pd.DataFrame({"name": ["<b>x</b>"], "rate": [0.25]}), percent=["rate"])
    >>> "&lt;b&gt;x&lt;/b&gt;" in out, "<b>" in out, "25.0%" in out
    (True, False, True)
    """
    shown = frame.head(max_rows)
    formats = {c: "{:.1%}" for c in percent if c in shown.columns}
    formats |= {c: (lambda v: format_money(v, currency, compact=False))
                for c in money if c in shown.columns}
    formats |= {c: f"{{:,.{d}f}}" for c, d in (decimals or {}).items() if c in shown.columns}
    formats |= {c: _date_format(shown[c]) for c in shown.columns
                if c not in formats and pd.api.types.is_datetime64_any_dtype(shown[c])}
    formats = {c: (lambda v, f=f: v.strftime(f)) if isinstance(f, str) and f.startswith("%")
               else f for c, f in formats.items()}
    text_columns = [c for c in shown.columns if c not in formats]
    shown = shown.copy()
    for column in text_columns:
        if shown[column].dtype == object or pd.api.types.is_string_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: v if pd.isna(v) else clean_text(v))
    styler = (shown.style.hide(axis="index")
              .format(formats, na_rep="–", escape="html")
              .format_index(human_header, escape="html", axis=1)
              .set_table_attributes('class="csm-table"'))
    if caption:
        styler = styler.set_caption(html.escape(clean_text(caption)))
    out = styler.to_html(exclude_styles=True)  # report pages allow no <style> from outputs
    if len(frame) > max_rows:
        out += f"<p><em>{len(frame) - max_rows:,} more rows not shown.</em></p>"
    return out


def show_table(frame: pd.DataFrame, **options):
    """Display :func:`html_table` in a notebook (returns the IPython object)."""
    from IPython.display import HTML

    return HTML(html_table(frame, **options))


def sentence(template: str, **values) -> str:
    """Fill a sentence template with values, escaping every value; return HTML.

    The template is the kit's own text; the values may come from data.

    >>> sentence("Churn in {segment} was {rate:.1%}.", segment="<SMB>", rate=0.031)
    '<p>Churn in &lt;SMB&gt; was 3.1%.</p>'
    """
    safe = {k: _SafeValue(v) for k, v in values.items()}
    return "<p>" + template.format(**safe) + "</p>"


class _SafeValue:
    """Formats like the wrapped value, then escapes the result."""

    def __init__(self, value):
        self.value = value

    def __format__(self, spec: str) -> str:
        value = self.value if not isinstance(self.value, str) else clean_text(self.value)
        return html.escape(format(value, spec))


def say(template: str, **values):
    """Display :func:`sentence` in a notebook."""
    from IPython.display import HTML

    return HTML(sentence(template, **values))


def note(text: str):
    """Display a one-line, kit-written note (e.g. why a section is empty)."""
    from IPython.display import HTML

    return HTML(f'<p class="csm-note"><em>{html.escape(text)}</em></p>')


def show_findings(findings: pd.DataFrame):
    """Display data-quality findings as a table, or one line saying there are none."""
    if findings.empty:
        return note("No data-quality problems found.")
    return show_table(findings[["severity", "table", "column", "rows", "message"]],
                      caption="Data quality (not blocking)")
