"""The index page: narrative, 6-8 headline cards with sparklines, KPIs by area, run details last."""

import re

import numpy as np
import pandas as pd
import pytest

from csm_kit.headlines import headline
from csm_kit.report.html import render_index
from csm_kit.report.sparkline import sparkline_svg

HOSTILE = '<script>alert("canary")</script>'
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"]


def series(metric, values, n=np.nan, periods=None):
    periods = MONTHS[-len(values):] if periods is None else periods
    return pd.DataFrame({"metric": metric, "period": periods, "group": None,
                         "value": values, "n": n, "ci_low": np.nan, "ci_high": np.nan})


@pytest.fixture
def kpis():
    # 13 months of MRR rising 100 a month; churn steady at 2% then 3% (worse, lower is
    # better); NPS from 2 answers in the last month; CSAT last measured in December.
    return pd.concat([
        series("mrr", [1000.0 + 100 * i for i in range(13)], n=50),
        series("logo_churn_rate", [0.02] * 12 + [0.03], n=50),
        series("gross_mrr_churn", [0.01] * 13),
        series("nps", [30.0] * 12 + [100.0], n=[60] * 12 + [2]),
        series("csat", [0.85] * 12, n=100, periods=MONTHS[:12]),
        series("median_hours_to_close", [20.0] * 13, n=300),
        series("first_contact_resolution_rate", [0.6] * 13, n=300),
    ], ignore_index=True)


def page(kpis, **options):
    head = headline(kpis, as_of="2025-01-31", currency="USD")
    return render_index(as_of="2025-01-31", reports=[{"name": "00_overview", "status": "ok",
                        "seconds": 1.0, "error": None, "href": "00_overview.html"}],
                        seconds=12.0, generated="2025-02-01T06:00:00+00:00", ok=True,
                        headline=head, quality=pd.DataFrame(
                            {"table": ["surveys"], "check": ["small_samples"],
                             "severity": ["warning"], "rows": [2], "message": ["few answers"]}),
                        data_fingerprint="sha256:feed", **options)


def test_the_index_reads_narrative_cards_kpis_reports_quality_then_run_details(kpis):
    html = page(kpis, narrative=["MRR rose.", "Churn rose."])
    order = [html.index(marker) for marker in ('class="narrative"', 'class="cards"',
                                               "<h2>Headline KPIs</h2>", "<h2>Reports</h2>",
                                               "<h2>Data quality</h2>", "<h2>About this run</h2>")]
    assert order == sorted(order)
    assert html.index("sha256:feed") > html.index("<h2>About this run</h2>")
    assert html.index("total run time") > html.index("<h2>About this run</h2>")


def test_the_cards_show_value_change_target_verdict_n_and_a_sparkline(kpis):
    html = page(kpis)
    section = html.split('<section class="cards"', 1)[1].split("</section>", 1)[0]
    cards = section.split('<div class="card">')[1:]
    assert 6 <= len(cards) <= 8
    mrr = cards[0]
    # MRR 2,200, up 100 on December 2,100 = +4.8%
    assert "$2,200" in mrr and "+$100 (+4.8%) vs Dec 2024" in mrr and "n = 50 customers" in mrr
    assert mrr.count("<svg") == 1 and "<polyline" in mrr
    churn = next(c for c in cards if "Logo churn" in c)
    assert "Target ≤ 5.0%" in churn and "met" in churn and "worse than the 12-month median" in churn


def test_a_two_answer_nps_and_a_stale_csat_say_so_on_the_page(kpis):
    html = page(kpis)
    assert "too few responses (n = 2)" in html
    assert "value from December 2024" in html


def test_the_full_table_is_grouped_by_area_in_reading_order(kpis):
    html = page(kpis)
    areas = re.findall(r'<th class="area"[^>]*>(.*?)</th>', html)
    assert areas == ["Revenue", "Retention", "Satisfaction", "Support"]


def test_worse_changes_are_marked_worse_in_the_metric_s_direction(kpis):
    html = page(kpis)
    # churn rose 1 pp: worse because lower is better
    assert re.search(r'<td class="num worse">\+1\.0 pp vs Dec 2024</td>', html)
    assert re.search(r'<td class="num better">\+\$100 \(\+4\.8%\) vs Dec 2024</td>', html)


def test_data_text_in_the_narrative_and_skipped_reports_is_escaped(kpis):
    html = page(kpis, narrative=[f"The largest account lost was {HOSTILE}."],
                skipped=[{"name": "06_purchase_behaviour", "reason": "the dataset has no transactions table"}])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("06_purchase_behaviour is left out: the dataset has no transactions table") == 1


def test_sparklines_are_drawn_from_numbers_alone():
    svg = sparkline_svg([1.0, np.nan, 3.0, 2.0], width=90, height=20, pad=0)
    # x = 0, 60, 90 for points 0, 2, 3 of 4 (step 30); y: 1 -> 20 (bottom), 3 -> 0, 2 -> 10
    assert 'points="0.0,20.0 60.0,0.0 90.0,10.0"' in svg
    assert re.fullmatch(r'[<>/="#\w\s.,:\-]+', svg)  # no text from the data can be in it
    assert sparkline_svg([np.nan, 2.0]) == ""
