"""`csm-kit report` end to end on the bundled sample: every report written, with charts, linked."""

import json
import re
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from typer.testing import CliRunner

from csm_kit.cli import NOTEBOOKS_DIR, app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    result = runner.invoke(app, ["report", "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    return out / "2026-10-31", result


def test_every_notebook_becomes_an_html_report_with_charts(report):
    folder, _ = report
    for notebook in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        html = (folder / f"{notebook.stem}.html").read_text()
        assert html.count('src="data:image/png;base64,') >= 1, notebook.stem
        executed = nbformat.read(folder / f"{notebook.stem}.ipynb", as_version=4)
        images = [o for c in executed.cells for o in c.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        assert images, f"{notebook.stem}: no figure in the executed notebook (MPLBACKEND=Agg?)"
        assert "Traceback" not in html and "Warning:" not in html, notebook.stem


def test_the_index_links_every_report_and_shows_headline_kpis(report):
    folder, _ = report
    index = (folder / "index.html").read_text()
    links = set(re.findall(r'href="([^"]+\.html)"', index))
    assert links == {f"{p.stem}.html" for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    assert "Logo churn (monthly)" in index and "≤ 5.0%" in index


def test_the_manifest_records_parameters_status_and_timings(report):
    folder, _ = report
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["ok"] is True and manifest["parameters"]["as_of"] == "2026-10-31"
    assert {n["name"]: n["status"] for n in manifest["notebooks"]} == {
        p.stem: "ok" for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    assert all(n["seconds"] > 0 for n in manifest["notebooks"])


def test_reports_stand_alone_offline(report):
    folder, _ = report
    for page in folder.glob("*.html"):
        html = page.read_text()
        assert not re.search(r'<script[^>]+src="https?:', html), page.name
        assert not re.search(r'<link[^>]+href="https?:', html), page.name
        assert "mathjax" not in html.lower(), page.name


def test_the_command_says_where_the_reports_are(report):
    _, result = report
    assert "2026-10-31/index.html" in result.output


def test_a_failing_notebook_exits_non_zero_and_the_others_are_still_written(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "00_overview.ipynb", notebooks)
    broken = nbformat.read(NOTEBOOKS_DIR / "06_purchase_behaviour.ipynb", as_version=4)
    broken.cells.append(new_code_cell('raise ValueError("forced failure for the test")'))
    nbformat.write(broken, notebooks / "06_purchase_behaviour.ipynb")
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--out", str(out), "--notebooks-dir", str(notebooks)])
    assert result.exit_code == 1
    assert "1 report(s) failed: 06_purchase_behaviour" in " ".join(result.output.split())
    folder = out / "2026-10-31"
    index = (folder / "index.html").read_text()
    assert "failed" in index and "forced failure for the test" in index
    assert (folder / "00_overview.html").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["ok"] is False


def test_bad_data_stops_the_report_with_exit_2_and_writes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id,signup_date\nC1,not-a-date\n")
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists() or not any(out.iterdir())


#: Where each KPI of the registry is shown with its trend (or, for LTV, tabulated): text that a
#: report notebook cell must contain, all of it. A new KPI fails the test below until a
#: notebook shows it and it is added here.
KPI_SHOWN = {
    "mrr": ("ck.mrr_summary(", 'y="mrr"'),
    "arr": ('"arr"', "show_table("),
    "active_customers": ('"customers", "arpa"', "show_table("),
    "arpa": ('y="arpa"',),
    "logo_churn_rate": ("ck.logo_churn_rate(", "plot_trend("),
    "logo_retention_rate": ("ck.logo_retention_rate(", "window_months=1"),
    "logo_retention_rate_3m": ("ck.logo_retention_rate(", "window_months=3"),
    "logo_retention_rate_12m": ("ck.logo_retention_rate(", "window_months=12"),
    "net_revenue_retention": ("ck.net_revenue_retention(",),
    "gross_revenue_retention": ("ck.gross_revenue_retention(",),
    "net_mrr_churn": ("ck.net_mrr_churn(",),
    "gross_mrr_churn": ("ck.gross_mrr_churn(",),
    "quick_ratio": ("ck.quick_ratio(",),
    "ltv": ("ck.lifetime_value(",),
    "repeat_purchase_rate": ("ck.repeat_purchase_rate(",),
    "purchase_frequency": ("ck.purchase_frequency(",),
    "average_order_value": ("ck.average_order_value(",),
    "average_customer_value": ("ck.average_customer_value(",),
    "nps": ("ck.nps(ds.surveys, as_of",),
    "nps_change": ("ck.nps_changes(",),
    "csat": ("ck.csat(ds.surveys, settings",),
    "ces": ("ck.ces(", 'y="value"'),
    "ces_low_effort_share": ('y="low_effort_share"',),
    "first_contact_resolution_rate": ("ck.first_contact_resolution(",),
    "median_hours_to_close": ("ck.time_to_close(", 'y="median"'),
    "logo_renewal_rate": ("ck.renewal_rates(", 'y="logo_renewal_rate"'),
    "gross_dollar_renewal": ('y="gross_dollar_renewal"',),
    "net_dollar_renewal": ('y="net_dollar_renewal"',),
    "trial_conversion_rate": ("ck.trial_conversion(",),
    "referral_rate": ("ck.referral_rate(",),
    "adoption_rate": ("ck.adoption_rate(", 'y="share"'),
    "key_feature_adoption": ("ck.key_feature_adoption(", 'y="user_share"'),
    "red_health_share": ("ck.health_scores(", "plot_health_bands("),
    "arr_at_risk": ("ck.arr_by_band(",),
}


def _shows_something(cell) -> bool:
    """A chart, or an HTML table, among the cell's outputs (a skipped section shows neither)."""
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data or "<table" in data.get("text/html", ""):
            return True
    return False


def test_every_kpi_of_the_registry_is_charted_or_tabulated_in_an_executed_report(report):
    from csm_kit.kpis import KPIS

    assert set(KPI_SHOWN) == {k.metric for k in KPIS}, "add the new KPI to KPI_SHOWN"
    folder, _ = report
    cells = [cell for path in sorted(folder.glob("*.ipynb"))
             for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    missing = [metric for metric, needles in KPI_SHOWN.items()
               if not any(all(n in cell.source for n in needles) and _shows_something(cell)
                          for cell in cells)]
    assert missing == [], f"no executed report charts or tabulates {missing}"
