"""Event tables by period and group: the join, the as-of cut and the period labels."""

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csm_kit.errors import ConfigError
from csm_kit.grouping import group_keys, in_periods, with_group

EVENTS = pd.DataFrame({"customer_id": ["A", "B", "Z"],
                       "date": pd.to_datetime(["2024-01-31", "2024-02-15", "2024-03-02"]),
                       "agent": ["Kim", "Lee", "Kim"]})
CUSTOMERS = pd.DataFrame({"customer_id": ["A", "B"], "segment": ["SMB", "Enterprise"]})


def test_a_column_the_table_has_is_used_as_it_is():
    assert with_group(EVENTS, "agent", None, table="surveys") is EVENTS


def test_a_customers_column_is_joined_and_unknown_customers_keep_a_missing_group():
    grouped = with_group(EVENTS, "segment", CUSTOMERS, table="surveys")
    assert grouped["segment"].tolist()[:2] == ["SMB", "Enterprise"]
    assert pd.isna(grouped["segment"].iloc[2]) and len(grouped) == 3  # Z kept, not dropped


ID = st.sampled_from(["A", "B", "C", "D", "é"])
GROUP_COLUMNS = {  # a group column of each kind a customers table can hold
    "text": st.sampled_from(["SMB", "Enterprise", None]),
    "integer": st.integers(0, 3),
    "flag": st.booleans(),
    "number": st.one_of(st.floats(0, 9, allow_nan=False), st.just(float("nan"))),
}


@given(st.lists(ID, max_size=15), st.lists(st.tuples(ID, st.data()), max_size=6),
       st.sampled_from(sorted(GROUP_COLUMNS)), st.integers(0, 5))
def test_the_joined_group_is_the_left_merge_of_the_first_customer_row(ids, rows, kind, shift):
    """Whatever the ids (unknown, repeated in customers) and the group column's type, the
    Arrow lookup gives the frame ``merge`` gives: rows in order, a fresh index, the group
    of the customer's first row, missing (and the merge's dtype) where none."""
    events = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "n": range(len(ids))},
                          index=pd.RangeIndex(len(ids)) + shift)
    customers = pd.DataFrame({"customer_id": pd.Series([i for i, _ in rows], dtype="str"),
                              "group": [d.draw(GROUP_COLUMNS[kind]) for _, d in rows]})
    if kind == "text":
        customers["group"] = customers["group"].astype("str")
    expected = events.merge(customers.drop_duplicates("customer_id"), on="customer_id",
                            how="left")
    pd.testing.assert_frame_equal(with_group(events, "group", customers, table="surveys"),
                                  expected)


def test_ids_of_other_types_are_joined_by_pandas_which_refuses_a_mix():
    numbered = CUSTOMERS.assign(customer_id=[1, 2])
    events = EVENTS.assign(customer_id=[1, 2, 3])
    assert with_group(events, "segment", numbered, table="surveys")["segment"].tolist()[:2] == \
        ["SMB", "Enterprise"]
    with pytest.raises(ValueError, match="merge on"):
        with_group(EVENTS, "segment", numbered, table="surveys")


@pytest.mark.parametrize(("by", "customers", "message"), [
    ("segment", None, "pass customers="),
    ("region", CUSTOMERS, "neither a column of surveys nor of customers"),
    (["segment"], CUSTOMERS, "must be a column name or None"),
])
def test_a_group_that_cannot_be_found_says_how_to_fix_it(by, customers, message):
    with pytest.raises(ConfigError, match=message):
        with_group(EVENTS, by, customers, table="surveys")


def test_rows_after_the_as_of_month_are_left_out_and_the_rest_get_their_period():
    labelled = in_periods(EVENTS, "date", freq="M", as_of="2024-02-29")
    assert labelled["customer_id"].tolist() == ["A", "B"]
    assert labelled["period"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02"]


def test_without_as_of_the_last_complete_month_of_the_data_is_used():
    # latest date 2024-03-02: March is partial, so the data ends with February
    assert in_periods(EVENTS, "date", freq="Q", as_of=None)["period"].nunique() == 1


def test_group_keys_are_the_period_then_the_group():
    assert group_keys(None) == ["period"] and group_keys("csm") == ["period", "csm"]


# Every answer is dated in March 2024 and the latest is 15 March: March is not complete, so
# the default as-of month is February and every row falls after it.
ONLY_MARCH = pd.DataFrame({"response_id": ["r1", "r2"], "customer_id": ["A", "B"],
                           "date": pd.to_datetime(["2024-03-02", "2024-03-15"]),
                           "survey": "nps", "score": [9.0, 3.0]})


def test_a_default_as_of_that_leaves_out_every_row_warns_naming_the_month_and_the_fix():
    with pytest.warns(UserWarning, match=r"every date is in March 2024.*latest date "
                                         r"2024-03-15.*February 2024.*as_of=\"2024-03\""):
        kept = in_periods(ONLY_MARCH, "date", freq="M", as_of=None)
    assert kept.empty


def test_a_survey_metric_on_one_incomplete_month_warns_instead_of_returning_nothing_silently():
    from csm_kit.satisfaction import nps

    with pytest.warns(UserWarning, match="as_of=\"2024-03\""):
        assert nps(ONLY_MARCH).empty
    # passing the month as the warning says gives March's NPS: 1 promoter, 1 detractor -> 0
    assert nps(ONLY_MARCH, as_of="2024-03")["value"].tolist() == [0.0]


def test_no_warning_when_the_default_as_of_keeps_some_rows_or_as_of_is_given():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(in_periods(EVENTS, "date", freq="M", as_of=None)) == 2  # Jan, Feb kept
        assert in_periods(ONLY_MARCH, "date", freq="M", as_of="2024-02").empty
