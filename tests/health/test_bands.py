"""Band cut-offs read from a churn history: red where churn is three times the average."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.health.bands import suggest_bands


def test_suggested_red_band_is_the_riskiest_scores_churning_at_three_times_the_average():
    # churners score 10 and 50 of ten (20%). Below 20: {10}, 100% >= 60% -> red; below 21
    # adds 20 (50%) and below 31 adds 30 (33%) -> red stops at 20. From 20 up to below 80:
    # {20, 30, 50, 60, 70} one churner in five = 20% >= 20%; adding 80 gives 1/6 -> yellow 80
    bands = suggest_bands([10, 20, 30, 50, 60, 70, 80, 90, 95, 99],
                          [True, False, False, True] + [False] * 6)
    assert bands == {"red": 20, "yellow": 80}


def test_suggested_distress_bands_read_from_the_top():
    # distress: churners at 95 and 99 of ten (20%); at or above 81: {90, 95, 99} 2/3 >= 60%;
    # at or above 80 adds 80 -> 2/4 = 50% -> red from 81; nothing below churns -> yellow = red
    bands = suggest_bands([10, 20, 30, 50, 60, 70, 80, 90, 95, 99], [False] * 8 + [True] * 2,
                          kind="distress")
    assert bands == {"red": 81, "yellow": 81}


def test_without_churners_nobody_is_suggested_red():
    assert suggest_bands([10, 50], [False, False]) == {"red": 0, "yellow": 0}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=1, max_size=60))
def test_the_suggested_red_band_churns_at_three_times_the_average_or_is_empty(rows):
    scores, churned = (np.array(v) for v in zip(*rows, strict=True))
    bands = suggest_bands(scores, churned)
    red = scores < bands["red"]
    assert bands["red"] <= bands["yellow"] <= 100
    if red.any():
        assert churned[red].mean() >= 3 * churned.mean() - 1e-12
