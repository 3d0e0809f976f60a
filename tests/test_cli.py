"""The command line: exit codes, readable output, nothing written on bad data."""

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
