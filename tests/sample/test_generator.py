"""The sample-data generator: the data contract, internal consistency and the story."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.sample.generator import TABLES, generate_sample, write_sample

SMALL = dict(customers=200, months=12, seed=11)

#: Every column of DESIGN.md section 3 and the loader's type for it.
COLUMNS = {
    "customers": {"customer_id": "str", "signup_date": "date", "name": "str", "segment": "str",
                  "plan": "str", "region": "str", "csm": "str", "industry": "str"},
    "subscriptions": {"subscription_id": "str", "customer_id": "str", "start_date": "date",
                      "end_date": "date", "mrr": "float", "plan": "str",
                      "billing_interval_months": "int", "currency": "str"},
    "transactions": {"transaction_id": "str", "customer_id": "str", "date": "date",
                     "amount": "float", "currency": "str"},
    "surveys": {"response_id": "str", "customer_id": "str", "date": "date", "survey": "str",
                "score": "float", "comment": "str", "respondent": "str", "csm": "str",
                "agent": "str"},
    "tickets": {"ticket_id": "str", "customer_id": "str", "opened_at": "date",
                "closed_at": "date", "contacts": "int", "first_contact_resolved": "boolean",
                "channel": "str", "agent": "str", "priority": "str"},
    "usage": {"customer_id": "str", "month": "date", "active_users": "int",
              "licensed_seats": "int", "key_feature_users": "int"},
    "renewals": {"contract_id": "str", "customer_id": "str", "due_date": "date",
                 "arr_due": "float", "renewed_on": "date", "arr_renewed": "float"},
    "trials": {"trial_id": "str", "started_at": "date", "customer_id": "str",
               "converted_at": "date"},
    "referrals": {"referral_id": "str", "referrer_customer_id": "str", "date": "date",
                  "referred_customer_id": "str"},
    "events": {"date": "date", "label": "str", "segment": "str"},
    "activities": {"date": "date", "customer_id": "str", "csm": "str", "type": "str"},
}
DTYPES = {"str": "str", "date": "datetime64[ns]", "float": "float64", "int": "int64",
          "boolean": "boolean"}
ID_COLUMNS = {"customers": "customer_id", "subscriptions": "subscription_id",
              "transactions": "transaction_id", "surveys": "response_id",
              "tickets": "ticket_id", "renewals": "contract_id", "trials": "trial_id",
              "referrals": "referral_id"}


@pytest.fixture(scope="module")
def small():
    return generate_sample(**SMALL)


@pytest.fixture(scope="module")
def story():
    """The default sample (2,000 customers, 36 months): enough customers to see the story."""
    return generate_sample()


def month_end_mrr(subs: pd.DataFrame, month_ends: pd.DatetimeIndex) -> pd.DataFrame:
    """customer x month-end MRR, straight from the definition start <= d < end."""
    cols = {}
    for day in month_ends:
        active = (subs["start_date"] <= day) & (subs["end_date"].isna() | (subs["end_date"] > day))
        cols[day] = subs[active].groupby("customer_id")["mrr"].sum()
    return pd.DataFrame(cols).fillna(0.0)


def churn_months(subs: pd.DataFrame, months: int = 36) -> pd.DataFrame:
    """customer_id, churn_month_end: every month end where MRR went from > 0 to 0."""
    ends = pd.date_range(end="2026-10-31", periods=months + 1, freq="ME")
    wide = month_end_mrr(subs, ends)
    churned = (wide.iloc[:, :-1].to_numpy() > 0) & (wide.iloc[:, 1:].to_numpy() == 0)
    who, when = np.nonzero(churned)
    return pd.DataFrame({"customer_id": wide.index[who], "churn_month_end": ends[1:][when]})


# --- determinism and options ------------------------------------------------------------

def test_the_same_seed_gives_identical_frames(small):
    again = generate_sample(**SMALL)
    for name in TABLES:
        pd.testing.assert_frame_equal(small[name], again[name])


def test_another_seed_gives_other_data(small):
    other = generate_sample(**{**SMALL, "seed": 12})
    assert not small["customers"]["signup_date"].equals(other["customers"]["signup_date"])


def test_asking_for_fewer_tables_gives_the_same_tables(small):
    part = generate_sample(**SMALL, tables=["subscriptions", "surveys"])
    assert list(part) == ["subscriptions", "surveys"]
    pd.testing.assert_frame_equal(part["surveys"], small["surveys"])
    pd.testing.assert_frame_equal(part["subscriptions"], small["subscriptions"])


@pytest.mark.parametrize("options, message", [
    (dict(tables=["customers", "orders"]), "`tables` must be among .* got 'orders'"),
    (dict(end="2026-10-15"), "`end` must be the last day of a month"),
    (dict(end="not a date"), "`end` must be a date"),
    (dict(customers=0), "`customers` must be a whole number >= 1"),
    (dict(months=0), "`months` must be a whole number >= 1"),
])
def test_bad_options_are_refused_with_a_clear_message(options, message):
    with pytest.raises(ConfigError, match=message):
        generate_sample(**{**SMALL, **options})


def test_an_unknown_file_format_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="`file_format` must be one of"):
        write_sample(tmp_path, customers=5, months=2, file_format="xlsx")


# --- the data contract ------------------------------------------------------------------

def test_every_table_has_every_contract_column_with_the_loaders_type(small):
    assert list(small) == list(TABLES)
    for name, columns in COLUMNS.items():
        frame = small[name]
        assert list(frame.columns) == list(columns), name
        for column, kind in columns.items():
            assert str(frame[column].dtype) == DTYPES[kind], (name, column)


def test_ids_are_unique_regular_strings(small):
    for name, column in ID_COLUMNS.items():
        ids = small[name][column]
        assert ids.is_unique and ids.notna().all(), name
    assert small["customers"]["customer_id"].iloc[[0, -1]].tolist() == ["C000001", "C000200"]
    assert small["usage"][["customer_id", "month"]].duplicated().sum() == 0


def test_every_customer_id_elsewhere_exists_in_customers(small):
    known = set(small["customers"]["customer_id"])
    for name, frame in small.items():
        for column in [c for c in frame.columns if c.endswith("customer_id")]:
            assert set(frame[column].dropna()) <= known, (name, column)


def test_subscriptions_have_positive_mrr_and_never_end_before_they_start(small):
    subs = small["subscriptions"]
    assert (subs["mrr"] > 0).all()
    assert (subs["end_date"].isna() | (subs["end_date"] > subs["start_date"])).all()
    assert set(subs["billing_interval_months"]) == {1, 12}
    assert set(subs["currency"]) == {"USD"}


def test_one_subscription_line_never_overlaps_itself(story):
    # the add-on runs beside the base plan; two rows of the same plan never overlap
    subs = story["subscriptions"].sort_values(["customer_id", "plan", "start_date"])
    same_line = subs["customer_id"].eq(subs["customer_id"].shift()) & subs["plan"].eq(
        subs["plan"].shift())
    previous_end = subs["end_date"].shift().fillna(pd.Timestamp.max)
    assert not (same_line & (subs["start_date"] < previous_end)).any()


def test_some_customers_hold_two_subscriptions_at_once(story):
    subs = story["subscriptions"]
    addons = subs[subs["plan"] == "Analytics add-on"]
    assert 0.03 < addons["customer_id"].nunique() / len(story["customers"]) < 0.3


def test_data_runs_the_requested_months_and_stops_at_end(small):
    usage_months = small["usage"]["month"]
    assert usage_months.min() == pd.Timestamp("2025-11-01")
    assert usage_months.max() == pd.Timestamp("2026-10-01")
    last = pd.Timestamp("2026-11-01")
    for name, column in [("transactions", "date"), ("surveys", "date"), ("tickets", "opened_at"),
                         ("tickets", "closed_at"), ("trials", "started_at"),
                         ("referrals", "date"), ("activities", "date")]:
        assert small[name][column].max() < last, (name, column)
        assert small[name][column].min() >= pd.Timestamp("2025-11-01"), (name, column)
    # renewals decided inside the window; the next terms fall due in the year after it
    renewals = small["renewals"]
    decided = renewals["arr_renewed"].notna()
    assert renewals.loc[decided, "due_date"].max() < last
    assert renewals.loc[decided, "due_date"].min() >= pd.Timestamp("2025-11-01")
    assert renewals.loc[~decided, "due_date"].between(last, pd.Timestamp("2027-10-31")).all()
    assert renewals.loc[~decided, "renewed_on"].isna().all() and (~decided).any()


def test_survey_scores_lie_on_their_scales(small):
    scales = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    surveys = small["surveys"]
    assert set(surveys["survey"]) == set(scales)
    for survey, (low, high) in scales.items():
        scores = surveys.loc[surveys["survey"] == survey, "score"]
        assert scores.between(low, high).all() and (scores == scores.round()).all()
    assert surveys["agent"].isna().eq(surveys["survey"] == "nps").all()


def test_tickets_close_after_opening_and_first_contact_resolution_follows_contacts(story):
    tickets = story["tickets"]
    closed = tickets["closed_at"].notna()
    assert (tickets.loc[closed, "closed_at"] > tickets.loc[closed, "opened_at"]).all()
    assert (tickets["contacts"] >= 1).all()
    fcr = tickets.loc[closed, "first_contact_resolved"].astype(bool)
    assert fcr.equals(tickets.loc[closed, "contacts"] == 1)
    assert tickets.loc[~closed, "first_contact_resolved"].isna().all()
    assert 0 < (~closed).sum() < 0.05 * len(tickets)  # a few still open at the end


def test_usage_never_exceeds_licensed_seats(small):
    usage = small["usage"]
    assert (usage["active_users"] <= usage["licensed_seats"]).all()
    assert (usage["key_feature_users"] <= usage["active_users"]).all()
    assert (usage["licensed_seats"] >= 1).all()


def test_usage_has_one_row_per_customer_active_at_month_end(small):
    # the same customer-months as MRR > 0 on the month's last day
    ends = pd.date_range(end="2026-10-31", periods=12, freq="ME")
    wide = month_end_mrr(small["subscriptions"], ends)
    cells = wide.stack()
    active = {(c, m - pd.offsets.MonthBegin(1)) for (c, m) in cells[cells > 0].index}
    usage = set(zip(small["usage"]["customer_id"], small["usage"]["month"], strict=True))
    assert usage == active


def test_renewals_agree_with_subscriptions(story):
    subs = story["subscriptions"]
    base = subs[subs["plan"] != "Analytics add-on"]
    renewals = story["renewals"].merge(base, on="customer_id")
    upcoming = renewals[renewals["arr_renewed"].isna()]
    # an undecided next term belongs to a contract still running at the end of the data
    assert upcoming["end_date"].isna().any() and (upcoming["due_date"] > "2026-10-31").all()
    running = upcoming[upcoming["start_date"] < upcoming["due_date"]]
    assert running.groupby("contract_id")["end_date"].apply(lambda e: e.isna().any()).all()
    renewals = renewals[renewals["arr_renewed"].notna()]
    before = renewals[(renewals["start_date"] < renewals["due_date"])
                      & (renewals["end_date"].isna() | (renewals["end_date"] >= renewals["due_date"]))]
    # the annual contract running up to the due date carries the ARR due
    assert (12 * before["mrr"] == before["arr_due"]).all()
    assert len(before) == story["renewals"]["arr_renewed"].notna().sum()
    lost = before[before["renewed_on"].isna()]
    assert (lost["end_date"] == lost["due_date"]).all() and (lost["arr_renewed"] == 0).all()
    after = renewals[(renewals["start_date"] <= renewals["due_date"])
                     & (renewals["end_date"].isna() | (renewals["end_date"] > renewals["due_date"]))]
    assert (12 * after["mrr"] == after["arr_renewed"]).all()
    assert (after["renewed_on"] <= after["due_date"]).all()


def test_every_invoice_bills_a_subscription_running_that_day(small):
    # an invoice is MRR x billing interval of a subscription active that day, or the prorated
    # difference on the day an annual contract expands
    subs, tx = small["subscriptions"], small["transactions"]
    pairs = tx.merge(subs, on="customer_id")
    running = (pairs["start_date"] <= pairs["date"]) & (
        pairs["end_date"].isna() | (pairs["end_date"] > pairs["date"]))
    full = pairs["amount"] == pairs["mrr"] * pairs["billing_interval_months"]
    prorated = (pairs["date"] == pairs["start_date"]) & (pairs["billing_interval_months"] == 12)
    explained = pairs[running & (full | prorated)]["transaction_id"]
    assert set(explained) == set(tx["transaction_id"])
    assert (tx["amount"] > 0).all()


def test_trials_that_converted_became_customers_that_day(small):
    trials = small["trials"].merge(small["customers"], on="customer_id")
    assert (trials["converted_at"].dt.normalize() == trials["signup_date"]).all()
    assert (trials["converted_at"] >= trials["started_at"]).all()
    rate = small["trials"]["converted_at"].notna().mean()
    assert 0.1 < rate < 0.3


def test_referred_customers_sign_up_after_being_referred(story):
    refs = story["referrals"].merge(story["customers"], left_on="referred_customer_id",
                                    right_on="customer_id")
    assert len(refs) > 0 and (refs["signup_date"] > refs["date"]).all()
    assert story["referrals"]["referred_customer_id"].isna().any()


def test_events_include_the_price_increase_on_new_year_2025(story):
    events = story["events"]
    assert events.loc[events["label"] == "Price increase", "date"].tolist() == [
        pd.Timestamp("2025-01-01")]
    assert events.loc[events["label"] == "Competitor launch", "segment"].tolist() == ["SMB"]


# --- the story --------------------------------------------------------------------------

def test_churn_is_highest_in_smb_and_lowest_in_enterprise(story):
    ends = pd.date_range(end="2026-10-31", periods=37, freq="ME")
    wide = month_end_mrr(story["subscriptions"], ends)
    segment = story["customers"].set_index("customer_id")["segment"].reindex(wide.index)
    rates = {}
    for name in ("SMB", "Mid-Market", "Enterprise"):
        active = wide[segment == name].to_numpy() > 0
        churned = active[:, :-1] & ~active[:, 1:]
        rates[name] = churned.sum() / active[:, :-1].sum()
    # roughly 3.5% / 2% / 1% a month
    assert 0.025 < rates["SMB"] < 0.045
    assert 0.013 < rates["Mid-Market"] < 0.028
    assert 0.004 < rates["Enterprise"] < 0.016
    assert rates["SMB"] > rates["Mid-Market"] > rates["Enterprise"]


def test_nps_is_lower_in_the_90_days_before_churn(story):
    nps = story["surveys"].query("survey == 'nps'")
    churn = churn_months(story["subscriptions"])
    pairs = nps.merge(churn, on="customer_id")
    before = pairs[(pairs["date"] <= pairs["churn_month_end"])
                   & (pairs["date"] > pairs["churn_month_end"] - pd.Timedelta(days=90))]
    retained = nps[~nps["customer_id"].isin(churn["customer_id"])]
    assert len(before) > 30
    assert before["score"].mean() < retained["score"].mean() - 1.5


def test_adoption_falls_below_40_percent_before_churn(story):
    usage = story["usage"].assign(
        adoption=lambda u: u["active_users"] / u["licensed_seats"])
    churn = churn_months(story["subscriptions"])
    last = usage.merge(churn, on="customer_id")
    last = last[last["month"] == last["churn_month_end"] - pd.offsets.MonthBegin(2)]
    retained = usage[~usage["customer_id"].isin(churn["customer_id"])]
    assert (last["adoption"] < 0.4).mean() > 0.35  # the month before churn
    assert (retained["adoption"] < 0.4).mean() < 0.1


def test_long_open_tickets_are_more_common_before_churn(story):
    tickets = story["tickets"]
    days_open = (tickets["closed_at"].fillna(pd.Timestamp("2026-10-31")) - tickets["opened_at"])
    tickets = tickets.assign(long=days_open > pd.Timedelta(days=7))
    churn = churn_months(story["subscriptions"])
    pairs = tickets.merge(churn, on="customer_id")
    before = pairs[(pairs["opened_at"] <= pairs["churn_month_end"])
                   & (pairs["opened_at"] > pairs["churn_month_end"] - pd.Timedelta(days=120))]
    retained = tickets[~tickets["customer_id"].isin(churn["customer_id"])]
    assert before["long"].mean() > 2 * retained["long"].mean()


def test_some_csms_expand_their_books_far_more_than_others(story):
    ends = pd.date_range(end="2026-10-31", periods=37, freq="ME")
    wide = month_end_mrr(story["subscriptions"], ends)
    before, after = wide.iloc[:, :-1].to_numpy(), wide.iloc[:, 1:].to_numpy()
    expansion = np.where((before > 0) & (after > before), after - before, 0).sum(1)
    csm = story["customers"].set_index("customer_id")["csm"].reindex(wide.index)
    book = pd.DataFrame({"csm": csm.to_numpy(), "expansion": expansion,
                         "mrr": before.sum(1)}).groupby("csm").sum()
    rate = book["expansion"] / book["mrr"]
    assert 8 <= len(rate) <= 12
    assert rate.max() > 2 * rate.min()


# --- files ------------------------------------------------------------------------------

def test_csv_files_have_iso_dates_and_utc_timestamps(tmp_path):
    paths = write_sample(tmp_path, **SMALL, tables=["subscriptions", "tickets", "customers"])
    assert [p.name for p in paths.values()] == ["customers.csv", "subscriptions.csv",
                                                "tickets.csv"]
    subs = paths["subscriptions"].read_text().splitlines()
    assert subs[0] == ("subscription_id,customer_id,start_date,end_date,mrr,plan,"
                       "billing_interval_months,currency")
    assert subs[1].split(",")[2].count("-") == 2 and len(subs[1].split(",")[2]) == 10
    ticket = paths["tickets"].read_text().splitlines()[1].split(",")
    assert ticket[2].endswith("Z") and "T" in ticket[2]
    assert ticket[5] in {"true", "false"}


def test_written_csvs_load_through_the_data_contract(tmp_path):
    from csm_kit.data.loading import load_dataset

    messages = []
    write_sample(tmp_path, **SMALL, progress=messages.append)
    assert len(messages) == len(TABLES) and messages[0].startswith("customers: 200 rows")
    loaded = load_dataset(tmp_path)
    original = generate_sample(**SMALL)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(loaded, name), original[name],
                                      check_dtype=False, obj=name)


def test_parquet_files_round_trip(tmp_path):
    paths = write_sample(tmp_path, **SMALL, tables=["tickets"], file_format="parquet")
    back = pd.read_parquet(paths["tickets"])
    assert str(back["opened_at"].dt.tz) == "UTC"
    original = generate_sample(**SMALL, tables=["tickets"])["tickets"]
    assert (back["opened_at"].dt.tz_localize(None) == original["opened_at"]).all()


# --- invariants on any size -------------------------------------------------------------

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers=st.integers(1, 60), months=st.integers(1, 15), seed=st.integers(0, 10**6))
def test_any_size_and_seed_keeps_the_contract(customers, months, seed):
    data = generate_sample(customers=customers, months=months, seed=seed, end="2025-02-28")
    assert len(data["customers"]) == customers
    for name, column in ID_COLUMNS.items():
        assert data[name][column].is_unique
    subs = data["subscriptions"]
    assert (subs["end_date"].isna() | (subs["end_date"] > subs["start_date"])).all()
    assert (subs["mrr"] > 0).all()
    usage = data["usage"]
    assert usage["month"].between(pd.Timestamp("2025-02-01") - pd.DateOffset(months=months - 1),
                                  pd.Timestamp("2025-02-01")).all()
