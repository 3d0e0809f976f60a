"""The data contract: parsing text into types and checking the rules, with clear messages."""

import pandas as pd
import pytest

from csm_kit.data.contract import TABLES, check_table


def checks(failures):
    return sorted(f["check"] for f in failures)


def subscriptions(**overrides):
    base = {"subscription_id": ["S1", "S2"], "customer_id": ["A", "B"],
            "start_date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "end_date": pd.to_datetime([None, "2024-05-01"]), "mrr": [100.0, 50.0]}
    return pd.DataFrame({**base, **overrides})


def test_valid_subscriptions_pass():
    assert check_table(subscriptions(), TABLES["subscriptions"]) == []


def test_negative_mrr_is_a_hard_error_naming_the_subscription():
    failures = check_table(subscriptions(mrr=[100.0, -5.0]), TABLES["subscriptions"])
    assert checks(failures) == ["not_negative"]
    assert failures[0]["message"].startswith("subscriptions.mrr: negative values in 1 row (e.g. S2)")


def test_an_end_date_before_the_start_is_a_hard_error():
    failures = check_table(subscriptions(end_date=pd.to_datetime([None, "2024-01-15"])),
                           TABLES["subscriptions"])
    assert checks(failures) == ["end_before_start"]
    assert failures[0]["column"] == "end_date" and failures[0]["examples"] == ["S2"]


def test_an_end_date_equal_to_the_start_is_allowed():
    # end is exclusive, so start == end is an empty subscription, odd but not broken
    same = subscriptions(end_date=pd.to_datetime([None, "2024-02-01"]))
    assert check_table(same, TABLES["subscriptions"]) == []


def test_duplicated_ids_are_counted_per_row():
    failures = check_table(subscriptions(subscription_id=["S1", "S1"]), TABLES["subscriptions"])
    assert checks(failures) == ["field_uniqueness"]
    assert failures[0]["rows"] == 2


def test_missing_values_in_required_columns_are_reported():
    failures = check_table(subscriptions(customer_id=["A", None]), TABLES["subscriptions"])
    assert checks(failures) == ["not_nullable"]


def surveys(survey, score):
    return pd.DataFrame({"response_id": [f"R{i}" for i in range(len(score))],
                         "customer_id": ["A"] * len(score),
                         "date": pd.to_datetime(["2024-01-01"] * len(score)),
                         "survey": survey, "score": score})


@pytest.mark.parametrize(("survey", "score", "ok"), [
    ("nps", 0, True), ("nps", 10, True), ("nps", 11, False), ("nps", -1, False),
    ("csat", 5, True), ("csat", 0, False), ("ces", 7, True), ("ces", 8, False),
])
def test_scores_are_checked_against_their_survey_scale(survey, score, ok):
    failures = check_table(surveys([survey], [float(score)]), TABLES["surveys"])
    assert (failures == []) is ok


def test_scales_are_configurable():
    df = surveys(["ces", "csat"], [5.0, 10.0])
    failures = check_table(df, TABLES["surveys"], scales={"ces": (1, 5), "csat": (1, 10)})
    assert failures == []
    failures = check_table(df, TABLES["surveys"], scales={"ces": (1, 4)})
    assert "ces score 5" in failures[0]["message"] and "csat score 10" in failures[0]["message"]


def test_an_unknown_survey_type_is_reported():
    failures = check_table(surveys(["nps", "pulse"], [5.0, 3.0]), TABLES["surveys"])
    assert checks(failures) == ["unknown_survey"]
    assert "'pulse'" in failures[0]["message"]


def test_two_usage_rows_for_the_same_customer_month_are_reported():
    usage = pd.DataFrame({"customer_id": ["A", "A"], "month": pd.to_datetime(["2024-01-01"] * 2),
                          "active_users": pd.array([3, 4], dtype="Int64")})
    assert checks(check_table(usage, TABLES["usage"])) == ["duplicate_rows"]
