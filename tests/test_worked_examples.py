"""The source documents' worked examples, each through the kit's public functions.

Every expected value is the source documents' own number; the arithmetic is in the comment.
"""

from __future__ import annotations

import pandas as pd
import pytest

import csm_kit as ck
from csm_kit.ltv import ltv_from_arpa_and_churn
from csm_kit.targets import target_status


def _day(text):
    return pd.Timestamp(text)


def test_repeat_purchase_10_of_100_customers_is_10_percent():
    # 100 customers order in March; 10 of them order a second time: 10 / 100 = 10%.
    ids = [f"c{i}" for i in range(100)]
    tx = pd.DataFrame({"customer_id": ids + ids[:10],
                       "date": pd.to_datetime(["2024-03-05"] * 100 + ["2024-03-20"] * 10),
                       "amount": 50.0})
    row = ck.repeat_purchase_rate(tx).iloc[0]
    assert (row["customers"], row["repeat_customers"], row["rate"]) == (100, 10, pytest.approx(0.10))


def test_arpa_100_for_a_ten_year_lifespan_is_an_ltv_of_1000():
    # "$100 × 10-year lifespan → $1,000": lifespan = 1 ÷ churn = 1 ÷ 10% a year.
    assert ltv_from_arpa_and_churn(100, 0.10) == pytest.approx(1000.0)


def test_churn_5_of_100_customers_is_5_percent():
    # 100 customers at the end of January; 5 end their subscription in February: 5 / 100.
    subs = pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)],
                         "start_date": pd.to_datetime(["2024-01-01"] * 100),
                         "end_date": pd.to_datetime(["2024-02-10"] * 5 + [None] * 95),
                         "mrr": 10.0})
    feb = ck.logo_churn_rate(subs, as_of="2024-02").set_index("month").loc[_day("2024-02-01")]
    assert (feb["customers_start"], feb["churned"], feb["rate"]) == (100, 5, pytest.approx(0.05))


def test_nps_with_55_promoters_35_passives_10_detractors_is_45():
    # 55% − 10% = 45 points.
    scores = [10] * 55 + [8] * 35 + [3] * 10
    surveys = pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)], "survey": "nps",
                            "score": [float(s) for s in scores],
                            "date": pd.to_datetime(["2024-01-15"] * 99 + ["2024-01-31"])})
    assert ck.nps(surveys)["value"].iloc[0] == pytest.approx(45.0)


def test_net_mrr_churn_100_plus_20_minus_50_over_400_is_17_5_percent():
    # Start of February: A, B, C, D at 100 each (400). In February A churns (100), B contracts
    # by 20, C expands by 50: (100 + 20 − 50) / 400 = 17.5%.
    subs = pd.DataFrame({
        "customer_id": ["A", "B", "B", "C", "C", "D"],
        "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-10", "2024-01-01",
                                      "2024-02-10", "2024-01-01"]),
        "end_date": pd.to_datetime(["2024-02-10", "2024-02-10", None, "2024-02-10", None, None]),
        "mrr": [100.0, 100.0, 80.0, 100.0, 150.0, 100.0]})
    feb = ck.net_mrr_churn(subs, as_of="2024-02").set_index("month").loc[_day("2024-02-01")]
    assert feb["rate"] == pytest.approx(0.175)


def test_renewals_plus_upgrades_340_over_renewal_revenue_400_is_85_percent():
    # Four contracts of 100 due (400); renewed at 120, 100, 120 and 0: 340 / 400 = 85%.
    renewals = pd.DataFrame({"customer_id": list("abcd"), "arr_due": 100.0,
                             "due_date": pd.to_datetime(["2024-03-05", "2024-03-10",
                                                         "2024-03-20", "2024-03-31"]),
                             "arr_renewed": [120.0, 100.0, 120.0, 0.0]})
    row = ck.renewal_rates(renewals).iloc[0]
    assert (row["arr_due"], row["arr_renewed"]) == (400.0, 340.0)
    assert row["net_dollar_renewal"] == pytest.approx(0.85)


def test_csat_of_78_percent_is_near_the_80_percent_target():
    # The default target is CSAT >= 80% with "near" = within 10% of it (72% to 80%): 78% is near.
    kpis = pd.DataFrame({"metric": ["csat"], "period": ["2024-03"], "group": [None],
                         "value": [0.78]})
    assert target_status(kpis).iloc[0]["status"] == "near"
