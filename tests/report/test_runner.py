"""The report pipeline: papermill execution, HTML export, index, manifest, atomic folders.

Tiny notebooks are built with nbformat and executed for real in the venv's python3 kernel.
Kernel starts cost ~2 s each, so the real runs happen once per module (``runs``) and the
tests read what they left behind; folder rules are also tested directly, without kernels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from csm_kit.errors import ConfigError, ReportError
from csm_kit.privacy import mask_secrets
from csm_kit.report.html import notebook_to_html, render_index
from csm_kit.report.progress import progress_reporter
from csm_kit.report.publish import destination, is_good_report, publish
from csm_kit.report.runner import run_reports

AS_OF = "2024-01-31"
DB_URL = "postgresql://ana:s3cret@db.example.com/cs"
CODE_MARKER = "code-marker-7f3a"

# any external script or stylesheet: <script src=...>, <link href="http...">, CSS imports
NETWORK_ASSET = re.compile(
    r"<script[^>]*\bsrc\s*=|<link[^>]*href\s*=\s*[\"']?(https?:)?//|@import|url\(\s*[\"']?https?:",
    re.IGNORECASE,
)


def _notebook(path: Path, *sources: str) -> Path:
    """Write a notebook: a `parameters` cell, then markdown ("md:" prefix) or code cells."""
    params = nbformat.v4.new_code_cell(
        "as_of = '2000-01-01'  # the report month\ndata = 'sample'  # data source\n"
        "months = 24  # months of history"
    )
    params.metadata["tags"] = ["parameters"]
    cells = [params] + [
        nbformat.v4.new_markdown_cell(s[3:])
        if s.startswith("md:")
        else nbformat.v4.new_code_cell(s)
        for s in sources
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["kernelspec"]["language"] = "python"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("notebooks")
    return {
        "chart": _notebook(
            folder / "01_chart.ipynb",
            "md:Revenue grew from $5M to $10M this year.",
            f"# {CODE_MARKER}\nimport matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots()\nax.plot([1, 2, 3])\nplt.show()",
            "print(f'as-of is {as_of}')",
        ),
        "table": _notebook(folder / "02_table.ipynb", "print('second report')"),
        "broken": _notebook(
            folder / "03_broken.ipynb", "raise ValueError('revenue <b>exploded</b>')"
        ),
    }


HEADLINE = pd.DataFrame(
    {
        "metric": ["net_revenue_retention", "nps"],
        "label": ["NRR <i>net</i>", None],
        "value_display": ["104%", "41"],
        "target_display": ["100%", "45"],
        "status": ["On track", "Off track"],
    }
)
QUALITY = pd.DataFrame(
    {
        "table": ["customers"],
        "check": ["duplicate_name"],
        "severity": ["warning"],
        "rows": [3],
        "message": ["3 customers named <script>alert(1)</script>"],
    }
)


@pytest.fixture(scope="module")
def runs(notebooks, tmp_path_factory):
    """Four runs: good (2 notebooks at a time), failed over it, failed on a fresh folder,
    and one whose kernel does not exist. MPLBACKEND=Agg is set to prove figures survive it."""
    out = tmp_path_factory.mktemp("reports")
    fresh = tmp_path_factory.mktemp("fresh")
    params = {"as_of": AS_OF, "data": DB_URL, "months": 12}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")
        good = run_reports(
            [notebooks["chart"], notebooks["table"]],
            out_dir=out,
            as_of=AS_OF,
            parameters=params,
            jobs=2,
            headline=HEADLINE,
            quality=QUALITY,
            data_fingerprint="sha256:feedbeef",
            progress=False,
        )
        failed = run_reports(
            [notebooks["table"], notebooks["broken"]],
            out_dir=out,
            as_of=AS_OF,
            parameters=params,
            jobs=2,
            progress=False,
        )
        failed_fresh = run_reports(
            [notebooks["broken"]], out_dir=fresh, as_of=AS_OF, parameters={}, progress=False
        )
        no_kernel = run_reports(
            [notebooks["table"]],
            out_dir=fresh,
            as_of="2024-02-29",
            parameters={},
            kernel_name="no-such-kernel-csm",
            progress=False,
        )
    return {
        "out": out,
        "good": good,
        "failed": failed,
        "failed_fresh": failed_fresh,
        "no_kernel": no_kernel,
    }


def _html(run, name: str) -> str:
    return (run.folder / f"{name}.html").read_text(encoding="utf-8")


# --- a good run ---------------------------------------------------------------------------


def test_a_good_run_writes_one_page_and_executed_notebook_per_notebook_plus_index_and_manifest(
    runs,
):
    good = runs["good"]
    assert good.ok and good.folder == runs["out"].resolve() / AS_OF
    assert sorted(p.name for p in good.folder.iterdir()) == [
        "01_chart.html",
        "01_chart.ipynb",
        "02_table.html",
        "02_table.ipynb",
        "index.html",
        "manifest.json",
    ]
    assert [(r.name, r.status, r.html.parent) for r in good.results] == [
        ("01_chart", "ok", good.folder),
        ("02_table", "ok", good.folder),
    ]


def test_no_staging_or_old_folders_are_left_behind(runs):
    # the month's lock file (.csm-kit-<as_of>.lock) stays: it is only locked while a run is on
    names = sorted(p.name for p in runs["out"].iterdir() if p.suffix != ".lock")
    assert names[0] == AS_OF and all(n.startswith(f"{AS_OF}.failed-") for n in names[1:])


def test_two_notebooks_run_at_the_same_time_with_jobs_2(runs):
    good = runs["good"]
    # run concurrently, each notebook's wall time overlaps the other's
    assert good.seconds < sum(r.seconds for r in good.results)
    assert good.manifest["options"]["jobs"] == 2


def test_figures_are_inline_base64_pngs_even_with_MPLBACKEND_Agg(runs):
    assert re.search(r'<img[^>]+src="data:image/png;base64,', _html(runs["good"], "01_chart"))


def test_pages_load_nothing_from_the_network(runs):
    for name in ["01_chart", "02_table"]:
        page = _html(runs["good"], name)
        assert NETWORK_ASSET.search(page) is None
        assert "mathjax" not in page.lower() and "require.js" not in page


def test_dollar_amounts_in_markdown_stay_literal_dollars(runs):
    assert "Revenue grew from $5M to $10M this year." in _html(runs["good"], "01_chart")


def test_code_is_hidden_by_default_but_outputs_show_the_injected_as_of(runs):
    page = _html(runs["good"], "01_chart")
    assert CODE_MARKER not in page and "plt.subplots" not in page
    assert f"as-of is {AS_OF}" in page  # papermill's parameter reached the kernel


def test_the_injected_parameters_cell_is_not_shown(runs):
    page = _html(runs["good"], "01_chart")
    assert "injected-parameters" not in page
    assert "db.example.com" not in page and "months = 12" not in page


def test_include_code_shows_code_but_never_the_injected_parameters(runs):
    nb = nbformat.read(runs["good"].folder / "01_chart.ipynb", as_version=4)
    page = notebook_to_html(nb, include_code=True)
    assert CODE_MARKER in page
    assert "db.example.com" not in page and "injected-parameters" not in page


def test_the_published_notebook_keeps_no_database_password(runs):
    text = (runs["good"].folder / "01_chart.ipynb").read_text(encoding="utf-8")
    assert "s3cret" not in text and "postgresql://ana:***@db.example.com/cs" in text


def test_manifest_records_parameters_fingerprint_versions_and_timings(runs):
    manifest = json.loads((runs["good"].folder / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF and manifest["ok"] is True
    assert manifest["parameters"] == {
        "as_of": AS_OF,
        "data": "postgresql://ana:***@db.example.com/cs",
        "months": 12,
    }
    assert manifest["data_fingerprint"] == "sha256:feedbeef"
    versions = manifest["versions"]
    assert {"python", "csm-kit", "pandas", "papermill", "nbconvert", "matplotlib"} <= set(versions)
    assert all(versions[k] for k in ["python", "pandas", "papermill", "nbconvert"])
    first = manifest["notebooks"][0]
    assert first["name"] == "01_chart" and first["status"] == "ok" and first["error"] is None
    assert first["seconds"] > 0 and first["html"] == "01_chart.html"
    assert first["started"] <= first["finished"] and manifest["seconds"] > 0


def test_index_links_each_report_and_escapes_kpis_and_quality_messages(runs):
    page = (runs["good"].folder / "index.html").read_text()
    assert f"as of {AS_OF}" in page
    assert '<a href="01_chart.html">01_chart</a>' in page
    assert "NRR &lt;i&gt;net&lt;/i&gt;" in page and "<i>net</i>" not in page
    assert "nps" in page  # a missing label falls back to the metric name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "sha256:feedbeef" in page and "total run time" in page
    assert NETWORK_ASSET.search(page) is None


# --- failures -----------------------------------------------------------------------------


def test_a_failed_notebook_fails_the_run_but_the_others_complete(runs):
    failed = runs["failed"]
    assert not failed.ok
    assert [(r.name, r.status) for r in failed.results] == [
        ("02_table", "ok"),
        ("03_broken", "failed"),
    ]
    assert failed.failed[0].error.startswith("ValueError: revenue <b>exploded</b>")
    assert "second report" in _html(failed, "02_table")


def test_a_failed_report_opens_with_a_red_banner_and_the_escaped_error(runs):
    page = _html(runs["failed"], "03_broken")
    banner = page[page.index('id="csm-report-failed"') :][:600]
    assert "FAILED" in banner and "revenue &lt;b&gt;exploded&lt;/b&gt;" in banner
    assert "<b>exploded</b>" not in page
    executed = nbformat.read(runs["failed"].folder / "03_broken.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in executed.cells for o in c.get("outputs", []))


def test_the_index_marks_the_failed_report_with_its_error(runs):
    page = (runs["failed"].folder / "index.html").read_text()
    assert "1 of 2 reports FAILED" in page
    assert 'status-failed">failed<' in page
    assert "ValueError: revenue &lt;b&gt;exploded&lt;/b&gt;" in page
    assert json.loads((runs["failed"].folder / "manifest.json").read_text())["ok"] is False


def test_a_failed_run_never_replaces_a_good_report(runs):
    good, failed = runs["good"], runs["failed"]
    assert failed.kept_previous and failed.folder.name.startswith(f"{AS_OF}.failed-")
    assert "previous good report" in failed.note
    manifest = json.loads((good.folder / "manifest.json").read_text())
    assert manifest["ok"] and manifest["started"] == good.manifest["started"]
    assert (good.folder / "01_chart.html").exists()


def test_a_failed_run_with_no_previous_good_report_is_published_in_place_and_marked(runs):
    failed = runs["failed_fresh"]
    assert not failed.ok and not failed.kept_previous and failed.folder.name == AS_OF
    assert 'id="csm-report-failed"' in _html(failed, "03_broken")


def test_a_notebook_that_cannot_start_still_gets_a_failed_page(runs):
    run = runs["no_kernel"]
    assert not run.ok and "no-such-kernel-csm" in run.results[0].error
    assert run.results[0].ipynb is None
    assert 'id="csm-report-failed"' in _html(run, "02_table")


# --- folder rules, without kernels --------------------------------------------------------


def _fake_report(folder: Path, *, ok: bool, marker: str) -> Path:
    folder.mkdir(parents=True)
    status = "ok" if ok else "failed"
    manifest = {"ok": ok, "notebooks": [{"name": "a", "status": status}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "a.html").write_text(marker)
    return folder


def test_publishing_replaces_the_previous_folder_and_removes_it(tmp_path):
    old = _fake_report(tmp_path / AS_OF, ok=True, marker="old")
    new = _fake_report(tmp_path / ".tmp-new", ok=True, marker="new")
    publish(new, old)
    assert (old / "a.html").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == [AS_OF]


def test_a_failed_run_goes_aside_only_when_a_good_report_is_there(tmp_path):
    good = _fake_report(tmp_path / "good" / AS_OF, ok=True, marker="x")
    bad = _fake_report(tmp_path / "bad" / AS_OF, ok=False, marker="x")
    assert destination(good, ok=True) == (good, None)
    aside, note = destination(good, ok=False)
    assert aside.parent == good.parent and aside.name.startswith(f"{AS_OF}.failed-") and note
    assert destination(bad, ok=False) == (bad, None)
    assert destination(tmp_path / "none" / AS_OF, ok=False)[0].name == AS_OF


def test_a_report_is_good_only_if_its_manifest_says_every_notebook_was_ok(tmp_path):
    assert is_good_report(_fake_report(tmp_path / "g", ok=True, marker="x"))
    assert not is_good_report(_fake_report(tmp_path / "b", ok=False, marker="x"))
    assert not is_good_report(tmp_path / "missing")


def test_a_folder_csm_kit_did_not_write_is_never_replaced(tmp_path, notebooks):
    (tmp_path / AS_OF).mkdir()
    (tmp_path / AS_OF / "my_notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="not a csm-kit report folder"):
        run_reports([notebooks["table"]], out_dir=tmp_path, as_of=AS_OF, parameters={})
    assert sorted(p.name for p in tmp_path.iterdir()) == [AS_OF]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"as_of": "2024-1-31"}, r"`as_of` must be a date written YYYY-MM-DD, got '2024-1-31'"),
        ({"as_of": "2024-02-30"}, "`as_of` must be a date"),
        ({"jobs": 0}, r"`jobs` must be a whole number >= 1, got 0"),
    ],
)
def test_bad_options_are_config_errors(tmp_path, notebooks, kwargs, match):
    options = {"out_dir": tmp_path, "as_of": AS_OF, "parameters": {}, **kwargs}
    with pytest.raises(ConfigError, match=match):
        run_reports([notebooks["table"]], **options)
    assert list(tmp_path.iterdir()) == []


def test_notebooks_must_exist_and_have_unique_names(tmp_path, notebooks):
    with pytest.raises(ConfigError, match="not found"):
        run_reports([tmp_path / "nope.ipynb"], out_dir=tmp_path, as_of=AS_OF, parameters={})
    twin = tmp_path / "other"
    twin.mkdir()
    _notebook(twin / "02_table.ipynb")
    with pytest.raises(ConfigError, match=r"unique file names .*'02_table'"):
        run_reports(
            [notebooks["table"], twin / "02_table.ipynb"],
            out_dir=tmp_path,
            as_of=AS_OF,
            parameters={},
        )


# --- pieces -------------------------------------------------------------------------------


def test_plain_progress_writes_one_line_per_finished_notebook(capsys):
    with progress_reporter(7, interactive=False) as report:
        report("00_overview", "ok", 2.04, None)
        report("01_churn_cohorts", "ok", 4.1, None)
        report("02_revenue_retention", "failed", 3.0, "KeyError: 'mrr'\nmore detail")
    assert capsys.readouterr().err.splitlines() == [
        "[1/7] 00_overview ok 2.0 s",
        "[2/7] 01_churn_cohorts ok 4.1 s",
        "[3/7] 02_revenue_retention failed 3.0 s: KeyError: 'mrr'",
    ]


def test_the_progress_bar_prints_failures_above_the_bar(capsys):
    with progress_reporter(2, interactive=True) as report:
        report("01_churn_cohorts", "ok", 4.1, None)
        report("02_revenue", "failed", 3.0, "KeyError: [red]'mrr'")
    err = capsys.readouterr().err
    assert "[2/2] 02_revenue failed 3.0 s: KeyError: [red]'mrr'" in err  # no markup applied
    assert "2/2" in err


def test_mask_secrets_hides_url_passwords_and_secret_keys_without_touching_the_input():
    params = {
        "data": "postgresql+psycopg://ana:p@ss:w0rd@db:5432/cs?sslmode=require",
        "targets": ["https://user:tok@example.com/t.yaml", "config/targets.yaml"],
        "db_password": "hunter2",
        "segment": None,
    }
    assert mask_secrets(params) == {
        "data": "postgresql+psycopg://ana:***@db:5432/cs?sslmode=require",
        "targets": ["https://user:***@example.com/t.yaml", "config/targets.yaml"],
        "db_password": "***",
        "segment": None,
    }
    assert params["db_password"] == "hunter2"
    assert mask_secrets("duckdb:///data/cs.duckdb") == "duckdb:///data/cs.duckdb"
    assert mask_secrets(3.5) == 3.5


def test_the_index_without_kpis_or_quality_still_lists_reports():
    page = render_index(
        as_of=AS_OF,
        reports=[{"name": "a & b", "status": "ok", "seconds": 1, "error": None, "href": "a.html"}],
        seconds=1.0,
        generated="2024-02-01T06:00:00+00:00",
        ok=True,
    )
    assert "a &amp; b" in page and "Headline KPIs" not in page and "Data quality" not in page


def test_headline_without_the_agreed_columns_is_a_config_error():
    with pytest.raises(ConfigError, match=r"`headline` must have columns .* missing \['status'\]"):
        render_index(
            as_of=AS_OF,
            reports=[],
            seconds=0.0,
            generated="now",
            ok=True,
            headline=HEADLINE.drop(columns="status"),
        )
