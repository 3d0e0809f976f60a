"""Showing results: every piece of data-derived text is escaped, cleaned and cut."""

import re

import pandas as pd

from csm_kit.report.display import clean_text, html_table, sentence

HOSTILE = '<script>alert("canary")</script>'


def test_table_cells_headers_and_captions_are_escaped():
    frame = pd.DataFrame({HOSTILE: [HOSTILE], "mrr": [1234.5]})
    out = html_table(frame, money=["mrr"], caption=HOSTILE)
    assert "<script>" not in out
    assert out.count("&lt;script&gt;alert(&#34;canary&#34;)&lt;/script&gt;") + out.count(
        "&lt;script&gt;alert(&quot;canary&quot;)&lt;/script&gt;") == 3
    assert "1,234" in out or "1,235" in out


def test_long_cells_are_cut_with_an_ellipsis():
    out = html_table(pd.DataFrame({"comment": ["x" * 1_000_000]}))
    assert "x" * 199 + "…" in out and "x" * 201 not in out


def test_rows_beyond_the_limit_are_counted_not_silently_dropped():
    out = html_table(pd.DataFrame({"n": range(60)}), max_rows=50)
    assert "10 more rows not shown" in out


def test_invisible_and_control_characters_are_removed():
    assert clean_text("A\u200bcme\u202e\x00 Corp\ufeff") == "Acme Corp"


def test_sentences_escape_values_but_keep_their_format():
    html = sentence("{name} has {mrr:,.0f} MRR", name="<img src=x onerror=alert(1)>", mrr=12345.6)
    assert html == "<p>&lt;img src=x onerror=alert(1)&gt; has 12,346 MRR</p>"


def test_missing_values_show_as_a_dash():
    out = html_table(pd.DataFrame({"rate": [None, 0.5]}), percent=["rate"])
    assert "–" in out and "50.0%" in out


def test_lone_surrogates_and_c1_controls_are_removed_so_text_can_be_written_as_utf8():
    cleaned = clean_text("Acme\ud800 Corp\x85")
    assert cleaned == "Acme Corp"
    cleaned.encode("utf-8")


def test_headers_are_written_for_readers_not_as_snake_case():
    out = html_table(pd.DataFrame({"customer_id": ["A"], "churn_rate": [0.1], "nrr_12m": [1.0],
                                   "Already Fine": [1]}), percent=["churn_rate", "nrr_12m"])
    headers = re.findall(r"<th[^>]*>(.*?)</th>", out)
    assert headers == ["Customer ID", "Churn rate", "NRR 12m", "Already Fine"]


def test_dates_never_show_midnight_and_months_read_as_months():
    frame = pd.DataFrame({"month": pd.to_datetime(["2024-03-01", "2024-04-01"]),
                          "date": pd.to_datetime(["2024-03-05", "2024-04-17"]),
                          "opened_at": pd.to_datetime(["2024-03-05 09:30", "2024-04-17 00:00"])})
    out = html_table(frame)
    assert "00:00:00" not in out
    assert "Mar 2024" in out and "2024-04-17" in out and "2024-03-05 09:30" in out


def test_money_columns_carry_the_reporting_currency():
    out = html_table(pd.DataFrame({"mrr": [1234.4, None]}), money=["mrr"], currency="GBP")
    assert "£1,234" in out and "–" in out
