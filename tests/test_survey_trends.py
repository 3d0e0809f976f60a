"""Survey figures over time: NPS changes with their test, and other surveys' score trends."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.satisfaction import nps_change
from csm_kit.survey_trends import nps_changes, survey_scores
from tests.test_satisfaction import responses


def test_nps_changes_compare_each_month_with_the_one_before():
    # January: 10, 10, 0, 5 -> (2 − 2) / 4 = 0. February: 10, 9, 9, 8 -> 3/4 = 75.
    # March: no answers. April: 0 -> −100 (no March to compare with: no row for April).
    data = responses([10, 10, 0, 5, 10, 9, 9, 8, 0],
                     dates=["2024-01-05"] * 4 + ["2024-02-10"] * 4 + ["2024-04-30"])
    out = nps_changes(data)
    assert out["period"].tolist() == [pd.Timestamp("2024-02-01")]
    row = out.iloc[0]
    assert (row["previous_nps"], row["nps"], row["value"]) == (0.0, 75.0, 75.0)
    assert (row["previous_n"], row["n"]) == (4, 4)
    # The same numbers as the two-period test.
    test = nps_change(data, a="2024-01", b="2024-02", as_of="2024-04")
    assert (row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx(
        (test.ci_low, test.ci_high, test.p_value))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=2, max_size=40),
       st.lists(st.integers(0, 10), min_size=2, max_size=40))
def test_an_nps_change_is_significant_exactly_when_its_interval_excludes_zero(first, second):
    data = responses(first + second, dates=["2024-01-10"] * len(first) + ["2024-02-10"] * len(second))
    row = nps_changes(data, as_of="2024-02").iloc[0]
    excludes_zero = row["ci_low"] > 0 or row["ci_high"] < 0
    assert excludes_zero == bool(row["significant"]) or abs(row["p_value"] - 0.05) < 1e-9


def test_survey_scores_need_a_declared_scale():
    data = responses([4, 5], survey="review", dates="2024-01-31")
    with pytest.raises(ConfigError, match="--survey-scales review=1-5"):
        survey_scores(data, survey="review")
    assert survey_scores(data).empty  # nothing declared: no other survey to show
