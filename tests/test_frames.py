"""Fast stand-ins for pandas operations: same answers as pandas, whatever the input."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from csm_kit.frames import isin

TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "é", "", " a"]))
MEMBER = st.one_of(TEXT, st.just(float("nan")), st.just(pd.NA), st.integers(0, 3),
                   st.sampled_from(["zz", "a"]))


def test_isin_marks_the_values_found_among_the_members():
    ids = pd.Series(["C1", "C2", None, "C3"], dtype="str")
    assert isin(ids, {"C1", "C3"}).tolist() == [True, False, False, True]
    assert isin(ids, pd.Series(["C2"], dtype="str")).tolist() == [False, True, False, False]


@given(st.lists(TEXT, max_size=20), st.lists(MEMBER, max_size=8),
       st.sampled_from(["list", "text series", "object array"]))
def test_isin_answers_exactly_as_series_isin(values, members, kind):
    series = pd.Series(values, dtype="str")
    if kind == "text series":
        members = pd.Series([m for m in members if m is None or isinstance(m, str)], dtype="str")
    elif kind == "object array":
        members = np.array(members, dtype=object)
    expected = series.isin(members).to_numpy(dtype=bool)
    assert isin(series, members).tolist() == expected.tolist()


def test_isin_on_numbers_is_pandas_own():
    assert isin(pd.Series([1, 2, 3]), [2]).tolist() == [False, True, False]
