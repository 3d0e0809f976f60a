"""Per-customer signals as of a day: each uses only data dated on or before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.data.loading import Dataset, load_dataset
from csm_kit.errors import ConfigError
from csm_kit.health import signals as signals_module
from csm_kit.health.declared import CustomSignal
from csm_kit.health.signals import (
    SIGNALS,
    _mrr_from_customer_months,
    _mrr_on,
    customer_signals,
    scoring_day,
    signals_by_day,
    signals_on,
)

AS_OF = "2024-03-31"


def dates(*values):
    return pd.to_datetime(list(values), format="ISO8601")


def base(**tables) -> Dataset:
    """Customers a and b, both subscribed since 2023 at 100 a month."""
    return Dataset(
        customers=pd.DataFrame({"customer_id": ["a", "b"], "segment": ["SMB", "Enterprise"],
                                "signup_date": dates("2023-01-01", "2023-01-01")}),
        subscriptions=pd.DataFrame({"customer_id": ["a", "b"], "mrr": [100.0, 100.0],
                                    "start_date": dates("2023-01-01", "2023-01-01"),
                                    "end_date": dates(None, None)}),
        **tables)


def signal(ds: Dataset, name: str, as_of=AS_OF) -> dict:
    out = customer_signals(ds, as_of=as_of)
    return dict(zip(out["customer_id"], out[name], strict=True))


def surveys(rows) -> pd.DataFrame:
    customer, survey, date, score = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": customer, "survey": survey, "date": dates(*date),
                         "score": np.array(score, dtype=float)})


def tickets(rows) -> pd.DataFrame:
    customer, opened, closed, contacts = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": customer, "opened_at": dates(*opened),
                         "closed_at": dates(*closed), "contacts": pd.array(contacts, "Int64")})


def test_output_has_one_row_per_active_customer_and_every_signal():
    out = customer_signals(base(), as_of=AS_OF)
    assert list(out.columns) == ["customer_id", "segment", *SIGNALS]
    assert out["customer_id"].tolist() == ["a", "b"]
    assert out["segment"].tolist() == ["SMB", "Enterprise"]


# --------------------------------------------------------------------------- who is scored


def test_only_customers_active_on_the_day_are_scored():
    # a ended on 31 March (not active that day: end is exclusive); c starts 1 April; b active
    ds = base()
    ds.subscriptions = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "mrr": [100.0, 100.0, 50.0],
        "start_date": dates("2023-01-01", "2023-01-01", "2024-04-01"),
        "end_date": dates("2024-03-31", None, None)})
    assert customer_signals(ds, as_of=AS_OF)["customer_id"].tolist() == ["b"]


def test_a_subscription_ending_after_the_day_is_still_running_on_the_day():
    ds = base()
    ds.subscriptions["end_date"] = dates("2024-04-01", None)
    assert customer_signals(ds, as_of=AS_OF)["customer_id"].tolist() == ["a", "b"]


def test_without_subscriptions_every_customer_signed_up_by_the_day_is_scored():
    ds = Dataset(customers=pd.DataFrame({"customer_id": ["a", "b"],
                                         "signup_date": dates("2024-03-31", "2024-04-01")}))
    out = customer_signals(ds, as_of=AS_OF)
    assert out["customer_id"].tolist() == ["a"]
    assert out["segment"].isna().all() and np.isnan(out["mrr_trend_3m"]).all()


# --------------------------------------------------------------------------- surveys


def test_a_survey_after_the_day_does_not_count():
    # a: NPS 9 on 10 Feb, NPS 2 on 1 April -> still 9 at the end of March
    ds = base(surveys=surveys([("a", "nps", "2024-02-10", 9), ("a", "nps", "2024-04-01", 2),
                               ("a", "csat", "2024-04-01", 1), ("a", "csat", "2024-03-31", 5)]))
    assert signal(ds, "nps_latest")["a"] == 9
    assert signal(ds, "csat_recent")["a"] == 5


def test_nps_is_the_latest_answer_within_12_months_averaging_same_day_answers():
    # a: 3 on 1 Jan, then 10 and 8 on 5 March -> 9; b: only an answer from 31 March 2023,
    # exactly 12 months back -> outside the window
    ds = base(surveys=surveys([("a", "nps", "2024-01-01", 3), ("a", "nps", "2024-03-05", 10),
                               ("a", "nps", "2024-03-05", 8), ("b", "nps", "2023-03-31", 10)]))
    nps = signal(ds, "nps_latest")
    assert nps["a"] == 9 and np.isnan(nps["b"])


def test_csat_is_the_mean_over_the_90_days_ending_on_the_day():
    # the 90 days ending 31 March 2024 start on 2 January (31 Mar - 89 days)
    ds = base(surveys=surveys([("a", "csat", "2024-01-01", 1), ("a", "csat", "2024-01-02", 4),
                               ("a", "csat", "2024-03-31", 5)]))
    assert signal(ds, "csat_recent")["a"] == 4.5
    assert np.isnan(signal(ds, "csat_recent")["b"])


# --------------------------------------------------------------------------- tickets


def test_tickets_open_over_7_days_use_the_backlog_rule():
    # on 31 March: opened 23 Mar (8 days) open -> counts; opened 24 Mar (7 days) -> not yet;
    # opened 1 Mar, closed 2 April -> still open on the day -> counts; closed 30 Mar -> not;
    # opened 1 April -> does not exist yet
    ds = base(tickets=tickets([
        ("a", "2024-03-23 09:00", None, 1), ("a", "2024-03-24", None, 1),
        ("a", "2024-03-01", "2024-04-02", 1), ("a", "2024-03-01", "2024-03-30", 1),
        ("a", "2024-04-01", None, 1)]))
    assert signal(ds, "tickets_open_over_7d") == {"a": 2, "b": 0}


def test_ticket_counts_are_zero_for_customers_without_tickets_and_missing_without_the_table():
    # a: tickets on 2 Jan (day 1 of the 90) and 31 March count; 1 Jan and 1 April do not
    ds = base(tickets=tickets([("a", "2024-01-01", "2024-01-01", 1),
                               ("a", "2024-01-02", "2024-01-03", 1),
                               ("a", "2024-03-31 23:59", None, 1),
                               ("a", "2024-04-01", None, 1)]))
    assert signal(ds, "tickets_90d") == {"a": 2, "b": 0}
    assert all(np.isnan(v) for v in signal(base(), "tickets_90d").values())


def test_first_contact_failures_count_tickets_closed_in_90_days_with_several_contacts():
    # closed in the window with 3 contacts -> 1 failure; 1 contact -> none;
    # 2 contacts but closed after the day -> not yet
    ds = base(tickets=tickets([("a", "2024-03-01", "2024-03-05", 3),
                               ("a", "2024-03-01", "2024-03-06", 1),
                               ("b", "2024-03-20", "2024-04-02", 2)]))
    assert signal(ds, "fcr_failures_90d") == {"a": 1, "b": 0}


# --------------------------------------------------------------------------- usage, MRR, renewals


def test_adoption_is_the_latest_complete_usage_month():
    # a: Feb 8/10, Mar 3/10, Apr 1/10. End of March: March counts -> 0.3; on 15 March the
    # March month is not complete -> February's 0.8
    usage = pd.DataFrame({"customer_id": ["a"] * 3, "month": dates("2024-02-01", "2024-03-01",
                                                                   "2024-04-01"),
                          "active_users": [8, 3, 1], "licensed_seats": [10, 10, 10]})
    ds = base(usage=usage)
    assert signal(ds, "adoption")["a"] == pytest.approx(0.3)
    assert signal(ds, "adoption", as_of="2024-03-15")["a"] == pytest.approx(0.8)
    assert np.isnan(signal(ds, "adoption")["b"])


def test_mrr_trend_compares_the_day_with_the_month_end_three_months_earlier():
    # a: 100 since 2023, down to 80 on 1 March 2024 -> 80/100 - 1 = -0.2 at the end of March
    # (the end of December is three month ends back); the rise to 300 in April is later.
    # b: started 15 January 2024 -> no MRR at the end of December -> missing
    ds = base()
    ds.subscriptions = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b"], "mrr": [100.0, 80.0, 300.0, 50.0],
        "start_date": dates("2023-01-01", "2024-03-01", "2024-04-01", "2024-01-15"),
        "end_date": dates("2024-03-01", "2024-04-01", None, None)})
    trend = signal(ds, "mrr_trend_3m")
    assert trend["a"] == pytest.approx(-0.2) and np.isnan(trend["b"])


def test_days_to_renewal_is_the_next_due_date_after_the_day():
    # a: due 31 March (the day itself: passed) and 30 April -> 30 days; b: nothing ahead
    renewals = pd.DataFrame({"customer_id": ["a", "a", "b"],
                             "due_date": dates("2024-03-31", "2024-04-30", "2024-01-01")})
    days = signal(base(renewals=renewals), "days_to_renewal")
    assert days["a"] == 30 and np.isnan(days["b"])


def test_a_contract_already_renewed_on_the_day_is_no_longer_ahead():
    # a: due 30 April, signed 20 March -> done; next term due 30 April 2025 -> 395 days.
    # b: due 30 April, signed 5 April (after the day: not known yet) -> 30 days
    renewals = pd.DataFrame({
        "customer_id": ["a", "a", "b"],
        "due_date": dates("2024-04-30", "2025-04-30", "2024-04-30"),
        "renewed_on": dates("2024-03-20", None, "2024-04-05")})
    days = signal(base(renewals=renewals), "days_to_renewal")
    assert days == {"a": 395, "b": 30}


# --------------------------------------------------------------------------- new signals


def test_slow_tickets_count_those_closed_in_90_days_more_than_7_days_after_opening():
    # a: 1 Mar -> 12 Mar (11 days, slow); 1 Mar -> 8 Mar 00:00 (exactly 7 days, not slow);
    # 20 Mar -> 5 Apr (closes after the day: not counted yet); b: 2 Jan -> 31 Jan (29 days)
    ds = base(tickets=tickets([("a", "2024-03-01", "2024-03-12", 1),
                               ("a", "2024-03-01", "2024-03-08", 1),
                               ("a", "2024-03-20", "2024-04-05", 1),
                               ("b", "2023-12-01", "2024-01-01", 1),
                               ("b", "2024-01-02", "2024-01-31", 1)]))
    assert signal(ds, "slow_tickets_90d") == {"a": 1, "b": 1}
    # medians of the tickets closed in the window: a (11 + 7) / 2 = 9; b 29 (the ticket
    # closed 1 January is before the 90 days ending 31 March, which start 2 January)
    assert signal(ds, "median_days_to_close_90d") == {"a": 9, "b": 29}


def test_median_days_to_close_is_missing_without_a_closed_ticket():
    ds = base(tickets=tickets([("a", "2024-03-01", None, 1)]))
    close = signal(ds, "median_days_to_close_90d")
    assert np.isnan(close["a"]) and np.isnan(close["b"])
    assert signal(ds, "slow_tickets_90d") == {"a": 0, "b": 0}


def test_key_feature_adoption_is_key_feature_users_over_active_users_of_the_latest_month():
    # a: March 6 active, 3 on the key feature -> 0.5; b: 0 active users -> no share
    usage = pd.DataFrame({"customer_id": ["a", "b"], "month": dates("2024-03-01", "2024-03-01"),
                          "active_users": [6, 0], "licensed_seats": [10, 10],
                          "key_feature_users": [3, 0]})
    share = signal(base(usage=usage), "key_feature_adoption")
    assert share["a"] == 0.5 and np.isnan(share["b"])


def test_days_since_touch_counts_from_the_latest_activity_or_else_from_signup():
    # a: touched 1 March and 10 April (later: invisible) -> 30 days on 31 March;
    # b: never touched, signed up 1 January 2023 -> 455 days (365 + 90)
    activities = pd.DataFrame({"customer_id": ["a", "a"], "date": dates("2024-03-01", "2024-04-10"),
                               "type": ["call", "QBR"]})
    assert signal(base(activities=activities), "days_since_touch") == {"a": 30, "b": 455}
    assert all(np.isnan(v) for v in signal(base(), "days_since_touch").values())


def test_tenure_is_days_since_signup():
    ds = base()
    ds.customers["signup_date"] = dates("2024-03-01", "2023-03-31")
    assert signal(ds, "tenure_days") == {"a": 30, "b": 366}  # 2024 is a leap year


def test_a_declared_signal_reads_a_numeric_customers_or_usage_column():
    from csm_kit.health.declared import CustomSignal

    ds = base(usage=pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b"], "active_users": 1,
        "month": dates("2023-12-01", "2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"),
        "logins": ["40", "10", "20", "", "7"]}))
    ds.customers["employees"] = ["120", None]
    custom = {"employees": CustomSignal("customers", "employees"),
              "logins": CustomSignal("usage", "logins"),
              "logins_3m": CustomSignal("usage", "logins", how="mean_3m")}
    out = customer_signals(ds, as_of=AS_OF, custom=custom).set_index("customer_id")
    # a: latest complete month with a value is February (20); the three months ending there
    # are Dec-Feb: (40 + 10 + 20) / 3 = 23.3; b: April is not complete on 31 March
    assert out.loc["a", "employees"] == 120 and np.isnan(out.loc["b", "employees"])
    assert out.loc["a", "logins"] == 20 and np.isnan(out.loc["b", "logins"])
    assert out.loc["a", "logins_3m"] == pytest.approx(70 / 3)


def test_a_declared_signal_with_text_values_names_the_table_column_and_rows():
    from csm_kit.health.declared import CustomSignal

    ds = base()
    ds.customers["employees"] = ["about 100", "12"]
    with pytest.raises(ConfigError, match=r"customers.employees has 1 values that are not "
                                          r"numbers \(e.g. customer a: 'about 100'\)"):
        customer_signals(ds, as_of=AS_OF, custom={"employees": CustomSignal("customers",
                                                                             "employees")})
    with pytest.raises(ConfigError, match="customers has no 'staff' column"):
        customer_signals(ds, as_of=AS_OF, custom={"staff": CustomSignal("customers", "staff")})


# --------------------------------------------------------------------------- the scoring day


def test_scoring_day_defaults_to_the_last_day_of_the_last_complete_month():
    ds = base(surveys=surveys([("a", "nps", "2024-03-20", 9)]))
    assert scoring_day(ds) == pd.Timestamp("2024-02-29")


def test_scoring_day_rejects_text_that_is_not_a_date():
    with pytest.raises(ConfigError, match="`as_of` must be a date like 2024-03-31, got 'soon'"):
        scoring_day(base(), "soon")


def test_csat_on_another_scale_is_put_on_1_to_5_for_the_health_thresholds():
    from dataclasses import replace

    from csm_kit.data.survey_settings import survey_settings

    # On 1–10: 10 -> 5, 1 -> 1, 8 -> 1 + 4 × 7/9 = 4.111; a's mean of 10 and 8 is 4.556.
    ds = replace(base(surveys=surveys([("a", "csat", "2024-03-10", 10), ("a", "csat", "2024-03-20", 8),
                                       ("b", "csat", "2024-03-15", 1)])),
                 survey_settings=survey_settings(scales="csat=1-10"))
    got = signal(ds, "csat_recent")
    assert got["a"] == pytest.approx((5 + 1 + 4 * 7 / 9) / 2) and got["b"] == 1.0


# The MRR signals are read straight from the subscriptions (signals._mrr_on) rather than by
# expanding customer-months; both ways must give the same numbers to the cent. The expected
# values come from customer_months itself (signals._mrr_from_customer_months), the reference.

def _both_ways(subs: pd.DataFrame, day) -> None:
    day = pd.Timestamp(day)
    ref_now, ref_before = _mrr_from_customer_months(subs, day)
    pd.testing.assert_series_equal(_mrr_on(subs, day), ref_now, check_names=False,
                                   check_index_type=False)
    pd.testing.assert_series_equal(_mrr_on(subs, day, months_back=3),
                                   ref_before.sort_index(), check_names=False,
                                   check_index_type=False)


def test_mrr_read_from_subscriptions_matches_customer_months_at_the_edges():
    # a: ends on 2024-03-15 (a mid-month day checks end == day); b: starts and ends in one
    # month (never at a month end); c: a credit taking its total to 0 (left out); d: half a
    # cent (rounded up per subscription, 0.005 → 0.01, twice = 0.02); e: ends on the 1st.
    subs = pd.DataFrame({
        "customer_id": ["a", "b", "c", "c", "d", "d", "e"],
        "mrr": [100.0, 50.0, 80.0, -80.0, 0.005, 0.005, 30.0],
        "start_date": dates("2023-11-20", "2023-12-05", "2023-10-01", "2024-01-01",
                            "2023-09-01", "2023-09-01", "2023-12-31"),
        "end_date": dates("2024-03-15", "2023-12-20", None, None, None, None, "2024-03-01")})
    for day in ["2023-12-20", "2023-12-31", "2024-02-29", "2024-03-01", "2024-03-14",
                "2024-03-15", "2024-03-31", "2024-06-30"]:
        _both_ways(subs, day)


def test_mrr_read_from_subscriptions_matches_customer_months_on_the_sample():
    subs = load_dataset().subscriptions
    for day in pd.date_range("2020-01-31", "2026-11-30", freq="ME").append(
            pd.date_range("2020-01-01", "2026-11-01", freq="3MS") + pd.Timedelta(days=14)):
        _both_ways(subs, day)


def test_customer_signals_on_the_sample_are_unchanged_by_the_direct_mrr_read(monkeypatch):
    ds = load_dataset()
    fast = customer_signals(ds, as_of="2025-06-30")
    monkeypatch.setattr(signals_module, "_plain", lambda subs: False)
    pd.testing.assert_frame_equal(fast, customer_signals(ds, as_of="2025-06-30"))


# --------------------------------------------------------------------------- latest rows


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(0, 3)),
                max_size=30))
def test_latest_rows_are_the_rows_a_stable_sort_and_keep_last_would_keep(rows):
    # The definition being replaced (on every usage month of every scoring day): sort by
    # month, stable, and keep each customer's last row; ties on the month go to the later row.
    from csm_kit.health.signals import latest_rows

    frame = pd.DataFrame({"customer_id": pd.Series([r[0] for r in rows], dtype="str"),
                          "month": pd.to_datetime([f"2024-0{r[1] + 1}-01" for r in rows])})
    expected = frame.sort_values("month", kind="stable").drop_duplicates(
        "customer_id", keep="last").index.sort_values().tolist()
    assert latest_rows(frame["customer_id"], frame["month"]).tolist() == expected


def test_usage_signals_on_the_sample_are_unchanged_by_the_latest_row_search(monkeypatch):
    # The sample at three month ends, against the sort-and-drop-duplicates definition.
    ds = load_dataset(None)

    def by_sorting(keys, order):
        frame = pd.DataFrame({"k": keys.to_numpy(), "o": order.to_numpy()})
        return np.sort(frame.sort_values("o", kind="stable").drop_duplicates(
            "k", keep="last").index.to_numpy())

    for day in pd.to_datetime(["2025-06-30", "2026-01-31", "2026-10-31"]):
        now = signals_module._usage_signals(ds.usage, day)
        monkeypatch.setattr(signals_module, "latest_rows", by_sorting)
        before = signals_module._usage_signals(ds.usage, day)
        monkeypatch.undo()
        for name in ("adoption", "key_feature_adoption"):
            pd.testing.assert_series_equal(now[name].sort_index(), before[name].sort_index())


# --------------------------------------------------------------------------- several days at once


def _by_day_equals_per_day(ds, days, monkeypatch, *, coded: bool, custom=None):
    used = []
    real = signals_module._coded
    monkeypatch.setattr(signals_module, "_coded", lambda d: used.append(real(d)) or used[-1])
    fast = list(signals_by_day(ds, days, custom=custom))
    assert len(fast) == len(days)
    for day, frame in zip(days, fast, strict=True):
        pd.testing.assert_frame_equal(frame, customer_signals(ds, as_of=day, custom=custom))
    assert (bool(used) and used[0] is not None) == coded


def test_signals_by_day_are_customer_signals_of_each_day_on_the_sample(monkeypatch):
    from csm_kit.data.loading import load_sample

    ds = load_sample()
    end = scoring_day(ds)
    days = [end - pd.DateOffset(months=k) + pd.offsets.MonthEnd(0) for k in range(0, 13, 2)]
    _by_day_equals_per_day(ds, days, monkeypatch, coded=True)


def test_ids_only_other_tables_have_are_coded_too_and_ids_missing_elsewhere_do_not_matter(
        monkeypatch):
    # z has a subscription and a ticket but no customers row; the trials table (not a
    # signal's) has a prospect without an id.
    ds = base(tickets=tickets([("z", "2024-03-01", None, 1), ("a", "2024-02-01", "2024-02-03", 2)]),
              trials=pd.DataFrame({"customer_id": [None, "a"],
                                   "trial_start": dates("2024-01-01", "2024-01-02")}))
    ds.subscriptions = pd.concat([ds.subscriptions, pd.DataFrame(
        {"customer_id": ["z"], "mrr": [50.0], "start_date": dates("2023-06-01"),
         "end_date": dates(None)})], ignore_index=True)
    days = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])
    _by_day_equals_per_day(ds, days, monkeypatch, coded=True)
    assert list(customer_signals(ds, as_of="2024-03-31")["customer_id"]) == ["a", "b", "z"]


def test_a_missing_id_in_a_signals_table_or_declared_signals_take_the_text_path(monkeypatch):
    ds = base(tickets=tickets([(None, "2024-03-01", None, 1), ("a", "2024-02-01", None, 2)]))
    days = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])
    _by_day_equals_per_day(ds, days, monkeypatch, coded=False)
    custom = {"seats": CustomSignal(table="customers", column="seats")}
    ds = base()
    ds.customers = ds.customers.assign(seats=[3.0, 4.0])
    monkeypatch.undo()
    _by_day_equals_per_day(ds, days, monkeypatch, coded=False, custom=custom)


def test_signals_on_a_day_come_from_the_callers_frame_only_when_it_holds_that_day():
    # Two days' signals with an as_of column: a day they hold is read from them (columns as
    # customer_signals gives them); a day they lack, or a declared signal they lack, is
    # computed from the data.
    ds = base(surveys=surveys([("a", "nps", "2024-02-10", 9.0), ("a", "nps", "2024-03-20", 3.0)]))
    days = dates("2024-02-29", "2024-03-31")
    known = pd.concat([customer_signals(ds, as_of=d).assign(as_of=d) for d in days],
                      ignore_index=True)
    known["nps_latest"] = known["nps_latest"] + 100  # marks what was read from the frame
    march = signals_on(ds, days[1], signals=known)
    assert list(march.columns) == list(customer_signals(ds, as_of=AS_OF).columns)
    assert dict(zip(march["customer_id"], march["nps_latest"], strict=True))["a"] == 103.0
    january = signals_on(ds, pd.Timestamp("2024-01-31"), signals=known)
    assert january["nps_latest"].isna().all()  # computed: no answer yet on 31 January
    seats = {"seats": CustomSignal(table="customers", column="seats")}
    with_seats = ds.customers.assign(seats=[5.0, 7.0])
    declared = signals_on(Dataset(customers=with_seats, subscriptions=ds.subscriptions,
                                  surveys=ds.surveys), days[1], custom=seats, signals=known)
    assert declared["seats"].tolist() == [5.0, 7.0] and declared["nps_latest"].tolist()[0] == 3.0
    one_day = known.loc[known["as_of"] == days[0]].drop(columns="as_of")
    assert signals_on(ds, days[1], signals=one_day) is one_day  # the caller vouches for it
