"""Tests for csm_kit.support: first contact resolution, time to close and ticket backlogs.

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.support import (
    backlog_by_period,
    first_contact_resolution,
    ticket_backlog,
    time_to_close,
)


def tickets(opened, closed, **extra):
    """Tickets t0, t1, ... of customers c0, c1, ...; ``None`` in closed = still open."""
    n = len(opened)
    frame = pd.DataFrame({
        "ticket_id": pd.array([f"t{i}" for i in range(n)], dtype="str"),
        "customer_id": pd.array(extra.pop("customer_id", [f"c{i}" for i in range(n)]),
                                dtype="str"),
        "opened_at": pd.to_datetime(opened, format="ISO8601").astype("datetime64[ns]"),
        "closed_at": pd.to_datetime(closed, format="ISO8601").astype("datetime64[ns]"),
    })
    for name, values in extra.items():
        frame[name] = values
    return frame


# --------------------------------------------------------------------------- FCR


def _fcr_tickets():
    # Closed in January:
    #   t0 contacts 1                      -> first contact
    #   t1 contacts 2, flag True           -> not (the count wins over the flag)
    #   t2 contacts missing, flag True     -> first contact (the flag fills in)
    #   t3 contacts missing, flag False    -> not
    #   t4 contacts 0 (auto-closed)        -> not
    # t5 is still open; t6 opened in January and closed 29 February -> February.
    return tickets(
        ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07",
         "2024-01-30"],
        ["2024-01-02", "2024-01-09", "2024-01-10", "2024-01-20", "2024-01-31", None,
         "2024-02-29"],
        contacts=pd.array([1, 2, None, None, 0, 1, 1], dtype="Int64"),
        first_contact_resolved=pd.array([None, True, True, False, None, None, None],
                                        dtype="boolean"),
        agent=["Ann", "Ann", "Bob", "Bob", "Bob", "Ann", "Ann"],
    )


def test_first_contact_resolution_counts_one_contact_tickets_among_closed_ones():
    # January: 2 of 5 -> 0.4; February: 1 of 1.
    out = first_contact_resolution(_fcr_tickets())
    assert out["period"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02"]
    assert out["resolved"].tolist() == [5, 1]
    assert out["first_contact"].tolist() == [2, 1]
    assert out["value"].tolist() == [0.4, 1.0]
    # Wilson 95% for 2 of 5 is [0.118, 0.769].
    assert out["ci_low"].iloc[0] == pytest.approx(0.118, abs=0.001)
    assert out["ci_high"].iloc[0] == pytest.approx(0.769, abs=0.001)


def test_first_contact_resolution_by_agent():
    # January: Ann t0 (yes), t1 (no) -> 1/2; Bob t2 (yes), t3, t4 (no) -> 1/3.
    out = first_contact_resolution(_fcr_tickets(), by="agent", as_of="2024-01")
    assert out.set_index("agent")["value"].to_dict() == {"Ann": 0.5, "Bob": pytest.approx(1 / 3)}


def test_first_contact_resolution_by_segment_joins_customers():
    data = _fcr_tickets()
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(7)],
                              "segment": ["SMB"] * 3 + ["Enterprise"] * 4})
    out = first_contact_resolution(data, by="segment", customers=customers, as_of="2024-01")
    # SMB c0-c2: t0 yes, t1 no, t2 yes -> 2/3; Enterprise c3, c4 -> 0/2 (t5 open).
    assert out.set_index("segment")["resolved"].to_dict() == {"Enterprise": 2, "SMB": 3}
    assert out.set_index("segment")["first_contact"].to_dict() == {"Enterprise": 0, "SMB": 2}


def test_first_contact_resolution_works_with_the_flag_alone():
    data = _fcr_tickets().drop(columns="contacts")
    # January flags: t0 none, t1 True, t2 True, t3 False, t4 none -> 2 of the 3 known;
    # t0 and t4 are left out with a warning.
    with pytest.warns(UserWarning, match="2 closed tickets have neither contacts nor"):
        out = first_contact_resolution(data, as_of="2024-01")
    assert (out["resolved"].iloc[0], out["first_contact"].iloc[0]) == (3, 2)


def test_first_contact_resolution_needs_contacts_or_the_flag():
    data = _fcr_tickets().drop(columns=["contacts", "first_contact_resolved"])
    with pytest.raises(ConfigError, match="tickets needs a contacts or first_contact_resolved"):
        first_contact_resolution(data)


def test_resolution_figures_need_a_closed_at_column():
    data = _fcr_tickets().drop(columns="closed_at")
    with pytest.raises(ConfigError, match="tickets has no closed_at column"):
        time_to_close(data)


# --------------------------------------------------------------------------- time to close


def test_time_to_close_gives_the_median_and_90th_percentile_in_hours():
    # Durations 1, 2, 3, 4, 10 hours. Median 3. p90 (linear): position 0.9 * 4 = 3.6 ->
    # 4 + 0.6 * (10 - 4) = 7.6. The open ticket is not counted.
    opened = pd.Timestamp("2024-01-10 08:00")
    hours = [1, 2, 3, 4, 10]
    data = tickets([opened] * 6, [opened + pd.Timedelta(hours=h) for h in hours] + [None])
    out = time_to_close(data, as_of="2024-01")
    assert out[["closed", "median", "p90"]].iloc[0].tolist() == [5, 3.0, pytest.approx(7.6)]


def test_time_to_close_in_days_and_by_closing_month():
    # Closed in January after 12 h and 36 h (0.5 and 1.5 days) -> median 1.0;
    # the ticket opened in January and closed 3 February after 2 days counts in February.
    data = tickets(["2024-01-01 00:00", "2024-01-01 00:00", "2024-02-01 00:00"],
                   ["2024-01-01 12:00", "2024-01-02 12:00", "2024-02-03 00:00"])
    out = time_to_close(data, unit="days", as_of="2024-02")
    assert out["median"].tolist() == [1.0, 2.0]
    assert out["closed"].tolist() == [2, 1]


def test_time_to_close_unit_must_be_hours_or_days():
    with pytest.raises(ConfigError, match=r"`unit` must be one of \['days', 'hours'\], got 'week"):
        time_to_close(_fcr_tickets(), unit="weeks")


# --------------------------------------------------------------------------- backlog


def _backlog_tickets():
    # Snapshot at the end of 31 March, N = 7:
    #   t0 opened 24 Mar 09:00, open      -> open, 7 days old (not more than 7)
    #   t1 opened 23 Mar, open            -> open, 8 days old
    #   t2 opened 1 Mar, closed 31 Mar 18:00 -> closed by the end of the day
    #   t3 opened 1 Mar, closed 1 Apr 08:00  -> open on 31 March, 30 days old
    #   t4 opened 1 Apr                   -> not yet opened
    #   t5 opened 31 Mar 23:00, open      -> open, 0 days old
    return tickets(
        ["2024-03-24 09:00", "2024-03-23", "2024-03-01", "2024-03-01", "2024-04-01",
         "2024-03-31 23:00"],
        [None, None, "2024-03-31 18:00", "2024-04-01 08:00", None, None],
        agent=["Ann", "Ann", "Bob", "Ann", "Cy", "Ann"],
    )


def test_backlog_counts_tickets_open_at_the_end_of_the_as_of_day():
    out = ticket_backlog(_backlog_tickets(), as_of="2024-03-31")
    assert out.to_dict("records") == [{"open": 4, "open_longer_than": 2}]


def test_backlog_by_agent_shows_agents_with_nothing_open_as_zero():
    out = ticket_backlog(_backlog_tickets(), as_of="2024-03-31", by="agent")
    assert out.set_index("agent").to_dict("index") == {
        "Ann": {"open": 4, "open_longer_than": 2},
        "Bob": {"open": 0, "open_longer_than": 0},
        "Cy": {"open": 0, "open_longer_than": 0},
    }


def test_backlog_threshold_is_configurable():
    # N = 0: every open ticket opened before 31 March counts: t0, t1, t3.
    out = ticket_backlog(_backlog_tickets(), as_of="2024-03-31", older_than_days=0)
    assert out["open_longer_than"].iloc[0] == 3


def test_backlog_needs_a_real_date():
    with pytest.raises(ConfigError, match=r"`as_of` must be a date like 2024-03-31, got 'soon'"):
        ticket_backlog(_backlog_tickets(), as_of="soon")


def test_backlog_by_period_takes_the_backlog_at_each_month_end():
    # End of March as above (4 open, 2 old). End of April: t0, t1, t4, t5 open, t3 closed;
    # t4 opened 1 April is 29 days old -> all four are older than 7 days.
    out = backlog_by_period(_backlog_tickets(), as_of="2024-04")
    assert out["period"].dt.strftime("%Y-%m").tolist() == ["2024-03", "2024-04"]
    assert out["open"].tolist() == [4, 4]
    assert out["open_longer_than"].tolist() == [2, 4]


def test_backlog_by_quarter_is_taken_at_the_quarter_end_or_the_as_of_month():
    # Q1 at 31 March (4, 2); Q2 is unfinished, so taken at the end of April (4, 4).
    out = backlog_by_period(_backlog_tickets(), freq="Q", as_of="2024-04", by="agent")
    ann = out[out["agent"] == "Ann"]
    assert ann["period"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01")]
    assert ann["open"].tolist() == [4, 3]
    assert out[out["agent"] == "Cy"]["open"].tolist() == [0, 1]


def test_backlog_threshold_must_be_a_whole_number_of_days():
    with pytest.raises(ConfigError, match=r"`older_than_days` must be a whole number >= 0"):
        backlog_by_period(_backlog_tickets(), older_than_days=2.5)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 150), st.one_of(st.none(), st.integers(0, 90))),
                min_size=1, max_size=25),
       st.integers(0, 40))
def test_backlog_by_period_agrees_with_the_backlog_at_every_month_end(rows, days):
    start = pd.Timestamp("2024-01-01 06:00")
    opened = [start + pd.Timedelta(days=o) for o, _ in rows]
    closed = [None if d is None else start + pd.Timedelta(days=o + d) for o, d in rows]
    data = tickets(opened, closed)
    trend = backlog_by_period(data, older_than_days=days, as_of="2024-06")
    for period, open_, old in trend.itertuples(index=False):
        snapshot = ticket_backlog(data, as_of=period + pd.offsets.MonthEnd(0),
                                  older_than_days=days)
        assert (open_, old) == tuple(snapshot.iloc[0])
    assert (trend["open_longer_than"] <= trend["open"]).all()
    assert np.all(trend["open"] >= 0)


def test_support_breakdown_by_channel_pools_the_window_and_adds_the_backlog():
    from csm_kit.support import support_breakdown

    # Closed in February–March (window of 2 months to March): email t1 (1 contact, 2 h) and
    # t2 (3 contacts, 10 h), chat t3 (1 contact, 30 h); t4 (email) closed in January is
    # outside the window. Open at the end of March: chat t5, opened 1 March (30 days old).
    # Email: FCR 1 of 2, median (2 + 10) / 2 = 6 h. Chat: FCR 1 of 1, 30 h, 1 open > 7 days.
    t = pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3", "t4", "t5"], "customer_id": list("abcde"),
        "channel": ["email", "email", "chat", "email", "chat"], "contacts": [1, 3, 1, 1, 2],
        "opened_at": pd.to_datetime(["2024-03-04 08:00", "2024-02-05 08:00", "2024-03-10 00:00",
                                     "2024-01-03 08:00", "2024-03-01 09:00"]),
        "closed_at": pd.to_datetime(["2024-03-04 10:00", "2024-02-05 18:00", "2024-03-11 06:00",
                                     "2024-01-03 09:00", None])})
    out = support_breakdown(t, by="channel", as_of="2024-03", window_months=2).set_index("channel")
    assert out.loc["email", ["closed", "first_contact", "fcr", "median_hours"]].tolist() == [
        2, 1, 0.5, 6.0]
    assert out.loc["chat", ["closed", "fcr", "median_hours", "open", "open_longer_than"]].tolist() == [
        1, 1.0, 30.0, 1, 1]
    # Wilson 95% for 1 of 2: [0.095, 0.905].
    assert out.loc["email", ["fcr_ci_low", "fcr_ci_high"]].tolist() == pytest.approx([0.095, 0.905], abs=1e-3)


def test_support_breakdown_needs_closed_at_and_a_sensible_window():
    from csm_kit.support import support_breakdown

    t = _fcr_tickets()
    with pytest.raises(ConfigError, match="window_months"):
        support_breakdown(t, by="agent", window_months=0)
    with pytest.raises(ConfigError, match="closed_at"):
        support_breakdown(t.drop(columns="closed_at"), by="agent")


# --------------------------------------------------------------------------- mutation survivors


def _channel_tickets(opened, closed, channel, contacts=None):
    """Tickets for support_breakdown: one channel (and contact count) per ticket."""
    n = len(opened)
    return tickets(opened, closed, channel=channel,
                   contacts=contacts if contacts is not None else [1] * n)


def test_support_breakdown_pools_three_months_and_counts_open_longer_than_7_days_by_default():
    from csm_kit.support import support_breakdown

    # As of April, the default window is February–April:
    #   t0 closed 20 January -> outside (a fourth month would take it in)
    #   t1 closed 20 February -> inside
    #   t2 closed 20 April -> inside
    # Open at the end of 30 April: t3 opened 22 April (8 days before 30 April -> older than
    # the default 7 days), t4 opened 23 April (7 days -> not older than 7).
    t = _channel_tickets(
        ["2024-01-10", "2024-02-10", "2024-04-10", "2024-04-22 09:00", "2024-04-23 09:00"],
        ["2024-01-20", "2024-02-20", "2024-04-20", None, None],
        channel=["email"] * 5)
    row = support_breakdown(t, by="channel", as_of="2024-04").iloc[0]
    assert (row["closed"], row["open"], row["open_longer_than"]) == (2, 2, 1)


def test_support_breakdown_uses_the_older_than_days_it_is_given():
    from csm_kit.support import support_breakdown

    # Open at the end of 31 March: opened 1 March (30 days) and 20 March (11 days).
    # N = 10: both are older; N = 30: neither (30 is not more than 30).
    t = _channel_tickets(["2024-03-01", "2024-03-20"], [None, None], channel=["chat", "chat"])
    old = [support_breakdown(t, by="channel", as_of="2024-03", older_than_days=n)
           ["open_longer_than"].iloc[0] for n in (10, 30)]
    assert old == [2, 0]


def test_a_support_breakdown_window_of_one_month_is_allowed():
    from csm_kit.support import support_breakdown

    # Window of one month to March: only t1 (closed in March) counts, not t0 (February).
    t = _channel_tickets(["2024-02-01", "2024-03-01"], ["2024-02-10", "2024-03-10"],
                         channel=["email", "email"])
    out = support_breakdown(t, by="channel", as_of="2024-03", window_months=1)
    assert out["closed"].tolist() == [1]


@pytest.mark.parametrize("window", [0, True, 2.5, "3"])
def test_a_support_breakdown_window_must_be_a_whole_number_of_months_from_1(window):
    from csm_kit.support import support_breakdown

    t = _channel_tickets(["2024-03-01"], ["2024-03-10"], channel=["email"])
    with pytest.raises(ConfigError, match=r"`window_months` must be a whole number >= 1, got "):
        support_breakdown(t, by="channel", as_of="2024-03", window_months=window)


def test_support_breakdown_without_closed_at_says_why_it_is_needed():
    from csm_kit.support import support_breakdown

    t = _channel_tickets(["2024-03-01"], [None], channel=["email"]).drop(columns="closed_at")
    with pytest.raises(ConfigError, match=r"^tickets has no closed_at column; resolution figures "
                                          r"need the time each ticket was closed$"):
        support_breakdown(t, by="channel")


def test_support_breakdown_by_a_customers_column_without_customers_names_the_tickets_table():
    from csm_kit.support import support_breakdown

    t = _channel_tickets(["2024-03-01"], ["2024-03-10"], channel=["email"])
    with pytest.raises(ConfigError, match=r"`by='segment'` is not a column of tickets; "
                                          r"pass customers="):
        support_breakdown(t, by="segment", as_of="2024-03")


def test_support_breakdown_default_month_is_the_last_complete_one_of_openings_and_closings():
    from csm_kit.support import support_breakdown

    # Latest date a closing: t0 opened 5 March, closed 30 April -> April is complete, the
    # window is February–April and t0 is in it (openings alone would end in February).
    by_closing = _channel_tickets(["2024-03-05"], ["2024-04-30"], channel=["email"])
    row = support_breakdown(by_closing, by="channel").iloc[0]
    assert (row["closed"], row["open"]) == (1, 0)
    # Latest date an opening: t1 closed 20 March, t2 opened 30 April and still open -> April;
    # t2 is open at the end of April (closings alone would end in February, before t2).
    by_opening = _channel_tickets(["2024-03-05", "2024-04-30"], ["2024-03-20", None],
                                  channel=["email", "email"])
    row = support_breakdown(by_opening, by="channel").iloc[0]
    assert (row["closed"], row["open"]) == (1, 1)


def test_support_breakdown_window_starts_at_the_first_instant_and_ends_before_the_next_month():
    from csm_kit.support import support_breakdown

    # Window February–March (as of March, 2 months), closings:
    #   t0 31 January 23:59 -> out;   t1 1 February 00:00 -> in;   t2 31 March 23:59 -> in;
    #   t3 1 April 00:00 -> out;      t4 15 April -> out.
    t = _channel_tickets(["2024-01-30"] * 5,
                         ["2024-01-31 23:59", "2024-02-01 00:00", "2024-03-31 23:59",
                          "2024-04-01 00:00", "2024-04-15"],
                         channel=["email"] * 5)
    out = support_breakdown(t, by="channel", as_of="2024-03", window_months=2)
    assert out["closed"].tolist() == [2]


def test_support_breakdown_by_segment_joins_customers_for_resolution_and_backlog():
    from csm_kit.support import support_breakdown

    # Customers c0, c1 are SMB, c2 Enterprise. March: t0 (SMB) closed with one contact,
    # t1 (SMB) with two -> FCR 1 of 2; t2 (Enterprise) open since 1 March -> 1 open, old.
    t = _channel_tickets(["2024-03-04", "2024-03-05", "2024-03-01"],
                         ["2024-03-04 10:00", "2024-03-06", None],
                         channel=["email"] * 3, contacts=[1, 2, 1])
    customers = pd.DataFrame({"customer_id": ["c0", "c1", "c2"],
                              "segment": ["SMB", "SMB", "Enterprise"]})
    out = support_breakdown(t, by="segment", customers=customers, as_of="2024-03",
                            window_months=1).set_index("segment")
    assert out.loc["SMB", ["closed", "first_contact", "fcr", "open"]].tolist() == [2, 1, 0.5, 0]
    assert out.loc["Enterprise", ["closed", "open", "open_longer_than"]].tolist() == [0, 1, 1]


def test_support_breakdown_gives_the_90th_percentile_of_hours_to_close():
    from csm_kit.support import support_breakdown

    # Closed after 1, 2 and 9 hours: p90 by linear interpolation, position 0.9 * 2 = 1.8 ->
    # 2 + 0.8 * (9 - 2) = 7.6 hours; median 2.
    start = pd.Timestamp("2024-03-04 08:00")
    t = _channel_tickets([start] * 3, [start + pd.Timedelta(hours=h) for h in (1, 2, 9)],
                         channel=["email"] * 3)
    row = support_breakdown(t, by="channel", as_of="2024-03").iloc[0]
    assert (row["median_hours"], row["p90_hours"]) == (2.0, pytest.approx(7.6))


def test_a_group_with_only_open_tickets_has_a_row_with_zero_closed_and_no_figures():
    from csm_kit.support import support_breakdown

    # chat: one ticket open since 1 March, nothing closed -> closed, resolved, first_contact 0
    # (whole numbers, like every count), FCR and hours NaN, 1 open (30 days old).
    # email: one ticket closed in March after 2 hours, nothing open.
    t = _channel_tickets(["2024-03-01", "2024-03-04 08:00"], [None, "2024-03-04 10:00"],
                         channel=["chat", "email"])
    out = support_breakdown(t, by="channel", as_of="2024-03").set_index("channel")
    assert out.loc["chat", ["closed", "resolved", "first_contact", "open",
                            "open_longer_than"]].tolist() == [0, 0, 0, 1, 1]
    assert out.loc["chat", ["fcr", "median_hours"]].isna().all()
    assert out.loc["email", ["closed", "open"]].tolist() == [1, 0]
    counts = ["closed", "resolved", "first_contact", "open", "open_longer_than"]
    assert (out[counts].dtypes == "int64").all()


def test_support_breakdown_keeps_tickets_without_a_channel_under_a_missing_group():
    from csm_kit.support import support_breakdown

    # t0 has no channel and was closed in March; t1 (email) too: each group has 1 closed.
    t = _channel_tickets(["2024-03-01", "2024-03-02"], ["2024-03-03", "2024-03-04"],
                         channel=[None, "email"])
    out = support_breakdown(t, by="channel", as_of="2024-03")
    assert out["closed"].tolist() == [1, 1]
    assert out["channel"].isna().sum() == 1
