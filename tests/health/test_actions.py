"""Next best actions: evidence per account, the playbook's rules, one row per account."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.actions import EVIDENCE, account_evidence, action_list
from csm_kit.health.playbook import Condition, load_playbook

AS_OF = "2024-03-31"


def company(**tables) -> Dataset:
    """a (Ana's), b (no CSM) and c (Ben's), subscribed since 2023 at 100, 200 and 300 a month."""
    ids = ["a", "b", "c"]
    return Dataset(
        customers=pd.DataFrame({"customer_id": ids, "name": ["Acme", "Bolt", "Core"],
                                "csm": ["Ana", None, "Ben"], "segment": "SMB",
                                "signup_date": pd.Timestamp("2023-01-01")}),
        subscriptions=pd.DataFrame({"customer_id": ids, "mrr": [100.0, 200.0, 300.0],
                                    "start_date": pd.Timestamp("2023-01-01")}),
        **tables)


def nps(rows) -> pd.DataFrame:
    customer, date, score, comment = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": customer, "survey": "nps", "date": pd.to_datetime(date),
                         "score": np.array(score, float), "comment": list(comment)})


def test_recent_answers_are_the_lowest_of_the_last_31_days_with_their_comment():
    # the 31 days ending 31 March start on 1 March: a's 2 on 29 February is too old;
    # a answered 8 and 4 in March -> 4 ("Slow"); b answered 6 twice -> the later comment
    ds = company(surveys=nps([("a", "2024-02-29", 2, "Old"), ("a", "2024-03-01", 8, "Fine"),
                              ("a", "2024-03-15", 4, "Slow"), ("b", "2024-03-02", 6, "First"),
                              ("b", "2024-03-30", 6, "Second")]))
    ev = account_evidence(ds, as_of=AS_OF, model=None).set_index("customer_id")
    assert ev.loc["a", "recent_nps"] == 4 and ev.loc["a", "recent_nps_comment"] == "Slow"
    assert ev.loc["b", "recent_nps"] == 6 and ev.loc["b", "recent_nps_comment"] == "Second"
    assert np.isnan(ev.loc["c", "recent_nps"])
    # the latest comment of the last 12 months, any survey
    assert ev.loc["a", "latest_comment"] == "Slow"
    assert ev.loc["a", "latest_comment_date"] == pd.Timestamp("2024-03-15")
    assert ev.loc["b", "owner"] == "(unassigned)" and ev.loc["a", "owner"] == "Ana"
    assert np.isnan(ev.loc["a", "probability"])  # no model: no probability


def test_renewal_arr_is_the_next_contract_not_signed_yet():
    # a: 1,200 due 30 April signed 10 March (done) -> next 1,500 due 30 April 2025;
    # b: 2,400 due 15 May, not signed; c: nothing ahead
    renewals = pd.DataFrame({
        "customer_id": ["a", "a", "b"], "arr_due": [1200.0, 1500.0, 2400.0],
        "due_date": pd.to_datetime(["2024-04-30", "2025-04-30", "2024-05-15"]),
        "renewed_on": pd.to_datetime(["2024-03-10", None, None])})
    ev = account_evidence(company(renewals=renewals), as_of=AS_OF, model=None)
    ev = ev.set_index("customer_id")
    assert ev.loc["a", "renewal_arr"] == 1500 and ev.loc["a", "days_to_renewal"] == 395
    assert ev.loc["b", "renewal_arr"] == 2400 and ev.loc["b", "days_to_renewal"] == 45
    assert np.isnan(ev.loc["c", "renewal_arr"])


BOOK = {"recent_days": 31, "plays": {
    "renewal": {"priority": 2, "play": "Plan the renewal", "due_in_days": 7,
                "when": {"days_to_renewal": {"at_most": 60}, "renewal_arr": {"at_least": 1000}}},
    "detractor": {"priority": 1, "play": "Call the detractor", "due_in_days": 3,
                  "when": {"recent_nps": {"at_most": 6}}},
}}


def test_each_account_gets_its_most_urgent_play_and_the_others_are_listed_beside_it():
    # a: detractor (3) and renewal in 30 days of 1,200 -> detractor, renewal beside it;
    # b: renewal of 500 (below 1,000) -> nothing; c: renewal in 45 days of 3,000 -> renewal
    renewals = pd.DataFrame({"customer_id": ["a", "b", "c"], "arr_due": [1200.0, 500.0, 3000.0],
                             "due_date": pd.to_datetime(["2024-04-30", "2024-04-10",
                                                         "2024-05-15"])})
    ds = company(renewals=renewals, surveys=nps([("a", "2024-03-20", 3, "Too slow")]))
    out = action_list(ds, as_of=AS_OF, playbook=BOOK, model=False)
    assert out["customer_id"].tolist() == ["a", "c"]
    a, c = out.iloc[0], out.iloc[1]
    assert (a["play"], a["action"], a["priority"], a["owner"]) == (
        "detractor", "Call the detractor", 1, "Ana")
    assert a["due_date"] == pd.Timestamp("2024-04-03") and a["comment"] == "Too slow"
    assert a["other_plays"] == "renewal" and a["evidence"] == "recent_nps = 3 (≤ 6)"
    assert c["play"] == "renewal" and c["due_date"] == pd.Timestamp("2024-04-07")
    assert c["evidence"] == "days_to_renewal = 45 (≤ 60); renewal_arr = 3000 (≥ 1000)"
    assert c["mrr"] == 300 and c["other_plays"] == "" and c["name"] == "Core"


def test_a_play_naming_an_unknown_evidence_column_is_refused():
    book = {"plays": {"x": {"priority": 1, "play": "Do it", "due_in_days": 1,
                            "when": {"recnt_nps": {"at_most": 6}}}}}
    with pytest.raises(ConfigError, match="'recnt_nps', which is not an evidence column"):
        action_list(company(), as_of=AS_OF, playbook=book, model=False)


def test_nobody_is_listed_when_no_play_fires():
    out = action_list(company(), as_of=AS_OF, playbook=BOOK, model=False)
    assert out.empty and "evidence" in out.columns


# --------------------------------------------------------------------------- the playbook


def test_conditions_are_inclusive_ranges_or_sets_and_missing_never_meets_them():
    values = pd.Series([1.0, 2.0, 3.0, np.nan])
    assert Condition("x", at_least=2, at_most=3).holds(values).tolist() == [False, True, True, False]
    assert Condition("band", among=("red", "yellow")).holds(
        pd.Series(["red", "green", "yellow", None])).tolist() == [True, False, True, False]
    assert Condition("x", at_least=2, at_most=3).describe() == "≥ 2 and ≤ 3"


def test_the_packaged_playbook_names_only_evidence_columns():
    book = load_playbook(columns=list(EVIDENCE))
    assert [p.priority for p in book.plays] == sorted(p.priority for p in book.plays)
    assert book.plays[0].name == "detractor" and book.recent_days == 31


@pytest.mark.parametrize("play, message", [
    ({"priority": 0, "play": "x", "due_in_days": 1, "when": {"score": {"at_most": 1}}},
     "`priority` must be a whole number >= 1, got 0"),
    ({"priority": 1, "play": "", "due_in_days": 1, "when": {"score": {"at_most": 1}}},
     "`play` must say what to do"),
    ({"priority": 1, "play": "x", "due_in_days": 1, "when": {}}, "`when` must map evidence"),
    ({"priority": 1, "play": "x", "due_in_days": 1, "when": {"score": {"below": 1}}},
     "must use at_least, at_most or in"),
    ({"priority": 1, "play": "x", "due_in_days": 1, "when": {"score": {"at_least": 5,
                                                                       "at_most": 1}}},
     "could never fire"),
    ({"priority": 1, "play": "x", "due_in_days": 1, "when": {"band": {"in": "red"}}},
     "`in` on band must be a list"),
    ({"priority": 1, "play": "x", "due_in_days": -1, "when": {"score": {"at_most": 1}}},
     "`due_in_days` must be a whole number >= 0"),
])
def test_playbook_mistakes_name_the_play_and_key(play, message):
    with pytest.raises(ConfigError, match=message):
        load_playbook({"plays": {"p": play}})


def test_evidence_without_texts_is_the_full_evidence_less_its_names_and_comments():
    # The play backtest builds the evidence without texts unless a play tests one of them.
    from csm_kit.health.actions import _TEXT_COLUMNS

    ds = company(surveys=nps([("a", "2024-03-01", 8, "Fine"), ("a", "2024-03-15", 4, "Slow"),
                              ("b", "2024-03-30", 9, None)]))
    full = account_evidence(ds, as_of=AS_OF, model=None)
    lean = account_evidence(ds, as_of=AS_OF, model=None, texts=False)
    assert set(full.columns) - set(lean.columns) == _TEXT_COLUMNS
    pd.testing.assert_frame_equal(lean, full.drop(columns=sorted(_TEXT_COLUMNS)))
    assert _TEXT_COLUMNS.isdisjoint(EVIDENCE)  # no packaged evidence column is a text one
