"""The CSM scorecard: each book of business worked out by hand."""

import pandas as pd
import pytest

from csm_kit.data.loading import Dataset
from csm_kit.team import csm_scorecard


def dates(*values):
    return pd.to_datetime(list(values))


@pytest.fixture
def books():
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D"],
                              "signup_date": dates(*["2024-01-01"] * 4),
                              "csm": ["Ana", "Ana", "Ben", None]})
    subscriptions = pd.DataFrame({
        "subscription_id": ["S1", "S2", "S3", "S4", "S5"],
        "customer_id": ["A", "B", "C", "C", "D"],
        "start_date": dates("2024-01-01", "2024-01-01", "2024-01-01", "2024-03-01", "2024-01-01"),
        "end_date": dates(None, "2024-03-01", "2024-03-01", None, None),
        "mrr": [100.0, 50.0, 30.0, 60.0, 20.0],
    })
    renewals = pd.DataFrame({
        "contract_id": ["R1", "R2", "R3"], "customer_id": ["A", "B", "A"],
        "due_date": dates("2024-03-15", "2024-02-20", "2023-06-01"),  # R3 is before the window
        "arr_due": [1200.0, 600.0, 999.0], "renewed_on": dates("2024-03-10", None, "2023-06-01"),
        "arr_renewed": [1500.0, 0.0, 999.0],
    })
    surveys = pd.DataFrame({
        "response_id": ["N1", "N2", "N3", "C1", "N0"], "customer_id": ["A", "B", "C", "A", "A"],
        "date": dates("2024-02-10", "2024-03-05", "2024-04-01", "2024-04-02", "2023-01-01"),
        "survey": ["nps", "nps", "nps", "csat", "nps"], "score": [10.0, 3.0, 9.0, 5.0, 0.0],
    })
    return Dataset(customers=customers, subscriptions=subscriptions, renewals=renewals,
                   surveys=surveys)


def test_each_books_accounts_mrr_churn_and_expansion(books):
    # window Feb-Apr 2024. Ana: A (100) and B (50, leaves in March).
    #   customers at start: Feb 2, Mar 2, Apr 1 = 5 customer-months; churned 1 -> 20%.
    # Ben: C expands 30 -> 60 in March: expansion 30; no churn in 3 customer-months.
    # D has no CSM: "(unassigned)", 20 MRR.
    card = csm_scorecard(books, as_of="2024-04-30", window_months=3).set_index("csm")
    assert card.index.tolist() == ["Ana", "Ben", "(unassigned)"]  # by MRR: 100, 60, 20
    assert card.loc["Ana", "accounts"] == 1 and card.loc["Ana", "mrr"] == 100.0
    assert card.loc["Ana", "churn_rate"] == pytest.approx(0.2)
    assert card.loc["Ben", "churn_rate"] == 0.0
    assert card.loc["Ben", "expansion_mrr"] == 30.0
    assert card.loc["(unassigned)", "mrr"] == 20.0


def test_small_books_carry_wide_intervals(books):
    card = csm_scorecard(books, as_of="2024-04-30", window_months=3).set_index("csm")
    # Wilson 95% for 1 of 5: [0.036, 0.624]
    assert card.loc["Ana", "churn_ci_low"] == pytest.approx(0.0362, abs=1e-3)
    assert card.loc["Ana", "churn_ci_high"] == pytest.approx(0.6245, abs=1e-3)


def test_renewals_due_in_the_window_are_pooled(books):
    # Ana: R1 renewed 1200 -> 1500, R2 lost 600; R3 (2023) is outside the window.
    # logo 1 / 2 = 50%; net dollar 1500 / 1800 = 83.3%
    card = csm_scorecard(books, as_of="2024-04-30", window_months=3).set_index("csm")
    assert card.loc["Ana", "renewals_due"] == 2
    assert card.loc["Ana", "logo_renewal_rate"] == pytest.approx(0.5)
    assert card.loc["Ana", "net_dollar_renewal"] == pytest.approx(1500 / 1800)


def test_satisfaction_of_the_book_in_the_window(books):
    # Ana's NPS answers in the window: 10 (promoter), 3 (detractor) -> 50% - 50% = 0, n = 2;
    # the 2023 answer is outside the window. Ben: one 9 -> 100. Ana's CSAT: one 5 -> 100%.
    card = csm_scorecard(books, as_of="2024-04-30", window_months=3).set_index("csm")
    assert card.loc["Ana", "nps"] == 0 and card.loc["Ana", "nps_n"] == 2
    assert card.loc["Ben", "nps"] == 100 and card.loc["Ben", "nps_ci_low"] < 0
    assert card.loc["Ana", "csat"] == 1.0


def test_the_health_mix_is_shares_of_each_book(books):
    health = pd.DataFrame({"customer_id": ["A", "C", "D"], "band": ["red", "green", "yellow"]})
    card = csm_scorecard(books, as_of="2024-04-30", window_months=3, health=health).set_index("csm")
    assert card.loc["Ana", ["red_share", "yellow_share", "green_share"]].tolist() == [1.0, 0.0, 0.0]


def test_at_risk_accounts_lists_the_largest_accounts_of_the_band_first():
    from csm_kit.team import at_risk_accounts

    # MRR at the end of March 2024: r1 50, r2 300, r3 120 (120 + a 0-MRR line), r4 left in
    # February (0), g1 900 but green. Red, largest first: r2 300, r3 120, r1 50, r4 0; top=3
    # keeps the first three. Names, segment and CSM come from customers; score, change and
    # weakest component from the scores as given.
    ids = ["r1", "r2", "r3", "r4", "g1"]
    ds = Dataset(
        customers=pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2024-01-01"),
                                "name": ["One", "Two", "Three", "Four", "Green"],
                                "segment": ["SMB", "Ent", "SMB", "SMB", "Ent"],
                                "csm": ["Ann", "Bob", "Ann", "Bob", "Ann"]}),
        subscriptions=pd.DataFrame({
            "customer_id": ["r1", "r2", "r3", "r3", "r4", "g1"],
            "start_date": pd.Timestamp("2024-01-01"),
            "end_date": dates(None, None, None, None, "2024-02-15", None),
            "mrr": [50.0, 300.0, 120.0, 0.0, 700.0, 900.0]}))
    scores = pd.DataFrame({"customer_id": ids, "score": [30.0, 10.0, 20.0, 5.0, 90.0],
                           "band": ["red", "red", "red", "red", "green"],
                           "change": [-5.0, -20.0, 0.0, -1.0, 2.0],
                           "weakest_component": ["nps", "adoption", "csat", "nps", None]})
    listed = at_risk_accounts(scores, ds, as_of="2024-03", top=3)
    assert list(listed.columns) == ["customer_id", "name", "segment", "csm", "mrr", "score",
                                    "change", "weakest_component"]
    assert listed[["customer_id", "mrr", "score", "change"]].values.tolist() == [
        ["r2", 300.0, 10.0, -20.0], ["r3", 120.0, 20.0, 0.0], ["r1", 50.0, 30.0, -5.0]]
    assert listed["name"].tolist() == ["Two", "Three", "One"]
    everyone = at_risk_accounts(scores, ds, as_of="2024-03", top=10)
    assert everyone["customer_id"].tolist() == ["r2", "r3", "r1", "r4"]  # r4: no MRR -> 0
    assert everyone["mrr"].tolist() == [300.0, 120.0, 50.0, 0.0]
    green = at_risk_accounts(scores, ds, as_of="2024-03", band="green")
    assert green[["customer_id", "mrr"]].values.tolist() == [["g1", 900.0]]


def test_arr_by_band_sums_twelve_times_month_end_mrr_per_band_and_its_red_row_is_the_kpi():
    # March 2024 month-end MRR: a 1,000 (red), b 250 (red), c 2,000 (yellow), d ended in
    # February (red, no MRR: counts with 0), e unscored (band NaN: left out).
    # red: 12 × (1,000 + 250 + 0) = 15,000 from 3 customers; yellow 24,000; green none.
    # ARR shares of 39,000: 15/39 and 24/39.
    from csm_kit.kpis import kpi_table
    from csm_kit.team import arr_by_band

    subs = pd.DataFrame({"subscription_id": ["s1", "s2", "s3", "s4", "s5"],
                         "customer_id": ["a", "b", "c", "d", "e"],
                         "start_date": pd.to_datetime(["2024-01-01"] * 5),
                         "end_date": pd.to_datetime([None, None, None, "2024-02-10", None]),
                         "mrr": [1000.0, 250.0, 2000.0, 500.0, 100.0]})
    customers = pd.DataFrame({"customer_id": list("abcde"),
                              "signup_date": pd.to_datetime(["2024-01-01"] * 5)})
    ds = Dataset(customers=customers, subscriptions=subs)
    scores = pd.DataFrame({"customer_id": list("abcde"),
                           "band": ["red", "red", "yellow", "red", None]})
    bands = arr_by_band(scores, ds, as_of="2024-03-31")
    assert bands["band"].tolist() == ["red", "yellow", "green"]
    assert bands["customers"].tolist() == [3, 1, 0]
    assert bands["arr"].tolist() == [15_000.0, 24_000.0, 0.0]
    assert bands["arr_share"].tolist() == pytest.approx([15 / 39, 24 / 39, 0.0])
    kpi = kpi_table(ds, as_of="2024-03-31", metrics=["arr_at_risk"], health=scores)
    assert kpi["value"].iloc[-1] == bands.loc[0, "arr"]


# --------------------------------------------------------------------------- mutation survivors


def _one_subscription_each(mrr, start="2024-01-01", end=None):
    """A dataset whose customers c0, c1, … each have one subscription with the given MRR."""
    ids = [f"c{i}" for i in range(len(mrr))]
    starts = [start] * len(mrr) if isinstance(start, str) else start
    return Dataset(
        customers=pd.DataFrame({"customer_id": ids, "signup_date": dates(*starts)}),
        subscriptions=pd.DataFrame({"subscription_id": [f"s{i}" for i in range(len(mrr))],
                                    "customer_id": ids, "start_date": dates(*starts),
                                    "end_date": dates(*[end] * len(mrr)), "mrr": mrr}))


def test_arr_by_band_without_as_of_uses_the_last_complete_month_of_the_data():
    from csm_kit.team import arr_by_band

    # c0 (red, 100/month) since January; c1 (red, 50/month) starts 15 April, the latest date in
    # the data -> as-of month March. At the end of March only c0 pays: red ARR 12 × 100 = 1,200
    # from 2 scored customers (c1 counts with 0). April would have given 1,800.
    ds = _one_subscription_each([100.0, 50.0], start=["2024-01-01", "2024-04-15"])
    scores = pd.DataFrame({"customer_id": ["c0", "c1"], "band": ["red", "red"]})
    bands = arr_by_band(scores, ds)
    assert bands["customers"].tolist() == [2, 0, 0]
    assert bands["arr"].tolist() == [1_200.0, 0.0, 0.0]


def test_arr_by_band_counts_a_scored_customer_whose_other_score_columns_are_empty():
    from csm_kit.team import arr_by_band

    # c1 was scored for the first time this month: band green, no change yet (NaN) and no
    # weakest component. It is scored, so it counts: green 1 customer, 12 × 40 = 480.
    ds = _one_subscription_each([100.0, 40.0])
    scores = pd.DataFrame({"customer_id": ["c0", "c1"], "score": [20.0, 80.0],
                           "band": ["red", "green"], "change": [-3.0, None],
                           "weakest_component": ["nps", None]})
    bands = arr_by_band(scores, ds, as_of="2024-03")
    assert bands["customers"].tolist() == [1, 0, 1]
    assert bands["arr"].tolist() == [1_200.0, 0.0, 480.0]


def test_arr_by_band_returns_band_whole_customer_counts_arr_and_share_only():
    from csm_kit.team import arr_by_band

    ds = _one_subscription_each([100.0])
    bands = arr_by_band(pd.DataFrame({"customer_id": ["c0"], "band": ["yellow"]}), ds,
                        as_of="2024-03")
    assert list(bands.columns) == ["band", "customers", "arr", "arr_share"]
    assert pd.api.types.is_integer_dtype(bands["customers"])
    assert pd.api.types.is_float_dtype(bands["arr"])


def test_arr_shares_are_given_even_when_the_scored_arr_is_under_one_currency_unit():
    from csm_kit.team import arr_by_band

    # One red customer at 0.05 a month: ARR 0.60 in total, all of it red -> shares 1, 0, 0.
    ds = _one_subscription_each([0.05])
    bands = arr_by_band(pd.DataFrame({"customer_id": ["c0"], "band": ["red"]}), ds,
                        as_of="2024-03")
    assert bands["arr"].tolist() == pytest.approx([0.6, 0.0, 0.0])
    assert bands["arr_share"].tolist() == [1.0, 0.0, 0.0]


def test_arr_shares_are_missing_when_no_scored_customer_pays():
    from csm_kit.team import arr_by_band

    # The only scored customer left in February: no ARR anywhere, so no share can be given.
    ds = _one_subscription_each([100.0], end="2024-02-10")
    bands = arr_by_band(pd.DataFrame({"customer_id": ["c0"], "band": ["red"]}), ds,
                        as_of="2024-03")
    assert bands["arr"].tolist() == [0.0, 0.0, 0.0]
    assert bands["arr_share"].isna().all()
