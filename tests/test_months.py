"""Month arithmetic on frames: month timestamps and one row per month, on every backend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csm_kit.engine import to_engine, to_pandas
from csm_kit.months import expand_months, month_starts


@pytest.mark.parametrize("backend", ["pandas", "polars", "duckdb"])
def test_expand_months_gives_one_row_per_month_of_each_span(backend):
    spans = pd.DataFrame({"customer_id": ["a", "b", "c"], "lo": [24288, 24290, 24291],
                          "hi": [24289, 24290, 24290]})  # a: Jan–Feb 2024, b: Mar, c: none
    frame = to_engine(spans, backend)
    frame = frame.lazy() if backend == "polars" else frame
    out = to_pandas(expand_months(frame, "lo", "hi")).sort_values(["customer_id", "month_index"])
    assert out["customer_id"].tolist() == ["a", "a", "b"]
    assert out["month"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02", "2024-03"]


def test_month_starts_is_the_same_through_the_lookup_table_and_the_calendar():
    index = np.repeat(np.arange(23990, 24400), 5)  # long enough for the lookup table
    expected = (index - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")
    np.testing.assert_array_equal(month_starts(index), expected)


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_the_join_fallback_for_other_lazy_backends_matches_the_backends_own_route(backend):
    # The cross-join route is plain narwhals, taken by lazy backends with no range-unnest of
    # their own (e.g. Dask); run here on DuckDB and Polars, it must give what their own route
    # gives: a Jan–Feb 2024, b Mar 2024, c nothing (its span ends before it starts).
    from csm_kit.months import _expand_by_join, _month_by_join

    spans = pd.DataFrame({"customer_id": ["a", "b", "c"], "lo": [24288, 24290, 24291],
                          "hi": [24289, 24290, 24290]})
    frame = to_engine(spans, backend)
    frame = frame.lazy() if backend == "polars" else frame
    out = to_pandas(_month_by_join(_expand_by_join(frame, "lo", "hi").drop("lo", "hi"),
                                   "month_index"))
    out = out.sort_values(["customer_id", "month_index"])
    assert out["customer_id"].tolist() == ["a", "a", "b"]
    assert out["month_index"].tolist() == [24288, 24289, 24290]
    assert out["month"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01", "2024-03-01"]


def test_the_join_fallback_with_no_spans_gives_no_rows():
    from csm_kit.months import _expand_by_join

    spans = pd.DataFrame({"customer_id": pd.Series([], dtype="str"),
                          "lo": pd.Series([], dtype="int64"), "hi": pd.Series([], dtype="int64")})
    out = to_pandas(_expand_by_join(to_engine(spans, "duckdb"), "lo", "hi"))
    assert len(out) == 0
