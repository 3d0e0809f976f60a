"""One dataset per report run: the snapshot every notebook reads, and the options it carries."""

import json
import re
import shutil
from dataclasses import fields, replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from csm_kit.cli import app
from csm_kit.data.contract import TABLES
from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.scores import health_scores
from csm_kit.kpis import kpi_table
from csm_kit.report.context import open_report
from csm_kit.report.snapshot import SnapshotDataset, read_snapshot, write_snapshot
from tests.conftest import write_tables

runner = CliRunner()


@pytest.fixture
def snapshot(good_folder, tmp_path):
    ctx = open_report(str(good_folder), as_of="2024-03-31")
    assert len(ctx.kpis)  # computes the health scores and the KPIs, kept in the context
    path = write_snapshot(ctx, tmp_path / "run", options={"data": str(good_folder)})
    return ctx, path


def test_every_table_and_shared_table_reads_back_exactly_as_written(snapshot, good_folder):
    ctx, path = snapshot
    back = open_report(str(good_folder), as_of="2024-03-31", snapshot=str(path))
    assert read_snapshot(path)[2] == {"data": str(good_folder)}
    assert set(back.dataset.tables()) == set(ctx.dataset.tables())
    for name, frame in ctx.dataset.tables().items():
        pd.testing.assert_frame_equal(getattr(back.dataset, name), frame, check_flags=False)
    for name in ("quality", "health", "kpis"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(ctx, name))
    assert (back.as_of, back.months, back.segment, back.targets, back.privacy) == (
        ctx.as_of, ctx.months, ctx.segment, ctx.targets, ctx.privacy)
    assert back.dataset.latest_date() == ctx.dataset.latest_date()
    assert back.dataset.fingerprint() == ctx.dataset.fingerprint()


def test_a_table_is_read_only_when_a_notebook_uses_it(snapshot, good_folder):
    _, path = snapshot
    back = open_report(str(good_folder), as_of="2024-03-31", snapshot=str(path))
    assert isinstance(back.dataset, SnapshotDataset) and isinstance(back.dataset, Dataset)
    assert not isinstance(back.dataset.__dict__["surveys"], pd.DataFrame)  # not read yet
    assert back.dataset.surveys["response_id"].tolist() == ["R1", "R2"]
    assert isinstance(back.dataset.__dict__["surveys"], pd.DataFrame)
    assert back.dataset.renewals is None  # absent in the source, absent in the snapshot


def test_a_shared_table_is_read_only_when_a_notebook_uses_it(snapshot, good_folder):
    ctx, path = snapshot
    back = open_report(str(good_folder), as_of="2024-03-31", snapshot=str(path))
    unread = {name for name in ("_health", "_kpis", "_signals")
              if not isinstance(back.__dict__[name], pd.DataFrame)}
    assert unread == {"_health", "_kpis", "_signals"}
    pd.testing.assert_frame_equal(back.health, ctx.health)
    assert isinstance(back.__dict__["_health"], pd.DataFrame)
    assert not isinstance(back.__dict__["_kpis"], pd.DataFrame)


def test_every_dataset_setting_travels_in_the_snapshot(tmp_path, good_folder):
    # Settings carried by the dataset (source, time zone, and any added later) must reach the
    # notebooks: each non-table field of Dataset round-trips, or writing refuses loudly.
    ctx = open_report(str(good_folder), timezone="America/New_York")
    dataset = read_snapshot(write_snapshot(ctx, tmp_path))[0]
    for f in fields(Dataset):
        if not isinstance(getattr(ctx.dataset, f.name), pd.DataFrame | None):
            assert getattr(dataset, f.name) == getattr(ctx.dataset, f.name), f.name
    assert dataset.timezone == "America/New_York"


def test_the_notebooks_see_the_snapshot_even_when_the_data_is_replaced_during_the_run(
        snapshot, good_folder):
    ctx, path = snapshot
    (good_folder / "subscriptions.csv").write_text(
        "subscription_id,customer_id,start_date,end_date,mrr\nS9,00123,2024-01-01,,7\n")
    again = open_report(str(good_folder), as_of="2024-03-31", snapshot=str(path))
    pd.testing.assert_frame_equal(again.dataset.subscriptions, ctx.dataset.subscriptions)
    shutil.rmtree(good_folder)  # even gone
    assert open_report(str(good_folder), as_of="2024-03-31", snapshot=str(path)).as_of == ctx.as_of


def test_a_notebook_asking_for_other_options_than_the_snapshots_is_told(snapshot, good_folder):
    _, path = snapshot
    with pytest.raises(ConfigError, match=r"other options: months=3 \(snapshot: 24\); set snapshot = None"):
        open_report(str(good_folder), as_of="2024-03-31", months=3, snapshot=str(path))
    with pytest.raises(ConfigError, match=r"timezone='Europe/Berlin' \(snapshot: 'UTC'\)"):
        open_report(str(good_folder), timezone="Europe/Berlin", snapshot=str(path))
    with pytest.raises(ConfigError, match=r"as_of='2024-05-31' \(snapshot: 2024-03\)"):
        open_report(str(good_folder), as_of="2024-05-31", snapshot=str(path))
    with pytest.raises(ConfigError, match=r"data=None"):
        open_report(None, snapshot=str(path))


def test_a_snapshot_that_is_gone_says_how_to_load_the_data_instead(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist .* set snapshot = None"):
        open_report(None, snapshot=str(tmp_path / "snapshot-0123"))


def test_the_shared_tables_are_the_ones_the_metric_functions_give(good_folder):
    # ctx.health and ctx.kpis replace health_scores(...) and kpi_table(...) in the notebooks:
    # same frames, computed once.
    ctx = open_report(str(good_folder), as_of="2024-03-31")
    expected_health = health_scores(ctx.dataset, as_of=ctx.as_of_end)
    pd.testing.assert_frame_equal(ctx.health, expected_health)
    pd.testing.assert_frame_equal(ctx.kpis, kpi_table(ctx.dataset, as_of=ctx.as_of))
    assert ctx.health is ctx.health  # computed once


def test_a_value_a_snapshot_cannot_store_is_refused_by_name(good_folder, tmp_path):
    ctx = open_report(str(good_folder))
    ctx.targets = {"nps": object()}
    with pytest.raises(ConfigError, match="ReportContext.targets holds a object"):
        write_snapshot(ctx, tmp_path)


# --------------------------------------------------------------------------- one run, one dataset

# A subscription starting at 22:00 on 29 February in New York starts on 1 March in UTC.
TIMEZONE_TABLES = {
    "customers": """
customer_id,signup_date,segment
A,2024-01-05,SMB
B,2024-01-10,SMB
""",
    "subscriptions": """
subscription_id,customer_id,start_date,end_date,mrr
S1,A,2024-01-05,,100
S2,B,2024-02-29T22:00:00-05:00,,1000
""",
}


def _mrr_cells(html: str) -> list[str]:
    return re.findall(r"<td>MRR</td>\s*<td[^>]*>([^<]+)</td>", html)


@pytest.mark.slow
def test_the_timezone_reaches_the_notebooks_and_index_and_pages_agree(tmp_path):
    # MRR at the end of February 2024 in New York: S1 100 + S2 1,000 (it starts on 29 February
    # there) = 1,100. In UTC S2 starts on 1 March, so the figure would be 100: a notebook that
    # loaded the data again without the time zone showed 100 beside an index showing 1,100.
    data = write_tables(tmp_path / "data", TIMEZONE_TABLES)
    out = tmp_path / "reports"
    result = runner.invoke(app, ["report", "--data", str(data), "--as-of", "2024-02-29",
                                 "--timezone", "America/New_York", "--notebooks", "00",
                                 "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    folder = out / "2024-02-29"
    index = (folder / "index.html").read_text()
    overview = (folder / "00_overview.html").read_text()
    assert _mrr_cells(index) == ["1,100"]
    assert _mrr_cells(overview) == ["1,100"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"]["timezone"] == "America/New_York"
    expected = open_report(str(data), timezone="America/New_York").dataset.fingerprint()
    assert manifest["data_fingerprint"] == expected
    # and that fingerprint is the New York data's: the same files read in UTC differ (S2 starts
    # on 1 March), so a manifest describing a UTC load would fail the line above
    assert open_report(str(data)).dataset.fingerprint() != expected
    assert f"snapshot-{expected}" in manifest["parameters"]["snapshot"]
    assert not Path(manifest["parameters"]["snapshot"]).exists()  # removed after the run


def test_a_backtest_beyond_the_reports_budget_is_skipped_with_one_line(good_folder, monkeypatch):
    shown = []
    monkeypatch.setattr("csm_kit.report.context._display_note", shown.append)
    ctx = open_report(str(good_folder), as_of="2024-03-31")
    # both customers are active at the end of March (S1 open, S2 until June): 2 × 10 days = 20
    assert len(ctx.health) == 2
    assert ctx.backtest_fits() is True
    monkeypatch.setattr("csm_kit.report.context.BACKTEST_BUDGET", 20)
    assert ctx.backtest_fits() is True  # at the budget still fits
    monkeypatch.setattr("csm_kit.report.context.BACKTEST_BUDGET", 19)
    assert ctx.backtest_fits() is False and ctx.backtest_fits() is False
    assert shown == ["The health backtest is skipped in this report: 2 customers × 10 scoring "
                     "days = 20 customer-dates, more than the report's budget of 19 (each day "
                     "rebuilds every signal). Run ck.backtest(ds) in a notebook to measure it."]


def test_a_renewal_forecast_beyond_the_reports_budget_is_skipped_with_one_line(monkeypatch):
    # The sample at the end of October 2026: its customers scored now × the days the forecast
    # and its backtest score (forecast.scoring_days) against the budget, exactly.
    from csm_kit.health.forecast import scoring_days

    shown = []
    monkeypatch.setattr("csm_kit.report.context._display_note", shown.append)
    ctx = open_report(None, as_of="2026-10-31")
    days = len(scoring_days(ctx.dataset, as_of=ctx.as_of_end))
    work = len(ctx.health) * days
    monkeypatch.setattr("csm_kit.report.context.BACKTEST_BUDGET", work)
    assert ctx.renewal_forecast_fits() is True
    monkeypatch.setattr("csm_kit.report.context.BACKTEST_BUDGET", work - 1)
    assert ctx.renewal_forecast_fits() is False and ctx.renewal_forecast_fits() is False
    assert shown == [f"The renewal forecast and its backtest are skipped in this report: "
                     f"{len(ctx.health):,} customers × {days} scoring days = {work:,} "
                     f"customer-dates, more than the report's budget of {work - 1:,} (each day "
                     "rebuilds every signal). Run ck.renewal_forecast(ds) in a notebook for the "
                     "forecast alone."]


def test_a_run_builds_the_churn_history_and_model_once_for_the_exported_list_and_the_health_report(
        tmp_path, monkeypatch):
    # The CLI's context fits the exported action list's model (risk_history without the
    # backtests); the snapshot carries that churn history and model, and notebook 04's
    # context learns from them instead of rebuilding ten days of signals and fitting again.
    # What is learnt equals what risk_history learns from the data itself.
    from csm_kit.report import risk

    ctx = open_report(None, as_of="2026-10-31")
    exported = ctx.risk_history(backtests=False, within_budget=True)
    assert exported.model is not None and exported.backtest is None
    path = write_snapshot(ctx, tmp_path / "run")
    built, fitted = [], []
    real, real_fit = risk.churn_history, risk.fit_churn_model
    monkeypatch.setattr(risk, "churn_history", lambda *a, **k: built.append(1) or real(*a, **k))
    monkeypatch.setattr(risk, "fit_churn_model",
                        lambda *a, **k: fitted.append(1) or real_fit(*a, **k))
    back = open_report(None, as_of="2026-10-31", snapshot=str(path))
    learnt = back.risk_history()
    assert built == [] and fitted == []  # read from the snapshot, not rebuilt or refitted
    pd.testing.assert_frame_equal(learnt.history, exported.history)
    fresh = risk.risk_history(back.dataset)
    assert built == [1] and fitted == [1]
    pd.testing.assert_frame_equal(fresh.history, learnt.history)
    assert (learnt.model.auc, learnt.model.brier) == (fresh.model.auc, fresh.model.brier)
    assert_same_model(learnt.model, fresh.model, back.signals)
    assert (learnt.backtest.auc, learnt.backtest.held_out_auc_suggested) == (
        fresh.backtest.auc, fresh.backtest.held_out_auc_suggested)
    assert learnt.distress.auc == fresh.distress.auc
    pd.testing.assert_frame_equal(learnt.plays(back.dataset), fresh.plays(back.dataset))


def test_a_context_over_the_budget_neither_builds_nor_reuses_a_churn_history(
        good_folder, monkeypatch):
    monkeypatch.setattr("csm_kit.report.context._display_note", lambda text: None)
    monkeypatch.setattr("csm_kit.report.context.BACKTEST_BUDGET", 0)
    ctx = open_report(str(good_folder), as_of="2024-03-31")
    learnt = ctx.risk_history()
    assert learnt.history is None and learnt.model is None
    assert "budget" in learnt.note and ctx._churn_history is None


def test_signals_over_several_days_read_only_the_tables_the_signals_use(tmp_path):
    # signals_by_day codes the signal tables' ids; a snapshot's other tables stay on disk.
    from csm_kit.health.signals import signals_by_day

    ctx = open_report(None, as_of="2026-10-31")
    path = write_snapshot(ctx, tmp_path / "run")
    back = open_report(None, as_of="2026-10-31", snapshot=str(path))
    days = pd.to_datetime(["2026-08-31", "2026-09-30", "2026-10-31"])
    assert len(list(signals_by_day(back.dataset, days))) == 3
    for unread in ("transactions", "trials", "referrals", "events"):
        assert not isinstance(back.dataset.__dict__[unread], pd.DataFrame), unread


def test_every_page_tells_the_runs_story_without_reading_a_table(tmp_path, monkeypatch):
    # The CLI writes the narrative's shared sentences (MRR, movers, accounts) and finds the
    # currency once; a page's context tells the same story as one that wrote it from the
    # data, and reads no table to do so (only the moves sentence is the page's own).
    from csm_kit.report import narrative

    ctx = open_report(None, as_of="2026-10-31")
    told = ctx.story(metrics=["net_revenue_retention"])
    path = write_snapshot(ctx, tmp_path / "run")
    written = []
    real = narrative.revenue_sentences
    monkeypatch.setattr(narrative, "revenue_sentences",
                        lambda *a, **k: written.append(1) or real(*a, **k))
    back = open_report(None, as_of="2026-10-31", snapshot=str(path))
    assert back.story(metrics=["net_revenue_retention"]) == told
    assert written == []
    read = [name for name in TABLES if isinstance(back.dataset.__dict__[name], pd.DataFrame)]
    assert read == []
    fresh = narrative.narrative(back.dataset, as_of=back.as_of, kpis=back.kpis,
                                metrics=["net_revenue_retention"], currency=back.currency,
                                directions=back.directions)
    assert written == [1] and fresh == told
    assert told[0].startswith("MRR ended October 2026 at $")


def test_the_exported_action_list_and_the_health_reports_are_one_table(tmp_path, monkeypatch):
    # The CLI's context builds the action list once (the export); the snapshot carries it and
    # notebook 04's context shows it without building it again. It is action_list with the
    # churn model risk_history fits on the same data.
    from csm_kit.health import actions
    from csm_kit.report.risk import risk_history

    ctx = open_report(None, as_of="2026-10-31")
    made = ctx.actions
    path = write_snapshot(ctx, tmp_path / "run")
    real = actions.action_list
    monkeypatch.setattr(actions, "action_list", lambda *a, **k: pytest.fail("built again"))
    back = open_report(None, as_of="2026-10-31", snapshot=str(path))
    pd.testing.assert_frame_equal(back.actions, made)
    model = risk_history(back.dataset, backtests=False).model
    assert model is not None and made["probability"].notna().any()
    pd.testing.assert_frame_equal(made, real(back.dataset, as_of="2026-10-31", model=model))


def test_the_runs_signals_give_the_scores_and_probabilities_the_data_gives(tmp_path,
                                                                           monkeypatch):
    # The CLI's context computes the customers' signals at the as-of month end and the month
    # end before once; the snapshot carries them, and notebook 04's distress scores and
    # churn probabilities read them (no signal computed again) with the figures the data
    # itself gives.
    from csm_kit.health import signals as signals_module
    from csm_kit.health.probability import churn_probability
    from csm_kit.health.scores import distress_scores
    from csm_kit.report.risk import risk_history

    ctx = open_report(None, as_of="2026-10-31")
    assert sorted(ctx.signals["as_of"].unique()) == [pd.Timestamp("2026-09-30"),
                                                     pd.Timestamp("2026-10-31")]
    assert len(ctx.health)  # scored from the signals, kept in the context
    path = write_snapshot(ctx, tmp_path / "run")
    back = open_report(None, as_of="2026-10-31", snapshot=str(path))
    model = risk_history(back.dataset, backtests=False).model
    fresh = (distress_scores(back.dataset, as_of=back.as_of_end),
             churn_probability(back.dataset, as_of=back.as_of_end, model=model))
    pd.testing.assert_frame_equal(back.health, health_scores(back.dataset, as_of=back.as_of_end))
    monkeypatch.setattr(signals_module, "customer_signals",
                        lambda *a, **k: pytest.fail("signals computed again"))
    shared = (distress_scores(back.dataset, as_of=back.as_of_end, signals=back.signals),
              churn_probability(back.dataset, as_of=back.as_of_end, model=model,
                                signals=back.signals))
    for one, other in zip(shared, fresh, strict=True):
        pd.testing.assert_frame_equal(one, other)


def assert_same_model(model, expected, signals) -> None:
    """Every figure of a churn model, and its probabilities for ``signals``, are
    ``expected``'s."""
    frames, values = model.parts()
    expected_frames, expected_values = expected.parts()
    assert values == expected_values and model.config == expected.config
    for part, frame in expected_frames.items():
        pd.testing.assert_frame_equal(frames[part], frame, obj=part)
    pd.testing.assert_series_equal(model._center, expected._center)
    pd.testing.assert_series_equal(model._scale, expected._scale)
    assert model.predict(signals).tolist() == expected.predict(signals).tolist()


def test_a_model_of_another_health_configuration_is_fitted_again_not_carried(tmp_path):
    # The snapshot records the packaged configuration only: a model fitted with another one
    # would come back with the wrong inputs, so it is left out and notebook 04 fits its own.
    from csm_kit.health.config import load_health_config

    ctx = open_report(None, as_of="2026-10-31")
    model = ctx.risk_history(backtests=False, within_budget=True).model
    frames, values = model.parts()
    assert json.loads(json.dumps(values)) == values  # plain numbers, lists and a dict
    packaged = load_health_config(None)
    ctx._churn_model = replace(model, config=replace(packaged, bands={"red": 10.0,
                                                                      "yellow": 20.0}))
    back = open_report(None, as_of="2026-10-31",
                       snapshot=str(write_snapshot(ctx, tmp_path / "run")))
    assert back._churn_model is None
