"""The ten-second narrative: what changed since last month, privacy modes respected."""

import pandas as pd
import pytest

from csm_kit.data.loading import Dataset
from csm_kit.report.narrative import narrative, narrative_html

HOSTILE_NAME = "Acme <b>Corp</b>"


@pytest.fixture
def month_of_moves():
    # End of February: A 500, B 100, C 100 -> MRR 700. In March A leaves (churn 500), B goes
    # to 300 (expansion 200), D joins at 50 (new): end of March 300 + 100 + 50 = 450,
    # down 250 = 250 / 700 = 35.7%. Segments: SMB (A, B) 600 -> 300; Enterprise (C, D)
    # 100 -> 150. CSMs: Ana (A) 500 -> 0; Ben (B, C, D) 200 -> 450.
    customers = pd.DataFrame({"customer_id": list("ABCD"),
                              "signup_date": pd.to_datetime(["2024-01-01"] * 3 + ["2024-03-10"]),
                              "name": [HOSTILE_NAME, "Beta LLC", "Gamma", "Delta"],
                              "segment": ["SMB", "SMB", "Enterprise", "Enterprise"],
                              "csm": ["Ana", "Ben", "Ben", "Ben"]})
    subscriptions = pd.DataFrame({
        "subscription_id": ["S1", "S2", "S3", "S4", "S5"], "customer_id": list("ABBCD"),
        "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01", "2024-01-01",
                                      "2024-03-10"]),
        "end_date": pd.to_datetime(["2024-03-01", "2024-03-01", None, None, None]),
        "mrr": [500.0, 100.0, 300.0, 100.0, 50.0]})
    return Dataset(customers=customers, subscriptions=subscriptions)


def test_the_narrative_tells_mrr_the_movers_and_the_accounts(month_of_moves):
    sentences = narrative(month_of_moves, as_of="2024-03-31", currency="USD")
    assert sentences[0] == ("MRR ended March 2024 at $450, down $250 (−35.7%) on February: gains "
                            "were new business $50, expansion $200; losses were churn $500.")
    assert sentences[1].startswith("No other headline figure moved more than its usual")
    assert sentences[2] == ("By segment, SMB moved most: MRR down $300 (−50.0%) to $300; among "
                            "CSM books, Ana's moved most: MRR down $500 (−100.0%) to $0.")
    assert sentences[3] == (f"The largest account lost was {HOSTILE_NAME} ($500 MRR); the "
                            "largest expansion was Beta LLC (+$200 MRR).")
    assert 3 <= len(sentences) <= 5


def test_names_from_the_data_are_escaped_in_html(month_of_moves):
    page = narrative_html(narrative(month_of_moves, as_of="2024-03-31"))
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in page and "<b>" not in page


def test_aggregate_privacy_names_no_customer_and_no_small_group(month_of_moves):
    sentences = narrative(month_of_moves, as_of="2024-03-31", privacy="aggregate", min_group_size=5)
    text = " ".join(sentences)
    assert "Acme" not in text and "Beta" not in text
    assert "1 account(s) churned (500 MRR in total) and 1 expanded (+200)." in text
    assert "Ana" not in text and "SMB" not in text  # every group has fewer than 5 customers


def test_the_largest_moves_are_measured_against_the_metric_s_usual_swing(month_of_moves):
    # CSAT 80, 81, 80, 81, 80 then 60: usual changes +-1 pp (sample std of 0.01, -0.01, 0.01,
    # -0.01 = sqrt(4e-4 / 3) = 0.011547); the drop of 20 pp is 0.20 / 0.011547 = 17.3 swings.
    # NPS moves as much but from 12 answers, below its minimum of 30: not told.
    periods = [f"2023-{m:02d}" for m in range(10, 13)] + [f"2024-{m:02d}" for m in range(1, 4)]
    kpis = pd.concat([
        pd.DataFrame({"metric": "csat", "period": periods, "group": None, "n": 100.0,
                      "value": [0.80, 0.81, 0.80, 0.81, 0.80, 0.60]}),
        pd.DataFrame({"metric": "nps", "period": periods, "group": None, "n": 12.0,
                      "value": [40.0, 41.0, 40.0, 41.0, 40.0, -20.0]}),
    ])
    sentences = narrative(month_of_moves, as_of="2024-03-31", kpis=kpis)
    assert sentences[1] == ("The largest moves against their usual swing: CSAT (share satisfied) fell "
                            "from 80.0% to 60.0% (worse, 17.3× its usual swing).")


def test_names_lose_invisible_characters_and_a_huge_name_is_cut(month_of_moves):
    customers = month_of_moves.customers.assign(
        name=["Acme\u202eCorp" + "x" * 10_000, "Beta\u200bLLC", "Gamma", "Delta"])
    dataset = Dataset(customers=customers, subscriptions=month_of_moves.subscriptions)
    accounts = narrative(dataset, as_of="2024-03-31")[3]
    assert "\u202e" not in accounts and "\u200b" not in accounts
    assert "AcmeCorp" + "x" * 51 + "…" in accounts and "x" * 60 not in accounts
    assert "BetaLLC" in accounts
