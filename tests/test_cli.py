"""The command line: exit codes, readable output, nothing written on bad data."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from csm_kit.cli import app
from tests.conftest import write_tables

runner = CliRunner()


def test_validate_exits_0_on_good_data(good_folder):
    result = runner.invoke(app, ["validate", "--data", str(good_folder)])
    assert result.exit_code == 0, result.output
    assert "meets the contract" in result.output


def test_validate_exits_2_and_names_every_problem(tmp_path):
    folder = write_tables(tmp_path / "bad", {
        "customers": "customer_id,signup_date\nC1,2024-01-05\nC2,yesterday\n",
        "subscriptions": ("subscription_id,customer_id,start_date,end_date\n"
                          "S1,C1,2024-01-05,2023-01-01\n"),
    })
    before = sorted(p.name for p in folder.iterdir())
    result = runner.invoke(app, ["validate", "--data", str(folder)])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "customers.signup_date: dates that do not parse" in flat
    assert "subscriptions.mrr: the required column is missing" in flat
    assert "subscriptions.end_date: an end before its start" in flat
    assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


def test_a_missing_data_folder_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "sample", "metrics", "report"):
        assert command in result.output


def test_sample_needs_an_explicit_out_folder_so_the_bundled_sample_is_safe():
    result = runner.invoke(app, ["sample", "--customers", "5"])
    assert result.exit_code == 2
    assert "--out" in result.output


def test_sample_writes_the_tables_it_is_asked_for(tmp_path):
    result = runner.invoke(app, ["sample", "--customers", "20", "--months", "3", "--out",
                                 str(tmp_path), "--tables", "customers,subscriptions"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "subscriptions.csv"]


def test_engine_choice_reaches_the_transforms_and_an_unknown_engine_is_rejected(monkeypatch):
    import os

    import csm_kit.kpis
    from csm_kit.engine import ENGINE_VARIABLE

    # setenv first so monkeypatch records the variable's state (set or not) and puts it back
    # even if the command below leaked it: delenv of an unset variable records nothing.
    monkeypatch.setenv(ENGINE_VARIABLE, "pandas")
    monkeypatch.delenv(ENGINE_VARIABLE)
    seen = []
    real_kpi_table = csm_kit.kpis.kpi_table

    def recording_kpi_table(*args, **kwargs):
        seen.append(os.environ.get(ENGINE_VARIABLE))
        return real_kpi_table(*args, **kwargs)

    monkeypatch.setattr(csm_kit.kpis, "kpi_table", recording_kpi_table)
    result = runner.invoke(app, ["metrics", "--engine", "spreadsheet"])
    assert result.exit_code == 2 and "spreadsheet" in result.output
    result = runner.invoke(app, ["metrics", "--engine", "duckdb"])
    assert result.exit_code == 0, result.output
    assert seen == ["duckdb"]  # the transforms ran with the choice (engine=None reads it)...
    assert ENGINE_VARIABLE not in os.environ  # ...and the command put the variable back
    monkeypatch.setenv(ENGINE_VARIABLE, "polars")
    assert runner.invoke(app, ["metrics", "--engine", "pandas"]).exit_code == 0
    assert seen[-1] == "pandas" and os.environ[ENGINE_VARIABLE] == "polars"


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"csm-kit {version('csm-kit')}"


def test_help_shows_each_command_s_whole_one_line_description():
    result = runner.invoke(app, ["--help"], terminal_width=200)
    flat = " ".join(result.output.split())
    assert "Check a dataset against the data contract and print every problem; writes nothing." in flat
    assert ("Write every headline metric as one long table: metric, period, group, value, n, "
            "ci_low, ci_high.") in flat
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands  # Click cuts long descriptions with "..."


THREE_CUSTOMERS = {
    # A, B, C at 100 from January; B ends 2024-03-01, the first end in the data: churn in
    # March is 1 of 3 = 0.3333...; January and February are before any end could be seen.
    "customers": "customer_id,signup_date\nA,2024-01-01\nB,2024-01-01\nC,2024-01-01\n",
    "subscriptions": ("subscription_id,customer_id,start_date,end_date,mrr\n"
                      "S1,A,2024-01-01,,100\nS2,B,2024-01-01,2024-03-01,100\n"
                      "S3,C,2024-01-01,,100\nS4,C,2024-04-01,,0.5\n"),
}


def test_metrics_rounds_on_the_terminal_and_keeps_full_precision_in_a_file(tmp_path):
    folder = write_tables(tmp_path / "three", THREE_CUSTOMERS)
    shown = runner.invoke(app, ["metrics", "--data", str(folder), "--as-of", "2024-03-31"])
    assert shown.exit_code == 0, shown.output
    assert "logo_churn_rate,2024-03,,0.3333,3," in shown.output
    out = tmp_path / "kpis.csv"
    written = runner.invoke(app, ["metrics", "--data", str(folder), "--as-of", "2024-03-31",
                                  "--output", str(out)])
    assert written.exit_code == 0, written.output
    assert "logo_churn_rate,2024-03,,0.3333333333333333,3.0," in out.read_text()


def test_metrics_leaves_out_the_months_before_the_first_subscription_end(tmp_path):
    folder = write_tables(tmp_path / "three", THREE_CUSTOMERS)
    shown = runner.invoke(app, ["metrics", "--data", str(folder), "--as-of", "2024-03-31"])
    assert ",2024-01," not in shown.output and ",2024-02," not in shown.output
    assert "before March 2024, the first subscription end in the data" in " ".join(shown.output.split())
    everything = runner.invoke(app, ["metrics", "--data", str(folder), "--as-of", "2024-03-31",
                                     "--all-months"])
    assert "mrr,2024-01,,300.0,3," in everything.output


def test_a_report_about_tables_the_data_lacks_is_left_out_once(good_folder):
    from csm_kit.cli import NOTEBOOKS_DIR, reports_the_data_supports, select_notebooks
    from csm_kit.errors import ConfigError
    from csm_kit.report.context import open_report

    # the good folder has customers, subscriptions, surveys and tickets: no transactions
    ctx = open_report(str(good_folder), as_of="2024-03-31")
    kept, skipped = reports_the_data_supports(select_notebooks(NOTEBOOKS_DIR, None), ctx)
    assert skipped == [{"name": "06_purchase_behaviour",
                        "reason": "the dataset has no transactions table"}]
    # 07 (renewals, support, adoption) runs on any one of its tables: the tickets are here
    assert [p.stem for p in kept] == ["00_overview", "01_churn_cohorts", "02_revenue_retention",
                                      "03_satisfaction", "04_customer_health", "05_csm_scorecard",
                                      "07_renewals_support_adoption"]
    with pytest.raises(ConfigError, match="none of the chosen reports can run on this dataset: "
                                          "06_purchase_behaviour"):
        reports_the_data_supports(select_notebooks(NOTEBOOKS_DIR, "06"), ctx)


def test_the_report_run_validates_notebooks_without_loading_the_iri_grammars():
    # `report` marks rfc3987_syntax absent before nbformat imports jsonschema; nbformat's
    # schemas use no "format" keyword, so validation is the same: a good notebook passes and a
    # cell without its `source` is still refused. Run in a fresh process (the test process may
    # have imported jsonschema already).
    code = """
import sys
from csm_kit.cli import _without_iri_grammars
_without_iri_grammars()
import nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
nbformat.validate(nb)
del nb.cells[0]["source"]
try:
    nbformat.validate(nb)
except nbformat.ValidationError:
    print("refused", sys.modules["rfc3987_syntax"])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["refused", "None"]


def test_an_action_list_beyond_the_budget_is_exported_without_probabilities_and_says_so(
        good_folder, monkeypatch, capsys):
    # the fitted model needs 10 scoring days of every customer; past the report's budget the
    # export is the list without probabilities (as the health report shows it) and says why
    from csm_kit.cli import report_exports
    from csm_kit.report.context import open_report

    ctx = open_report(str(good_folder), as_of="2024-03-31")
    monkeypatch.setattr("csm_kit.report.context.BACKTEST_BUDGET", 0)
    tables = report_exports(ctx, ctx.health)
    assert tables["action_list"]["probability"].isna().all()
    said = " ".join(capsys.readouterr().err.split())
    assert ("the exported action list has no churn probabilities: 2 customers × 10 scoring days "
            "are more than the report's budget of 0 customer-dates") in said


def test_the_report_hands_the_datas_memory_back_before_the_notebooks_run(good_folder, tmp_path,
                                                                        monkeypatch):
    # The notebooks read the snapshot; the CLI's own copies (the engine's kept results among
    # them) are released before run_reports starts, not held through the whole run.
    import pandas as pd

    import csm_kit.report.runner
    from csm_kit import engine

    engine.reuse(engine.to_engine(pd.DataFrame({"a": [1]}), "duckdb"), "test", lambda f: f)
    assert engine._REUSED
    kept = []

    def stop(*args, **kwargs):
        kept.append(len(engine._REUSED) + len(engine._REUSED_PANDAS))
        raise RuntimeError("stopped before the notebooks")

    monkeypatch.setattr(csm_kit.report.runner, "run_reports", stop)
    runner.invoke(app, ["report", "--data", str(good_folder), "--out", str(tmp_path / "out")])
    assert kept == [0]
