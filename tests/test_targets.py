"""Targets: status against the goal and against the company's own trailing history."""

import pandas as pd
import pytest

from csm_kit.errors import ConfigError
from csm_kit.targets import load_targets, target_status


def kpis(metric, values, group=None):
    periods = [f"2024-{m:02d}" for m in range(1, len(values) + 1)]
    return pd.DataFrame({"metric": metric, "period": periods, "group": group, "value": values})


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
    row = target_status(kpis("nps", values)).iloc[0]
    assert row["trailing_median"] == 6.5
    assert row["vs_history"] == "better" and row["status"] == "no target"


def test_group_rows_are_not_judged_as_the_company():
    frame = pd.concat([kpis("csat", [0.9]), kpis("csat", [0.1], group="SMB")])
    assert target_status(frame)["value"].tolist() == [0.9]


@pytest.mark.parametrize(("raw", "message"), [
    ({"csat": {"direction": "higher_is_better"}}, "must be a mapping with a `target`"),
    ({"csat": {"target": 0.8, "direction": "up"}}, "must be one of"),
    ({"csat": {"target": "high"}}, "must be numbers"),
])
def test_a_bad_targets_file_says_what_is_wrong(raw, message):
    with pytest.raises(ConfigError, match=message):
        load_targets(raw)
