"""The risk tools on the bundled sample: the figures issue 14 promised, measured, not asserted.

One churn history (10 month ends, 90 days) is computed once for the module and shared.
"""

from __future__ import annotations

import pandas as pd
import pytest

import csm_kit as ck
from csm_kit.health.actions import action_backtest, action_list
from csm_kit.health.backtest import backtest, churn_history
from csm_kit.health.probability import fit_churn_model
from csm_kit.health.scores import load_distress_config, load_health_config

ADOPTION = {"adoption", "key_feature"}


@pytest.fixture(scope="module")
def sample():
    return ck.load_sample()


@pytest.fixture(scope="module")
def history(sample):
    return churn_history(sample)


def test_the_red_band_holds_at_least_30_percent_of_churners_at_3_times_the_churn_rate(
        sample, history):
    # before issue 14: red held 9.7% of the churners (all six red accounts at 2026-10-31
    # were weeks-old customers scored on two components)
    red = backtest(sample, history=history).lift.set_index("band").loc["red"]
    assert red["share_of_churners"] >= 0.30 and red["lift"] >= 3


def test_distress_ranks_churn_better_with_close_time(sample, history):
    result = backtest(sample, history=history, config=load_distress_config())
    assert result.auc > 0.53  # 0.529 with open tickets only
    assert result.component_auc["close_time"] > 0.55


def test_no_new_customer_is_red_on_adoption_alone_at_the_end_of_october_2026(sample):
    health = ck.health_scores(sample, as_of="2026-10-31")
    red_cut = load_health_config().bands["red"]
    young_red = health[(health["profile"] == "onboarding") & (health["band"] == "red")]
    others = [c for c in load_health_config().onboarding.names if c not in ADOPTION]
    for _, row in young_red.iterrows():
        assert any(row[f"{c}_score"] < red_cut for c in others), row["customer_id"]
    signals = ck.customer_signals(sample, as_of="2026-10-31").set_index("customer_id")
    young = signals.loc[health["customer_id"], "tenure_days"].to_numpy() < 90
    assert (health.loc[young, "profile"] == "onboarding").all()


def test_churn_probability_is_calibrated_on_held_out_customers(model):
    assert model.calibration["gap"].abs().max() <= 0.05  # within 5 points in every decile
    assert model.brier < model.base_rate_brier
    assert model.auc > 0.8
    red = model.risk_groups.set_index("band").loc["red"]
    assert red["share_of_churners"] >= 0.30 and red["lift"] >= 3


@pytest.fixture(scope="module")
def model(sample, history):
    return fit_churn_model(sample, history=history)


@pytest.fixture(scope="module")
def actions(sample, model):
    return action_list(sample, as_of="2026-10-31", model=model)


def test_every_october_detractor_still_a_customer_gets_the_detractor_play_with_its_comment(
        sample, actions):
    surveys, active = sample.surveys, ck.customer_signals(sample, as_of="2026-10-31")
    october = surveys[(surveys["survey"] == "nps") & (surveys["score"] <= 6)
                      & surveys["date"].between("2026-10-01", "2026-10-31")
                      & surveys["customer_id"].isin(active["customer_id"])]
    assert len(october) > 0
    listed = actions.set_index("customer_id")
    for answer in october.itertuples():
        row = listed.loc[answer.customer_id]
        assert row["play"] == "detractor"
        assert row["evidence"] == f"recent_nps = {answer.score:.0f} (≤ 6)"
        assert row["comment"] == answer.comment or (pd.isna(row["comment"])
                                                    and pd.isna(answer.comment))


def test_every_contract_due_in_the_next_three_months_on_a_yellow_or_red_account_is_listed(
        sample, actions):
    health = ck.health_scores(sample, as_of="2026-10-31").set_index("customer_id")["band"]
    renewals = sample.renewals
    due = renewals[renewals["due_date"].between("2026-11-01", "2027-01-31")
                   & renewals["renewed_on"].isna()]
    at_risk = due[due["customer_id"].map(health).isin(["red", "yellow"])]
    assert len(at_risk) > 0
    listed = actions.set_index("customer_id")
    for contract in at_risk.itertuples():
        row = listed.loc[contract.customer_id]
        fired = [row["play"], *row["other_plays"].split(", ")]
        assert "renewal_at_risk" in fired
        if row["play"] == "renewal_at_risk":  # the row quotes the values that fired it
            days = (contract.due_date - pd.Timestamp("2026-10-31")).days
            assert row["evidence"] == (f"days_to_renewal = {days} (≤ 92); "
                                       f"band = {health[contract.customer_id]} (in red, yellow)")


def test_accounts_listed_at_past_month_ends_churned_at_3_times_the_base_rate(
        sample, history, model):
    table = action_backtest(sample, history=history, model=model).set_index("group")
    assert table.loc["all listed", "lift"] >= 3


def test_the_exported_action_list_uses_the_model_the_report_fits_without_its_backtests(
        sample, model, actions):
    # `csm-kit report` exports the action list from risk_history(..., backtests=False): the
    # same churn history and fit as the health report's model (here `model`, fitted on the
    # module's history), only the two backtests are skipped.
    from csm_kit.report.risk import action_list_export, risk_history

    learnt = risk_history(sample, backtests=False)
    assert learnt.backtest is None and learnt.distress is None
    pd.testing.assert_frame_equal(learnt.model.coefficients, model.coefficients)
    exported = action_list_export(sample, as_of="2026-10-31")
    expected = actions.assign(due_date=actions["due_date"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_frame_equal(exported, expected)


def test_the_play_backtest_judges_the_plays_the_action_list_gives_each_past_day(
        sample, history, model):
    # action_backtest reads each day's most urgent play straight from the fired rules; here
    # the same pooled counts are rebuilt from action_list itself (its `play` column) on each of
    # the history's days, for the held-out customers, and must agree exactly.
    from csm_kit.health.actions import account_evidence, load_playbook

    book = load_playbook(None)
    judged = set(model.held_out["customer_id"])
    pooled = []
    for day, rows in history.groupby("as_of", sort=True):
        evidence = account_evidence(sample, as_of=day, model=model, signals=rows,
                                    recent_days=book.recent_days)
        play = action_list(sample, as_of=day, evidence=evidence).set_index("customer_id")["play"]
        frame = rows[["customer_id", "churned"]].assign(
            play=play.reindex(rows["customer_id"]).fillna("not listed").to_numpy())
        pooled.append(frame[frame["customer_id"].isin(judged)])
    pooled = pd.concat(pooled)
    table = action_backtest(sample, history=history, model=model).set_index("group")
    for name, group in pooled.groupby("play"):
        assert table.loc[name, ["customers", "churned"]].tolist() == [len(group),
                                                                      group["churned"].sum()]
    listed = pooled[pooled["play"] != "not listed"]
    assert table.loc["all listed", "customers"] == len(listed)


def test_a_play_on_the_owner_is_backtested_with_the_owners_built(sample, history, model):
    # The play backtest leaves names and comments out unless a play tests one: a play on the
    # owner must still see every account's owner (customers.csm) on every past day.
    owners = sample.customers.drop_duplicates("customer_id").set_index("customer_id")["csm"]
    someone = owners.dropna().iloc[0]
    book = {"plays": {"theirs": {"priority": 1, "play": "Call", "due_in_days": 1,
                                 "when": {"owner": {"in": [someone]}}}}}
    table = action_backtest(sample, history=history, model=model, playbook=book,
                            customers="all").set_index("group")
    expected = history[history["customer_id"].map(owners).eq(someone).to_numpy()]
    assert table.loc["theirs", ["customers", "churned"]].tolist() == [
        len(expected), int(expected["churned"].sum())]
