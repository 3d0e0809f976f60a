"""Tests for csm_kit.renewals: renewal rates, trial conversion and referral rate.

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.renewals import referral_rate, renewal_rates, trial_conversion


def contracts(due, arr_due, arr_renewed=None, renewed_on=None, customer_id=None):
    n = len(due)
    frame = pd.DataFrame({
        "contract_id": pd.array([f"k{i}" for i in range(n)], dtype="str"),
        "customer_id": pd.array(customer_id or [f"c{i}" for i in range(n)], dtype="str"),
        "due_date": pd.to_datetime(due).astype("datetime64[ns]"),
        "arr_due": np.asarray(arr_due, dtype=float),
    })
    if arr_renewed is not None:
        frame["arr_renewed"] = np.asarray(arr_renewed, dtype=float)
    if renewed_on is not None:
        frame["renewed_on"] = pd.to_datetime(renewed_on).astype("datetime64[ns]")
    return frame


# --------------------------------------------------------------------------- renewals


def test_net_dollar_renewal_can_pass_100_percent_while_logo_renewal_is_below_it():
    # March: three contracts of 100; a grows to 200, b to 150, c is lost.
    # Logo 2/3 = 66.7%; GDR (100 + 100 + 0)/300 = 66.7%; NDR (200 + 150 + 0)/300 = 116.7%.
    data = contracts(["2024-03-05", "2024-03-20", "2024-03-31"], [100, 100, 100],
                     arr_renewed=[200, 150, 0])
    row = renewal_rates(data).iloc[0]
    assert (row["contracts_due"], row["renewed"]) == (3, 2)
    assert row["logo_renewal_rate"] == pytest.approx(2 / 3)
    assert row["gross_dollar_renewal"] == pytest.approx(2 / 3)
    assert row["net_dollar_renewal"] == pytest.approx(350 / 300)
    assert (row["arr_due"], row["arr_renewed"]) == (300.0, 350.0)
    # Wilson 95% for 2 of 3: [0.208, 0.939].
    assert row["ci_low"] == pytest.approx(0.208, abs=0.001)
    assert row["ci_high"] == pytest.approx(0.939, abs=0.001)


def test_gross_dollar_renewal_caps_each_contract_not_the_total():
    # a 100 -> 200 (capped at 100), b 100 -> 50: GDR (100 + 50)/200 = 0.75, NDR 250/200.
    data = contracts(["2024-03-05", "2024-03-31"], [100, 100], arr_renewed=[200, 50])
    row = renewal_rates(data).iloc[0]
    assert (row["gross_dollar_renewal"], row["net_dollar_renewal"]) == (0.75, 1.25)
    assert row["logo_renewal_rate"] == 1.0


def test_contracts_due_after_as_of_are_not_yet_decided_and_left_out():
    # Latest renewal signed 10 April -> default as_of is March: the April and May contracts
    # are left out, March has a (renewed) and b (lost).
    data = contracts(["2024-03-05", "2024-03-25", "2024-04-20", "2024-05-15"],
                     [100, 100, 100, 100], arr_renewed=[100, 0, np.nan, np.nan],
                     renewed_on=["2024-04-10", None, None, None])
    out = renewal_rates(data)
    assert out["period"].tolist() == [pd.Timestamp("2024-03-01")]
    assert out["contracts_due"].tolist() == [2]
    assert len(renewal_rates(data, as_of="2024-02")) == 0


def test_a_renewal_date_counts_only_where_the_renewed_arr_is_empty():
    # a: arr empty, signed -> renewed (0 in dollars); b: arr 0 although signed -> not renewed;
    # c: neither -> not renewed, with a warning; d: arr 120 -> renewed.
    data = contracts(["2024-03-01"] * 4, [100, 100, 100, 100],
                     arr_renewed=[np.nan, 0, np.nan, 120],
                     renewed_on=["2024-03-01", "2024-03-02", None, "2024-03-03"])
    with pytest.warns(UserWarning, match="1 contracts due by as_of have neither arr_renewed"):
        row = renewal_rates(data, as_of="2024-03").iloc[0]
    assert row["renewed"] == 2
    assert row["arr_renewed"] == 120.0
    assert row["gross_dollar_renewal"] == pytest.approx(100 / 400)


def test_without_arr_renewed_the_logo_rate_uses_renewal_dates_and_dollars_are_unknown():
    data = contracts(["2024-03-01", "2024-03-02"], [100, 100],
                     renewed_on=["2024-03-01", None])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = renewal_rates(data, as_of="2024-03").iloc[0]
    assert row["logo_renewal_rate"] == 0.5
    assert np.isnan(row["net_dollar_renewal"]) and np.isnan(row["gross_dollar_renewal"])


def test_renewal_rates_by_quarter_and_segment():
    # Q1: SMB a (Jan, renewed), b (Mar, lost) -> 1/2; Enterprise c (Feb, 100 -> 130) -> NDR 1.3.
    data = contracts(["2024-01-10", "2024-03-10", "2024-02-10"], [100, 100, 100],
                     arr_renewed=[100, 0, 130], customer_id=["a", "b", "c"])
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "segment": ["SMB", "SMB", "Enterprise"]})
    out = renewal_rates(data, freq="Q", by="segment", customers=customers, as_of="2024-03")
    out = out.set_index("segment")
    assert out.loc["SMB", "logo_renewal_rate"] == 0.5
    assert out.loc["Enterprise", "net_dollar_renewal"] == 1.3
    assert (out["period"] == pd.Timestamp("2024-01-01")).all()


def test_renewals_by_a_column_nobody_has_is_refused():
    data = contracts(["2024-03-01"], [100], arr_renewed=[100])
    with pytest.raises(ConfigError, match=r"`by='segment'` is not a column of renewals"):
        renewal_rates(data, by="segment")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 1e6), st.floats(0, 3)), min_size=1, max_size=30))
def test_gross_dollar_renewal_never_exceeds_100_percent_or_net_dollar_renewal(rows):
    due = [d for d, _ in rows]
    renewed = [d * f for d, f in rows]
    out = renewal_rates(contracts(["2024-03-15"] * len(rows), due, arr_renewed=renewed),
                        as_of="2024-03").iloc[0]
    assert 0 <= out["gross_dollar_renewal"] <= 1 + 1e-12
    assert out["gross_dollar_renewal"] <= out["net_dollar_renewal"] + 1e-12
    assert 0 <= out["logo_renewal_rate"] <= 1


# --------------------------------------------------------------------------- trials


def trials(started, converted):
    return pd.DataFrame({
        "trial_id": pd.array([f"t{i}" for i in range(len(started))], dtype="str"),
        "started_at": pd.to_datetime(started).astype("datetime64[ns]"),
        "converted_at": pd.to_datetime(converted).astype("datetime64[ns]"),
    })


def test_trial_conversion_is_by_the_month_the_trial_started():
    # January cohort: 4 trials, 2 converted (one in February) -> 50%; February: 1 trial, 0.
    # Wilson 95% for 2 of 4: [0.150, 0.850].
    data = trials(["2024-01-02", "2024-01-10", "2024-01-15", "2024-01-31", "2024-02-20"],
                  ["2024-01-12", None, "2024-02-24", None, None])
    out = trial_conversion(data, as_of="2024-02")
    assert out["trials"].tolist() == [4, 1]
    assert out["converted"].tolist() == [2, 0]
    assert out["rate"].tolist() == [0.5, 0.0]
    assert out["ci_low"].iloc[0] == pytest.approx(0.150, abs=0.001)
    assert out["ci_high"].iloc[0] == pytest.approx(0.850, abs=0.001)


def test_trial_conversion_within_n_days_counts_only_quick_conversions():
    # Conversions after 10 and 40 days; within 30 days only the first counts.
    data = trials(["2024-01-02", "2024-01-15"], ["2024-01-12", "2024-02-24"])
    assert trial_conversion(data, within_days=30, as_of="2024-01")["converted"].tolist() == [1]
    assert trial_conversion(data, within_days=40, as_of="2024-01")["converted"].tolist() == [2]


def test_trials_started_after_as_of_are_left_out_but_later_conversions_count():
    data = trials(["2024-01-20", "2024-02-03"], ["2024-02-10", None])
    out = trial_conversion(data, as_of="2024-01")
    assert (out["trials"].tolist(), out["converted"].tolist()) == ([1], [1])


def test_within_days_must_be_a_whole_number():
    with pytest.raises(ConfigError, match=r"`within_days` must be a whole number >= 0 or None"):
        trial_conversion(trials(["2024-01-02"], [None]), within_days=-3)


# --------------------------------------------------------------------------- referrals


def _subscriptions():
    # a, b, c active Jan-Mar; d leaves 15 Feb (active only at the end of January);
    # e starts 10 Feb.
    rows = [("a", "2024-01-01", None), ("b", "2024-01-01", None), ("c", "2024-01-01", None),
            ("d", "2024-01-01", "2024-02-15"), ("e", "2024-02-10", None)]
    ids, starts, ends = zip(*rows, strict=True)
    return pd.DataFrame({
        "subscription_id": pd.array([f"s{i}" for i in range(len(rows))], dtype="str"),
        "customer_id": pd.array(ids, dtype="str"),
        "start_date": pd.to_datetime(starts).astype("datetime64[ns]"),
        "end_date": pd.to_datetime(list(ends)).astype("datetime64[ns]"),
        "mrr": 50.0,
    })


def _referrals():
    # a refers x and y in January; d refers z in February (d is gone by the end of February);
    # b refers w in March.
    return pd.DataFrame({
        "referral_id": pd.array(["r1", "r2", "r3", "r4"], dtype="str"),
        "referrer_customer_id": pd.array(["a", "a", "d", "b"], dtype="str"),
        "referred_customer_id": pd.array(["x", "y", "z", "w"], dtype="str"),
        "date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-02", "2024-03-03"]),
    })


def test_referral_rate_is_referring_customers_over_active_customers_each_month():
    # Jan: active a, b, c, d = 4; referrer a -> 1/4, referred x, y.
    # Feb: active a, b, c, e = 4; d referred but is no longer active -> 0/4, referred z.
    # Mar: active a, b, c, e = 4; referrer b -> 1/4, referred w.
    out = referral_rate(_referrals(), _subscriptions(), as_of="2024-03")
    assert out["referrers"].tolist() == [1, 0, 1]
    assert out["active_customers"].tolist() == [4, 4, 4]
    assert out["rate"].tolist() == [0.25, 0.0, 0.25]
    assert out["referred_customers"].tolist() == [2, 1, 1]


def test_quarterly_referral_rate_counts_active_customers_at_the_quarter_end():
    # Q1: active at the end of March a, b, c, e = 4; referrers a and b (d has left) -> 2/4;
    # referred x, y, z, w = 4.
    row = referral_rate(_referrals(), _subscriptions(), freq="Q", as_of="2024-03").iloc[0]
    assert (row["referrers"], row["active_customers"], row["rate"]) == (2, 4, 0.5)
    assert row["referred_customers"] == 4


def test_referred_customers_are_unknown_without_the_column():
    out = referral_rate(_referrals().drop(columns="referred_customer_id"), _subscriptions(),
                        as_of="2024-03")
    assert out["referred_customers"].isna().all()
    assert out["referrers"].tolist() == [1, 0, 1]


# --------------------------------------------------------------------------- dollar intervals, windows


def test_dollar_renewal_intervals_treat_contracts_as_the_units():
    # a 100 -> 200, b 100 -> 150, c 100 -> 0: NDR 350/300 = 1.167. Residuals y − R·x:
    # 83.3, 33.3, −116.7; Σ² = 21,666.7; v = 3/300² × 21,666.7/2 = 0.3611, se 0.601,
    # half-width 1.96 × 0.601 = 1.178 -> [0 (clipped), 2.344].
    data = contracts(["2024-03-05", "2024-03-20", "2024-03-31"], [100, 100, 100],
                     arr_renewed=[200, 150, 0])
    row = renewal_rates(data).iloc[0]
    assert row["ndr_ci_low"] == 0.0
    assert row["ndr_ci_high"] == pytest.approx(2.344, abs=1e-3)
    # GDR 200/300 is capped at 100% per contract and its interval at 1.
    assert row["gdr_ci_high"] <= 1.0 and row["gdr_ci_low"] <= row["gross_dollar_renewal"]


def test_dollar_intervals_are_missing_when_the_dollars_are_unknown():
    data = contracts(["2024-03-05", "2024-03-20"], [100, 100],
                     renewed_on=["2024-03-01", None])
    row = renewal_rates(data, as_of="2024-03").iloc[0]  # no arr_renewed column at all
    assert row["logo_renewal_rate"] == 0.5
    assert pd.isna(row["net_dollar_renewal"]) and pd.isna(row["ndr_ci_low"])


def test_trailing_renewal_rates_pool_the_window_per_group():
    from csm_kit.renewals import trailing_renewal_rates

    # Window January–March: a (Jan, renewed), b (Feb, lost), c (Mar, renewed); d is due in
    # December, before the window. a and b belong to Ana, c and d to Ben.
    data = contracts(["2024-01-10", "2024-02-10", "2024-03-10", "2023-12-10"], [100] * 4,
                     arr_renewed=[100, 0, 120, 100], customer_id=["a", "b", "c", "d"])
    customers = pd.DataFrame({"customer_id": list("abcd"), "csm": ["Ana", "Ana", "Ben", "Ben"]})
    out = trailing_renewal_rates(data, window_months=3, by="csm", customers=customers,
                                 as_of="2024-03").set_index("csm")
    assert out.loc["Ana", ["contracts_due", "renewed"]].tolist() == [2, 1]
    assert out.loc["Ben", ["contracts_due", "net_dollar_renewal"]].tolist() == [1, 1.2]
    assert (out["period"] == pd.Timestamp("2024-01-01")).all()


def test_a_trial_cohort_is_judged_only_once_its_conversion_window_has_passed():
    # March trials with a 30-day window: the last March start (31 March) has until 30 April.
    trials = pd.DataFrame({"started_at": pd.to_datetime(["2024-03-01", "2024-03-31"]),
                           "converted_at": pd.to_datetime(["2024-03-20", None])})
    assert not trial_conversion(trials, within_days=30, as_of="2024-03")["window_closed"].iloc[0]
    assert trial_conversion(trials, within_days=30, as_of="2024-04")["window_closed"].iloc[0]
    assert "window_closed" not in trial_conversion(trials, as_of="2024-04").columns


# --------------------------------------------------------------------------- mutation survivors


def test_the_default_trailing_window_is_the_twelve_months_ending_with_the_as_of_month():
    from csm_kit.renewals import trailing_renewal_rates

    # As of December 2024 the default window is January–December 2024: the contracts due on
    # 1 January and 31 December are in it, the one due on 31 December 2023 is not (it would be
    # in a 13-month window). Both in the window renewed: 2 due, 2 renewed.
    data = contracts(["2023-12-31", "2024-01-01", "2024-12-31"], [100] * 3,
                     arr_renewed=[100, 100, 100])
    row = trailing_renewal_rates(data, as_of="2024-12").iloc[0]
    assert (row["contracts_due"], row["renewed"]) == (2, 2)
    assert row["period"] == pd.Timestamp("2024-01-01")


def test_a_trailing_window_runs_from_its_first_day_to_the_last_day_of_the_as_of_month():
    from csm_kit.renewals import trailing_renewal_rates

    # Window January–March 2024 (3 months to March). In: 1 January 00:00 (a, renewed) and
    # 31 March (b, lost). Out: 31 December 2023 (c), 1 April 00:00 (d), 15 April (e).
    # 2 due, 1 renewed.
    data = contracts(["2024-01-01", "2024-03-31", "2023-12-31", "2024-04-01", "2024-04-15"],
                     [100] * 5, arr_renewed=[100, 0, 100, 100, 100])
    row = trailing_renewal_rates(data, window_months=3, as_of="2024-03").iloc[0]
    assert (row["contracts_due"], row["renewed"]) == (2, 1)


def test_a_trailing_window_of_one_month_is_allowed():
    from csm_kit.renewals import trailing_renewal_rates

    # One month to March: only c (due in March, renewed) counts; a and b are due in February.
    data = contracts(["2024-02-10", "2024-02-20", "2024-03-10"], [100] * 3,
                     arr_renewed=[0, 0, 100])
    row = trailing_renewal_rates(data, window_months=1, as_of="2024-03").iloc[0]
    assert (row["contracts_due"], row["renewed"]) == (1, 1)
    assert row["period"] == pd.Timestamp("2024-03-01")


@pytest.mark.parametrize("window_months", [0, -3, 1.5, True, None])
def test_a_trailing_window_must_be_a_whole_number_of_months_of_at_least_one(window_months):
    from csm_kit.renewals import trailing_renewal_rates

    data = contracts(["2024-03-10"], [100], arr_renewed=[100])
    with pytest.raises(ConfigError, match=r"`window_months` must be a whole number >= 1, got "
                                          + repr(window_months)):
        trailing_renewal_rates(data, window_months=window_months, as_of="2024-03")


def test_the_default_trailing_window_ends_with_the_last_complete_month_of_the_renewal_dates():
    from csm_kit.renewals import trailing_renewal_rates

    # Latest renewal signed 29 February 2024 (February's last day) -> as-of month February,
    # although a contract is due on 31 March. Two months to February: a (Jan) and b (Feb),
    # both renewed. Had the due dates set the month (March), the window would be b and c.
    data = contracts(["2024-01-10", "2024-02-10", "2024-03-31"], [100] * 3,
                     arr_renewed=[100, 100, 0], renewed_on=["2024-01-05", "2024-02-29", None])
    row = trailing_renewal_rates(data, window_months=2).iloc[0]
    assert row["period"] == pd.Timestamp("2024-01-01")
    assert (row["contracts_due"], row["renewed"]) == (2, 2)


@pytest.mark.parametrize("renewal_dates", ["no column", "all empty"])
def test_without_renewal_dates_the_default_trailing_window_ends_with_the_due_dates(
        renewal_dates):
    from csm_kit.renewals import trailing_renewal_rates

    # Latest due date 15 March 2024 -> last complete month February. Two months to February:
    # a (Jan, renewed) and b (Feb, lost); c (15 March) is left out. 2 due, 1 renewed.
    renewed_on = None if renewal_dates == "no column" else [None, None, None]
    data = contracts(["2024-01-10", "2024-02-10", "2024-03-15"], [100] * 3,
                     arr_renewed=[100, 0, 100], renewed_on=renewed_on)
    row = trailing_renewal_rates(data, window_months=2).iloc[0]
    assert row["period"] == pd.Timestamp("2024-01-01")
    assert (row["contracts_due"], row["renewed"]) == (2, 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 6)),
                min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 7), st.integers(0, 5)), max_size=12))
def test_the_referral_rate_counts_each_period_s_active_referrers_as_the_definition_reads(
        spells, referred):
    # Customers c0..c5 subscribe from month s for n months (customer_months says who is
    # active at each month end); a referral by customer k in month m. Per month: referrers =
    # distinct customers active at the month end who referred in it; active = all active then.
    from csm_kit.revenue import customer_months

    subs = pd.DataFrame({
        "customer_id": [f"c{k}" for k, _, _ in spells],
        "start_date": [pd.Timestamp(2024, 1 + s, 1) for _, s, _ in spells],
        "end_date": [pd.Timestamp(2024, 1, 1) + pd.DateOffset(months=s + n)
                     for _, s, n in spells],
        "mrr": 10.0})
    refs = pd.DataFrame({"referrer_customer_id": [f"c{k}" for k, _ in referred],
                         "date": [pd.Timestamp(2024, 1 + m, 15) for _, m in referred]},
                        columns=["referrer_customer_id", "date"])
    refs["date"] = pd.to_datetime(refs["date"])
    as_of = "2024-06"
    out = referral_rate(refs, subs, as_of=as_of).set_index("period")
    months = customer_months(subs, as_of=as_of)
    for month, active in months.groupby("month")["customer_id"]:
        said = {f"c{k}" for k, m in referred if pd.Timestamp(2024, 1 + m, 1) == month}
        assert out.loc[month, "active_customers"] == active.nunique()
        assert out.loc[month, "referrers"] == len(said & set(active))
    assert set(out.index) == set(months["month"])
