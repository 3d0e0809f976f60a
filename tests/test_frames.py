"""Fast stand-ins for pandas operations: same answers as pandas, whatever the input."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from csm_kit.frames import isin, positions

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


def test_positions_name_the_first_matching_key_and_minus_one_for_none():
    ids = pd.Series(["C2", "C9", "C1", None], dtype="str")
    keys = pd.Series(["C1", "C2", "C1", None], dtype="str")
    # C2 is key 1; C9 is no key; C1 is keys 0 and 2 (the first wins); missing finds missing
    assert positions(ids, keys).tolist() == [1, -1, 0, 3]


def test_positions_leave_ids_that_are_not_arrow_text_to_pandas():
    assert positions(pd.Series([1, 2]), pd.Series([2, 1])) is None
    assert positions(pd.Series(["a"], dtype="str"), pd.Series(["a"], dtype=object)) is None


@given(st.lists(TEXT, max_size=20), st.lists(TEXT, max_size=12))
def test_positions_agree_with_a_left_merge(values, keys):
    left = pd.DataFrame({"id": pd.Series(values, dtype="str")})
    right = pd.DataFrame({"id": pd.Series(keys, dtype="str")}).drop_duplicates("id")
    right["at"] = right.index
    expected = left.merge(right, on="id", how="left")["at"].fillna(-1).astype(int)
    assert positions(left["id"], pd.Series(keys, dtype="str")).tolist() == expected.tolist()
