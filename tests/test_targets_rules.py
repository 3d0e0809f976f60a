"""Targets and verdicts, the finer rules: file errors, `near`, CES direction, interval edges,
the n rule's defaults, the history words and the shape of the table (issue #17 survivors).

Every expected value below is worked out by hand from the rules in csm_kit/targets.py's
docstrings; the comment next to each says how.
"""

import math

import pandas as pd
import pytest

from csm_kit.data.survey_settings import survey_settings
from csm_kit.errors import ConfigError
from csm_kit.targets import load_targets, target_status

HIGHER = {"direction": "higher_is_better"}
LOWER = {"direction": "lower_is_better"}


def kpis(metric, values, group=None, **columns):
    periods = [f"2024-{m:02d}" for m in range(1, len(values) + 1)]
    return pd.DataFrame({"metric": metric, "period": periods, "group": group, "value": values,
                         **columns})


def goal(target, direction="higher_is_better", near=0.1):
    return {"target": target, "direction": direction, "near": near}


# --- load_targets -------------------------------------------------------------------------

def test_a_missing_targets_file_is_named_as_the_targets_file(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=r"^targets file .*missing\.yaml does not exist$"):
        load_targets(missing)


def test_the_near_band_written_in_the_file_is_kept():
    # near 0.25 is written, so it replaces the 0.10 default.
    assert load_targets({"nps": {"target": 30, "near": 0.25}})["nps"] == {
        "target": 30.0, "direction": None, "near": 0.25}


def test_a_ces_target_without_a_direction_takes_the_survey_settings_direction():
    # Default CES: a low score means little effort, so lower is better; a high-is-easy
    # survey makes it higher_is_better. Writing the matching direction is accepted.
    assert load_targets({"ces": {"target": 3}})["ces"]["direction"] == "lower_is_better"
    high = survey_settings(ces_direction="high")
    assert load_targets({"ces": {"target": 5}}, survey_settings=high)["ces"]["direction"] \
        == "higher_is_better"
    written = {"ces": {"target": 3, "direction": "lower_is_better"}}
    assert load_targets(written)["ces"]["direction"] == "lower_is_better"


def test_a_ces_direction_against_the_survey_settings_is_an_error():
    with pytest.raises(ConfigError, match="the ces target says higher_is_better"):
        load_targets({"ces": {"target": 3, "direction": "higher_is_better"}})


# --- which rows are judged, and the table's shape ------------------------------------------

def test_an_empty_group_string_is_a_company_row():
    # group "" means company-wide, like a missing group: the row is judged.
    frame = kpis("nps", [10.0, 20.0], group="")
    row = target_status(frame, targets={}, rules={"nps": HIGHER})
    assert row["value"].tolist() == [20.0]


def test_with_no_company_rows_the_table_is_empty_but_keeps_its_columns():
    frame = kpis("csat", [0.9], group="SMB")
    judged = target_status(frame, targets={})
    assert judged.empty
    assert list(judged.columns) == [
        "metric", "period", "value", "n", "ci_low", "ci_high", "target", "direction",
        "status", "trailing_median", "vs_history", "noise", "previous_period",
        "previous_value", "change"]


def test_the_latest_interval_is_reported_as_given():
    # The latest period's ci_low/ci_high (0.70, 0.90) come through unchanged.
    frame = kpis("csat", [0.5, 0.8], n=[40, 50], ci_low=[0.4, 0.70], ci_high=[0.6, 0.90])
    row = target_status(frame, targets={}, rules={"csat": HIGHER}).iloc[0]
    assert (row["ci_low"], row["ci_high"], row["n"]) == (0.70, 0.90, 50.0)


def test_a_count_metric_with_one_period_has_no_benchmark():
    # One period of a nullable-integer metric: nothing before it, so no median and no
    # history word (the empty history must not be asked for its median).
    frame = kpis("active_customers", pd.array([5], dtype="Int64"))
    row = target_status(frame, targets={}, rules={"active_customers": HIGHER}).iloc[0]
    assert math.isnan(row["trailing_median"])
    assert (row["value"], row["vs_history"], row["noise"]) == (5.0, "", "")


# --- the n rule's defaults -----------------------------------------------------------------

def test_without_a_minimum_n_even_zero_answers_get_a_verdict():
    # min_n defaults to 0, and 0 >= 0: CSAT 0.9 against 0.8 is simply met.
    frame = kpis("csat", [0.9], n=[0])
    assert target_status(frame, rules={"csat": HIGHER})["status"].item() == "met"
    explicit = target_status(frame, rules={"csat": {**HIGHER, "min_n": 0}})
    assert explicit["status"].item() == "met"


def test_too_few_says_responses_when_the_rule_names_no_noun():
    frame = kpis("csat", [0.9], n=[3])
    row = target_status(frame, rules={"csat": {**HIGHER, "min_n": 30}}).iloc[0]
    assert row["status"] == "too few responses (n = 3)"


def test_too_few_uses_the_rules_noun():
    frame = kpis("logo_churn_rate", [0.02], n=[4])
    rule = {**LOWER, "min_n": 10, "n_noun": "accounts"}
    row = target_status(frame, rules={"logo_churn_rate": rule}).iloc[0]
    assert row["status"] == "too few accounts (n = 4)"


# --- interval edges and the near band edge -------------------------------------------------

def test_an_interval_whose_lower_end_is_the_target_is_within_noise():
    # 0.85 in [0.80, 0.90] against the 0.80 target: 0.80 <= 0.80 <= 0.90 covers it.
    frame = kpis("csat", [0.85], n=[100], ci_low=[0.80], ci_high=[0.90])
    assert target_status(frame, rules={"csat": HIGHER})["status"].item() == "within noise"


def test_an_interval_whose_upper_end_is_the_target_is_within_noise():
    # 0.75 in [0.70, 0.80] against the 0.80 target: the upper end touches it.
    frame = kpis("csat", [0.75], n=[100], ci_low=[0.70], ci_high=[0.80])
    assert target_status(frame, rules={"csat": HIGHER})["status"].item() == "within noise"


def test_an_interval_whose_ends_are_the_benchmark_marks_the_history_as_noise():
    # Median of the earlier periods: 2.0. Latest 2.5 in [2.0, 3.0] and 1.5 in [1.0, 2.0].
    for latest, low, high in [(2.5, 2.0, 3.0), (1.5, 1.0, 2.0)]:
        frame = kpis("nps", [2.0, 2.0, latest], ci_low=[0.0, 0.0, low], ci_high=[9.0, 9.0, high])
        row = target_status(frame, targets={}, rules={"nps": HIGHER}).iloc[0]
        assert row["noise"] == "within noise"


@pytest.mark.parametrize(("metric_rule", "value", "target", "near"), [
    (HIGHER, 75.0, 100.0, 0.25),   # 25 below 100; near band 0.25 x 100 = 25 exactly
    (LOWER, 6.0, 4.0, 0.5),        # 2 above 4 (lower is better); band 0.5 x 4 = 2 exactly
])
def test_a_miss_exactly_at_the_edge_of_the_near_band_is_near(metric_rule, value, target, near):
    targets = {"m": goal(target, metric_rule["direction"], near)}
    row = target_status(kpis("m", [value]), targets=targets, rules={"m": metric_rule}).iloc[0]
    assert row["status"] == "near"


# --- the history words ---------------------------------------------------------------------

def test_a_latest_value_equal_to_the_benchmark_is_the_same():
    # Earlier 4, 6 -> median 5; latest 5 is the same, whatever the direction.
    for rule in (HIGHER, LOWER, {}):
        row = target_status(kpis("m", [4.0, 6.0, 5.0]), targets={}, rules={"m": rule}).iloc[0]
        assert row["vs_history"] == "same"


def test_without_a_direction_a_fall_is_lower():
    # 2 -> 1 with no known direction: only "lower" can be said.
    row = target_status(kpis("custom_metric", [2.0, 1.0]), targets={}).iloc[0]
    assert (row["vs_history"], row["direction"]) == ("lower", "")


def test_a_single_period_has_no_history_word():
    row = target_status(kpis("nps", [30.0]), targets={}, rules={"nps": HIGHER}).iloc[0]
    assert row["vs_history"] == ""
    assert math.isnan(row["trailing_median"])
