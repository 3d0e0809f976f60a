"""Targets and verdicts: status against the goal and the company's own history, noise-aware."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.targets import load_targets, target_status

LOWER = {"direction": "lower_is_better"}
HIGHER = {"direction": "higher_is_better"}
SURVEY = {"direction": "higher_is_better", "min_n": 30, "n_noun": "responses"}


def kpis(metric, values, group=None, **columns):
    periods = [f"2024-{m:02d}" if m <= 12 else f"2025-{m - 12:02d}" for m in range(1, len(values) + 1)]
    return pd.DataFrame({"metric": metric, "period": periods, "group": group, "value": values,
                         **columns})


def test_the_default_targets_are_the_source_documents():
    targets = load_targets()
    assert targets["logo_churn_rate"] == {"target": 0.05, "direction": "lower_is_better", "near": 0.1}
    assert targets["csat"]["target"] == 0.80


@pytest.mark.parametrize(("value", "status"), [
    (0.80, "met"),        # on target counts as met
    (0.85, "met"),
    (0.73, "near"),       # within 10% of 0.80 = 0.08 below
    (0.71, "missed"),
])
def test_csat_status_against_an_80_percent_target(value, status):
    assert target_status(kpis("csat", [value]))["status"].item() == status


@pytest.mark.parametrize(("value", "status"), [(0.05, "met"), (0.054, "near"), (0.06, "missed")])
def test_churn_status_is_mirrored_because_lower_is_better(value, status):
    # near band for a 5% target with near 0.10: up to 5.5%
    assert target_status(kpis("logo_churn_rate", [value]))["status"].item() == status


def test_the_benchmark_is_the_median_of_the_previous_twelve_months_only():
    # 14 months: the first is outside the window; previous 12 are 1..12 -> median 6.5
    values = [100.0] + [float(v) for v in range(1, 13)] + [7.0]
    row = target_status(kpis("nps", values), rules={"nps": HIGHER}).iloc[0]
    assert row["trailing_median"] == 6.5
    assert row["vs_history"] == "better" and row["status"] == "no target"


def test_a_lower_is_better_metric_without_a_target_that_rose_is_worse():
    # The sample case: gross MRR churn 1.47% against a median of 1.20% got worse.
    row = target_status(kpis("gross_mrr_churn", [0.012] * 12 + [0.0147]),
                        rules={"gross_mrr_churn": LOWER}).iloc[0]
    assert (row["vs_history"], row["status"]) == ("worse", "no target")


def test_without_a_direction_the_history_only_says_higher_or_lower():
    row = target_status(kpis("custom_metric", [1.0, 2.0]), targets={}).iloc[0]
    assert row["vs_history"] == "higher" and row["direction"] == ""


@pytest.mark.parametrize("n", [1, 2])
def test_a_figure_from_one_or_two_answers_is_never_met_or_missed(n):
    # CSAT 100% from n answers against the 80% target: not "met", but "too few".
    row = target_status(kpis("csat", [0.7, 1.0], n=[120, n], ci_low=[0.6, 0.2], ci_high=[0.8, 1.0]),
                        rules={"csat": SURVEY}).iloc[0]
    assert row["status"] == f"too few responses (n = {n})"
    assert row["noise"] == f"too few responses (n = {n})"
    assert row["status"] not in ("met", "near", "missed")


def test_the_minimum_n_itself_is_enough_for_a_verdict():
    row = target_status(kpis("csat", [0.9], n=[30]), rules={"csat": SURVEY}).iloc[0]
    assert row["status"] == "met" and row["noise"] == ""


def test_an_interval_covering_the_target_is_within_noise():
    # CSAT 78% with a 95% interval of 70%-85% cannot tell 80% apart: neither met nor near.
    row = target_status(kpis("csat", [0.78], n=[60], ci_low=[0.70], ci_high=[0.85])).iloc[0]
    assert row["status"] == "within noise"


def test_an_interval_covering_the_benchmark_marks_the_history_comparison_as_noise():
    # CES 2.73 (interval 2.43-3.03) against a median of 2.57: worse, but within noise.
    frame = kpis("ces", [2.57] * 12 + [2.73], n=[70] * 13, ci_low=[2.3] * 12 + [2.43],
                 ci_high=[2.9] * 12 + [3.03])
    row = target_status(frame, rules={"ces": {**LOWER, "min_n": 30}}).iloc[0]
    assert (row["vs_history"], row["noise"]) == ("worse", "within noise")


def test_the_change_is_against_the_period_before_the_latest():
    row = target_status(kpis("mrr", [100.0, 120.0, 150.0]), rules={"mrr": HIGHER}).iloc[0]
    assert (row["previous_period"], row["previous_value"], row["change"]) == ("2024-02", 120.0, 30.0)


def test_group_rows_are_not_judged_as_the_company():
    frame = pd.concat([kpis("csat", [0.9]), kpis("csat", [0.1], group="SMB")])
    assert target_status(frame)["value"].tolist() == [0.9]


def test_a_target_direction_that_contradicts_the_metric_is_an_error():
    targets = {"ces": {"target": 3.0, "direction": "higher_is_better", "near": 0.1}}
    with pytest.raises(ConfigError, match="says 'ces' is higher_is_better, but ces is lower_is_better"):
        target_status(kpis("ces", [2.5]), targets=targets, rules={"ces": LOWER})


def test_a_target_for_an_unknown_metric_needs_a_direction():
    with pytest.raises(ConfigError, match="needs a `direction`"):
        target_status(kpis("custom", [2.5]), targets=load_targets({"custom": {"target": 3}}))


@pytest.mark.parametrize(("raw", "message"), [
    ({"csat": {"direction": "higher_is_better"}}, "must be a mapping with a `target`"),
    ({"csat": {"target": 0.8, "direction": "up"}}, "must be one of"),
    ({"csat": {"target": "high"}}, "must be numbers"),
])
def test_a_bad_targets_file_says_what_is_wrong(raw, message):
    with pytest.raises(ConfigError, match=message):
        load_targets(raw)


values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=15)


@settings(max_examples=40, deadline=None)
@given(values)
def test_lower_is_better_is_higher_is_better_on_negated_values(series):
    lower = target_status(kpis("m", series), targets={}, rules={"m": LOWER}).iloc[0]
    higher = target_status(kpis("m", [-v for v in series]), targets={}, rules={"m": HIGHER}).iloc[0]
    assert lower["vs_history"] == higher["vs_history"]


@settings(max_examples=40, deadline=None)
@given(values, st.integers(0, 29))
def test_no_figure_below_the_minimum_n_is_met_near_or_missed(series, n):
    frame = kpis("csat", series, n=[n] * len(series))
    targets = {"csat": {"target": 0.8, "direction": None, "near": 0.1}}
    row = target_status(frame, targets=targets, rules={"csat": SURVEY}).iloc[0]
    assert row["status"] == f"too few responses (n = {n})"


def test_the_readme_shows_a_target_example_for_every_kpi():
    import re
    from pathlib import Path

    import yaml

    from csm_kit.kpis import KPIS, kpi_rules

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Targets and verdicts", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```yaml\n(.*?)```", section, flags=re.S).group(1)
    targets = load_targets(yaml.safe_load(example))
    assert set(targets) == {k.metric for k in KPIS}
    frame = pd.concat([kpis(m, [t["target"]]) for m, t in targets.items()])
    judged = target_status(frame, targets=targets, rules=kpi_rules())
    assert set(judged["status"]) == {"met"}  # every metric exactly on its target
