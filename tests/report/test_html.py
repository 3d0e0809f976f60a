"""Report pages: real headings and tables render, hostile HTML in outputs shows as text."""

import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from csm_kit.report.display import html_table
from csm_kit.report.html import notebook_to_html

CANARY = '<script>alert("canary")</script><img src=x onerror=alert(1)><a href="javascript:x()">go</a>'


def page(*outputs_html, markdown="## Logo churn\n\nA *short* note."):
    cell = new_code_cell("x = 1")
    cell.outputs = [new_output("display_data", data={"text/html": html}) for html in outputs_html]
    return notebook_to_html(new_notebook(cells=[new_markdown_cell(markdown), cell]))


def body(html: str) -> str:
    return html.split("<body", 1)[1]


def test_markdown_headings_paragraphs_and_kit_tables_render_as_html():
    table = html_table(pd.DataFrame({"csm": ["Ana"], "rate": [0.25]}), percent=["rate"])
    html = body(page("<p>Churn was <strong>2.2%</strong>.</p>", table))
    assert "<h2" in html and "<em>short</em>" in html
    assert "<p>Churn was <strong>2.2%</strong>.</p>" in html
    assert "<table" in html and "<th" in html and "25.0%" in html
    assert "&lt;h2" not in html and "&lt;table" not in html


def test_scripts_event_handlers_and_javascript_links_in_outputs_show_as_text():
    html = body(page(CANARY))
    assert "<script>alert" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")  # only escaped text
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(\"canary\")&lt;/script&gt;" in html or \
        "&lt;script&gt;alert(&quot;canary&quot;)&lt;/script&gt;" in html


def test_styler_style_blocks_never_reach_the_page_as_text():
    table = html_table(pd.DataFrame({"a": [1]}))
    assert "<style" not in table
    assert "&lt;style" not in body(page(table))
