"""Soft data-quality checks: reported at the top of reports, never blocking, never dropping rows."""

import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.data.quality import data_quality


def customers(*ids):
    return pd.DataFrame({"customer_id": list(ids),
                         "signup_date": pd.to_datetime(["2024-01-01"] * len(ids))})


def subs(rows):
    df = pd.DataFrame(rows, columns=["subscription_id", "customer_id", "start_date", "end_date",
                                     "mrr", "plan"])
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    return df


def found(findings):
    return sorted(findings["check"])


def test_clean_data_has_no_findings():
    ds = Dataset(customers=customers("A"),
                 subscriptions=subs([("S1", "A", "2024-01-01", None, 100.0, "Pro")]))
    assert data_quality(ds, as_of="2024-01-31").empty


def test_overlapping_subscriptions_on_the_same_plan_are_reported_but_add_ons_are_not():
    ds = Dataset(customers=customers("A"), subscriptions=subs([
        ("S1", "A", "2024-01-01", "2024-06-01", 100.0, "Pro"),
        ("S2", "A", "2024-03-01", None, 100.0, "Pro"),       # overlaps S1: reported
        ("S3", "A", "2024-03-01", None, 20.0, "Add-on"),     # another plan: normal
        ("S4", "A", "2024-06-01", None, 100.0, "Team"),
    ]))
    findings = data_quality(ds, as_of="2024-06-30")
    row = findings.set_index("check").loc["overlapping_subscriptions"]
    assert row["rows"] == 1 and row["examples"] == ["S2"] and row["severity"] == "warning"


def test_back_to_back_subscriptions_do_not_overlap():
    # end is exclusive: S1 ends 2024-03-01 and S2 starts that day
    ds = Dataset(customers=customers("A"), subscriptions=subs([
        ("S1", "A", "2024-01-01", "2024-03-01", 100.0, "Pro"),
        ("S2", "A", "2024-03-01", None, 120.0, "Pro"),
    ]))
    assert "overlapping_subscriptions" not in found(data_quality(ds, as_of="2024-03-31"))


def test_customer_ids_missing_from_customers_are_orphans():
    ds = Dataset(customers=customers("A"), subscriptions=subs([
        ("S1", "A", "2024-01-01", None, 100.0, "Pro"),
        ("S2", "Z9", "2024-01-01", None, 100.0, "Pro"),
    ]))
    row = data_quality(ds, as_of="2024-01-31").set_index("check").loc["orphan_customer_ids"]
    assert row["examples"] == ["Z9"] and row["table"] == "subscriptions"


def test_an_mrr_far_above_the_rest_is_an_outlier():
    rows = [(f"S{i}", "A", "2024-01-01", None, 100.0 + i, f"P{i}") for i in range(30)]
    rows.append(("BIG", "A", "2024-01-01", None, 120_000.0, "Annual"))  # annual price not / 12
    ds = Dataset(customers=customers("A"), subscriptions=subs(rows))
    row = data_quality(ds, as_of="2024-01-31").set_index("check").loc["outlier_mrr"]
    assert row["examples"] == ["BIG"] and row["rows"] == 1


def test_mixed_currencies_are_reported():
    df = subs([("S1", "A", "2024-01-01", None, 1.0, "Pro"), ("S2", "A", "2024-01-01", None, 1.0, "X")])
    df["currency"] = ["USD", "EUR"]
    findings = data_quality(Dataset(customers=customers("A"), subscriptions=df), as_of="2024-01-31")
    assert "mixed_currencies" in found(findings)


def test_records_after_the_as_of_month_are_future_dated():
    ds = Dataset(customers=customers("A"), subscriptions=subs([
        ("S1", "A", "2024-01-01", None, 100.0, "Pro"),
        ("S2", "A", "2024-04-15", None, 100.0, "Team"),
    ]))
    row = data_quality(ds, as_of="2024-02-29").set_index("check").loc["future_dated"]
    assert row["examples"] == ["S2"] and row["severity"] == "info"


def test_a_table_whose_latest_record_is_old_is_stale():
    # latest subscription start 2024-01-01; as-of month end 2024-06-30 is 181 days later
    ds = Dataset(customers=customers("A"),
                 subscriptions=subs([("S1", "A", "2024-01-01", None, 100.0, "Pro")]))
    row = data_quality(ds, as_of="2024-06-30").set_index("check").loc["stale_data"]
    assert "181 days" in row["message"]
    assert "stale_data" not in found(data_quality(ds, as_of="2024-06-30", freshness_days=200))


def test_a_partly_covered_last_month_is_labelled():
    ds = Dataset(customers=customers("A"),
                 subscriptions=subs([("S1", "A", "2024-03-10", None, 100.0, "Pro")]))
    row = data_quality(ds).set_index("check").loc["partial_last_month"]
    assert "March 2024 is only partly covered, so figures stop at February 2024" in row["message"]
    assert "in 0 rows" not in row["message"]  # a note about the whole dataset counts no rows


def test_notes_found_while_reading_are_reported_with_the_rest():
    note = {"table": "subscriptions", "column": "end_date", "check": "open_ended_date",
            "severity": "warning", "rows": 2, "examples": ["line 3"], "message": "read as open-ended"}
    ds = Dataset(customers=customers("A"), notes=[note])
    found = data_quality(ds, as_of="2024-01-31")
    assert found.loc[found["check"] == "open_ended_date", "rows"].tolist() == [2]


def test_survey_months_with_few_responses_are_small_samples():
    surveys = pd.DataFrame({"response_id": ["R1", "R2"], "customer_id": ["A", "A"],
                            "date": pd.to_datetime(["2024-01-05", "2024-01-06"]),
                            "survey": ["nps", "nps"], "score": [9.0, 3.0]})
    ds = Dataset(customers=customers("A"), surveys=surveys)
    row = data_quality(ds, as_of="2024-01-31", min_n=30).set_index("check").loc["small_samples"]
    assert row["rows"] == 2 and row["examples"] == ["2024-01"]
