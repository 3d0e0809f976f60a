"""The report context: parameters in, a filtered dataset and settled as-of month out."""

import pandas as pd
import pytest

from csm_kit.errors import ConfigError
from csm_kit.report.context import open_report


def test_the_as_of_defaults_to_the_last_complete_month(good_folder):
    ctx = open_report(str(good_folder))
    assert ctx.as_of == pd.Timestamp("2024-02-01")
    assert ctx.as_of_end == pd.Timestamp("2024-02-29")


def test_an_explicit_as_of_is_read_as_its_month(good_folder):
    ctx = open_report(str(good_folder), as_of="2024-05-17", months=3)
    assert ctx.as_of == pd.Timestamp("2024-05-01")
    assert ctx.first_month == pd.Timestamp("2024-03-01")


def test_a_segment_filter_keeps_that_segments_customers_and_their_rows(good_folder):
    ctx = open_report(str(good_folder), segment="SMB")
    assert ctx.dataset.customers["customer_id"].tolist() == ["00123"]
    assert ctx.dataset.subscriptions["customer_id"].tolist() == ["00123"]
    assert ctx.scope == "segment SMB"


def test_an_unknown_segment_lists_the_segments_there_are(good_folder):
    with pytest.raises(ConfigError, match=r"segment must be one of \['Enterprise', 'SMB'\], got 'Mid'"):
        open_report(str(good_folder), segment="Mid")


def test_absent_tables_are_known_and_explained(good_folder):
    ctx = open_report(str(good_folder))
    assert ctx.has("subscriptions") and not ctx.has("renewals")
    assert ctx.missing("renewals") == "No renewals table in this dataset, so this section is skipped."


def test_recent_keeps_the_history_window(good_folder):
    ctx = open_report(str(good_folder), as_of="2024-03-31", months=2)
    frame = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])})
    assert ctx.recent(frame)["month"].dt.month.tolist() == [2, 3]


def test_months_must_be_a_positive_whole_number(good_folder):
    with pytest.raises(ConfigError, match="months must be a whole number"):
        open_report(str(good_folder), months=0)


def test_a_section_whose_table_is_absent_says_so_once(good_folder, monkeypatch):
    shown = []
    monkeypatch.setattr("csm_kit.report.context._display_note", shown.append)
    ctx = open_report(str(good_folder))
    assert ctx.section("subscriptions") is True
    assert ctx.section("renewals") is False
    assert ctx.section("renewals") is False
    assert shown == ["No renewals table in this dataset, so this section is skipped."]


def test_a_section_needing_a_customers_column_checks_it(good_folder, monkeypatch):
    monkeypatch.setattr("csm_kit.report.context._display_note", lambda text: None)
    ctx = open_report(str(good_folder))
    assert ctx.section("subscriptions", column="csm") is True
    assert ctx.section("subscriptions", column="industry") is False
    assert ctx.segment_column == "segment"


def test_a_section_can_need_a_column_of_another_table(good_folder):
    ctx = open_report(str(good_folder))
    assert ctx.has_column("tickets.closed_at") and not ctx.has_column("tickets.agent")
    assert not ctx.has_column("usage.key_feature_users")  # no usage table at all


def test_complete_keeps_only_quarters_that_have_ended(good_folder):
    ctx = open_report(str(good_folder), as_of="2024-05-31")
    frame = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-04-01"]), "v": [1, 2]})
    assert ctx.complete(frame)["v"].tolist() == [1]  # April–June is not over at the end of May
    assert ctx.complete(frame, freq="M")["v"].tolist() == [1, 2]


def test_hidden_small_groups_are_counted_in_a_note(good_folder, monkeypatch):
    shown = []
    monkeypatch.setattr("csm_kit.report.context._display_note", shown.append)
    ctx = open_report(str(good_folder), privacy="aggregate", min_group_size=3)
    # Segments A (3 customers), B (1) and C (2): B and C are below 3, so two groups go.
    scores = pd.DataFrame({"customer_id": list("abcdef"), "segment": list("AAABCC")})
    kept = ctx.small_groups_hidden(scores, by="segment")
    assert kept["segment"].unique().tolist() == ["A"]
    # Rows counting their own members: only the 2 is below 3, so one row goes.
    counts = pd.DataFrame({"band": ["red", "green"], "customers": [4, 2]})
    assert ctx.small_groups_hidden(counts, n="customers")["band"].tolist() == ["red"]
    assert shown == ["2 groups with fewer than 3 members not shown (privacy: aggregate).",
                     "1 row with fewer than 3 members not shown (privacy: aggregate)."]
    shown.clear()
    assert len(ctx.small_groups_hidden(scores.iloc[:3], by="segment")) == 3 and shown == []
