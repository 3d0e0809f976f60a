"""The KPI export: one long table of every headline metric the data supports."""

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csm_kit.errors import ConfigError
from csm_kit.kpis import (
    AREAS,
    DIRECTIONS,
    KPI_COLUMNS,
    KPIS,
    Kpi,
    history_start,
    kpi_directions,
    kpi_table,
    within_history,
)


def rows(table, metric, group=None):
    picked = table[table["metric"] == metric]
    picked = picked[picked["group"].isna()] if group is None else picked[picked["group"] == group]
    return picked.set_index("period")


def test_the_table_is_long_with_the_agreed_columns(small):
    table = kpi_table(small, as_of="2024-03-31")
    assert list(table.columns) == KPI_COLUMNS


def test_subscription_metrics_match_the_hand_worked_months(small):
    table = kpi_table(small, as_of="2024-03-31")
    assert rows(table, "mrr")["value"].to_dict() == {"2024-01": 300.0, "2024-02": 300.0, "2024-03": 200.0}
    assert rows(table, "arr").loc["2024-03", "value"] == 2400.0
    assert rows(table, "active_customers").loc["2024-03", "value"] == 2
    assert rows(table, "arpa").loc["2024-03", "value"] == 100.0
    churn = rows(table, "logo_churn_rate").loc["2024-03"]
    assert churn["value"] == pytest.approx(1 / 3) and churn["n"] == 3  # 1 of 3 left in March
    assert 0 < churn["ci_low"] < 1 / 3 < churn["ci_high"] < 1


def test_metrics_whose_table_is_absent_are_left_out(small):
    metrics = set(kpi_table(small, as_of="2024-03-31")["metric"])
    assert "nps" not in metrics and "repeat_purchase_rate" not in metrics
    assert {"mrr", "logo_churn_rate", "quick_ratio"} <= metrics


def test_by_segment_adds_group_rows_next_to_the_company_rows(small):
    table = kpi_table(small, as_of="2024-03-31", by="segment")
    assert rows(table, "mrr", "SMB").loc["2024-03", "value"] == 100.0  # only A left in SMB
    assert rows(table, "mrr", "Enterprise").loc["2024-03", "value"] == 100.0
    assert rows(table, "mrr").loc["2024-03", "value"] == 200.0


@pytest.mark.parametrize(("by", "message"), [("colour", "must be one of"), ("csm", "has no 'csm' column")])
def test_an_unusable_by_says_why(small, by, message):
    with pytest.raises(ConfigError, match=message):
        kpi_table(small, by=by)


def test_unknown_metric_names_are_rejected(small):
    with pytest.raises(ConfigError, match="metrics must be among"):
        kpi_table(small, metrics=["churn"])


def test_the_readme_lists_every_metric_name():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    listed = set(re.findall(r"`([a-z0-9_]+)`", readme.split("## Metric names", 1)[1].split("\n## ", 1)[0]))
    assert {k.metric for k in KPIS} <= listed


def test_red_health_share_is_the_red_band_count_over_scored_customers():
    from csm_kit.health.scores import health_scores

    sample = __import__("csm_kit").load_sample()
    table = kpi_table(sample, metrics=["red_health_share"], by="segment")
    scores = health_scores(sample, as_of="2026-10-31").dropna(subset=["band"])
    company = rows(table, "red_health_share").loc["2026-10"]
    assert company["n"] == len(scores)
    assert company["value"] == pytest.approx((scores["band"] == "red").mean())
    smb = scores.merge(sample.customers[["customer_id", "segment"]], on="customer_id",
                       suffixes=("_scored", ""))
    smb = smb[smb["segment"] == "SMB"]
    assert rows(table, "red_health_share", "SMB").loc["2026-10", "n"] == len(smb)


def test_health_scores_passed_in_are_used_instead_of_computed_again(small):
    # Four scored customers, one red, one not scored (band NaN): red share 1 / 4 = 25%, n = 4.
    # Computed here, the three small-fixture customers would give n = 3 instead.
    given = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"],
                          "band": ["red", "green", "yellow", "green", np.nan]})
    table = kpi_table(small, as_of="2024-03-31", metrics=["red_health_share"], health=given)
    row = rows(table, "red_health_share").loc["2024-03"]
    assert (row["value"], row["n"]) == (0.25, 4)


def test_logo_retention_kpis_are_one_minus_churn_monthly_and_point_to_point_over_windows(small):
    table = kpi_table(small, as_of="2024-03-31")
    # March: 3 customers at the end of February, B gone at the end of March: 2 / 3.
    assert rows(table, "logo_retention_rate").loc["2024-03", "value"] == pytest.approx(2 / 3)
    assert rows(table, "logo_retention_rate").loc["2024-03", "n"] == 3
    # A 3-month window ending in March starts at the end of December, before any customer:
    # the first 3-month figure would be April's, after as_of, so there is none yet.
    assert rows(table, "logo_retention_rate_3m").empty


def test_survey_kpis_read_the_datasets_survey_settings(small):
    from csm_kit.data.survey_settings import survey_settings

    # March NPS: 10, 10, 3 -> (2 − 1)/3 = 33.3; February: 10, 3 -> 0 -> change +33.3.
    # CSAT on 1–10: 9 and 7 -> top two boxes (9–10) 1 of 2.
    surveys = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(7)], "customer_id": list("ABCABAC"),
        "date": pd.to_datetime(["2024-03-05", "2024-03-06", "2024-03-31", "2024-02-05",
                                "2024-02-06", "2024-03-10", "2024-03-11"]),
        "survey": ["nps"] * 5 + ["csat"] * 2, "score": [10, 10, 3, 10, 3, 9, 7.0]})
    ds = replace(small, surveys=surveys, survey_settings=survey_settings(scales="csat=1-10"))
    table = kpi_table(ds, as_of="2024-03-31")
    assert rows(table, "nps_change").loc["2024-03", "value"] == pytest.approx(100 / 3)
    assert rows(table, "csat").loc["2024-03", "value"] == 0.5
    assert rows(table, "ces_low_effort_share").empty  # no CES answers: no row, not a zero


def test_average_customer_value_kpi_is_revenue_over_buying_customers(small):
    transactions = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["A", "A", "C"],
                                 "date": pd.to_datetime(["2024-03-01", "2024-03-15", "2024-03-20"]),
                                 "amount": [100.0, 50.0, 30.0]})
    table = kpi_table(replace(small, transactions=transactions), as_of="2024-03-31")
    # (100 + 50 + 30) / 2 buying customers = 90.
    assert rows(table, "average_customer_value").loc["2024-03", ["value", "n"]].tolist() == [90.0, 2]


def test_every_kpi_in_the_registry_declares_its_direction_and_area():
    for kpi in KPIS:
        assert kpi.direction in DIRECTIONS, kpi.metric
        assert kpi.area in AREAS, kpi.metric


def test_a_kpi_that_forgets_its_direction_cannot_be_made():
    with pytest.raises(TypeError, match="direction"):
        Kpi("new_metric", "New", "share", ("subscriptions",), lambda ds, **_: None, "rate",
            area="retention")
    with pytest.raises(ConfigError, match="`direction` must be one of"):
        Kpi("new_metric", "New", "share", ("subscriptions",), lambda ds, **_: None, "rate",
            direction="up", area="retention")


def test_ces_is_lower_is_better_unless_the_scale_runs_the_other_way():
    assert kpi_directions()["ces"] == "lower_is_better"
    assert kpi_directions(ces_low_effort_is="high")["ces"] == "higher_is_better"


def test_months_before_the_first_subscription_end_are_left_out(small):
    # B's end_date 2024-03-01 is the first end: January and February rows of subscription
    # metrics go; the churn of January (0 by construction) is not exported.
    assert history_start(small) == pd.Timestamp("2024-03-01")
    trimmed = within_history(kpi_table(small, as_of="2024-03-31"), small)
    assert set(trimmed["period"]) == {"2024-03"}


def test_arr_at_risk_is_twelve_times_the_mrr_of_red_customers(small):
    # A is red with 100 MRR at the end of March: ARR at risk 12 x 100 = 1,200 from 1 customer.
    given = pd.DataFrame({"customer_id": ["A", "B", "C"], "band": ["red", "green", "yellow"]})
    table = kpi_table(small, as_of="2024-03-31", metrics=["arr_at_risk"], health=given)
    row = rows(table, "arr_at_risk").loc["2024-03"]
    assert (row["value"], row["n"]) == (1200.0, 1)


# Two customers who both start in March 2024; the latest date is 5 March, so March is not
# complete and the default as-of month is February, before anyone started.
MARCH_ONLY = pd.DataFrame({"subscription_id": ["S1", "S2"], "customer_id": ["A", "B"],
                           "start_date": pd.to_datetime(["2024-03-02", "2024-03-05"]),
                           "end_date": pd.to_datetime([None, None]), "mrr": [100.0, 50.0]})


def test_kpi_table_on_one_incomplete_month_warns_naming_the_month_and_the_as_of_to_pass():
    from csm_kit.data.loading import Dataset

    ds = Dataset(customers=pd.DataFrame({"customer_id": ["A", "B"]}), subscriptions=MARCH_ONLY)
    with pytest.warns(UserWarning, match=r"in March 2024.*latest date 2024-03-05.*February "
                                         r"2024.*as_of=\"2024-03\""):
        assert kpi_table(ds, metrics=["mrr", "active_customers"]).empty
    # as the warning says: March as it stands has MRR 150 (100 + 50) from 2 customers
    table = kpi_table(ds, as_of="2024-03", metrics=["mrr", "active_customers"]).set_index("metric")
    assert table.loc["mrr", "value"] == 150.0 and table.loc["active_customers", "value"] == 2


def test_a_revenue_metric_on_one_incomplete_month_warns_instead_of_returning_nothing_silently():
    from csm_kit.revenue import mrr_summary

    with pytest.warns(UserWarning, match=r"every subscription start_date is in March 2024"):
        assert mrr_summary(MARCH_ONLY).empty
    assert mrr_summary(MARCH_ONLY, as_of="2024-03")["mrr"].tolist() == [150.0]
