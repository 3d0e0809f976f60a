"""Month arithmetic on frames: integer month indices, one row per month, dense month grids.

A month is an integer index ``year * 12 + month - 1`` (:mod:`csm_kit.periods` does the same
for pandas dates and Series); this module does it for whole frames, on any engine:

- :func:`month_starts` turns month indices into first-of-month ``datetime64[ns]`` values;
- :func:`with_month` adds the ``month`` timestamp of a month-index column, on the frame's own
  backend (numpy on eager frames, the backend's date function on lazy ones);
- :func:`expand_months` turns month intervals into one row per month, with ``numpy.repeat``
  on eager frames and the backend's own range-unnest (DuckDB, Polars, Spark) on lazy ones;
- :func:`month_grid` and :func:`scatter_sum` lay small aggregated results on a dense
  month (x group) grid in pandas, so months without activity show as zeros.

Where the frames live and how they move between backends is :mod:`csm_kit.engine`'s job.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit.engine import native_like

_EPOCH_MONTH_INDEX = 1970 * 12  # month index of 1970-01, numpy's datetime64[M] origin


def month_starts(index: np.ndarray) -> np.ndarray:
    """First-of-month ``datetime64[ns]`` values for integer month indices (``year*12+month-1``).

    >>> month_starts(np.array([24288, 24290])).astype(str).tolist()
    ['2024-01-01T00:00:00.000000000', '2024-03-01T00:00:00.000000000']
    """
    index = np.asarray(index, dtype="int64")
    if len(index) > 1000 and index.max() - index.min() < len(index):
        # Converting months to nanoseconds is a calendar computation per value; on long
        # arrays look the few distinct months up in a small table instead (~9x faster).
        low = index.min()
        table = month_starts(np.arange(low, index.max() + 1)).view("int64")
        return np.take(table, index - low).view("datetime64[ns]")
    months = (index - _EPOCH_MONTH_INDEX).astype("datetime64[M]")
    return months.astype("datetime64[ns]")


def expand_months(frame, first: str, last: str):
    """One row per month index from column ``first`` to ``last`` (inclusive) of every row.

    Adds ``month_index`` (int64) and ``month`` (first day of the month). Eager frames are
    expanded with ``numpy.repeat`` (no cross join is materialised, row order kept); lazy
    frames with the backend's range-unnest (DuckDB ``unnest(range())``, Polars
    ``int_ranges().explode()``, Spark ``explode(sequence())``). Rows with ``last < first``
    disappear; the columns ``first`` and ``last`` are dropped.

    >>> spans = nw.from_native(pd.DataFrame({"id": ["a", "b"], "lo": [24288, 24290],
    ...                                      "hi": [24289, 24290]}), eager_only=True)
    >>> expand_months(spans, "lo", "hi")["month"].dt.month().to_list()
    [1, 2, 3]
    """
    if isinstance(frame, nw.DataFrame):
        return _expand_eager(frame, first, last)
    native, impl = frame.to_native(), frame.implementation
    if impl is nw.Implementation.DUCKDB:
        sql = f'select *, unnest(range("{first}", "{last}" + 1)) as month_index from _csm_span'
        expanded = nw.from_native(native.query("_csm_span", sql))
    elif impl is nw.Implementation.POLARS:
        import polars as pl

        index = pl.int_ranges(pl.col(first), pl.col(last) + 1, dtype=pl.Int64)
        expanded = native.with_columns(month_index=index).explode("month_index")
        expanded = nw.from_native(expanded.filter(pl.col("month_index").is_not_null()))
    elif impl is nw.Implementation.PYSPARK:
        from pyspark.sql import functions as F

        index = F.explode(F.sequence(F.col(first).cast("long"), F.col(last).cast("long")))
        expanded = nw.from_native(
            native.filter(F.col(last) >= F.col(first)).withColumn("month_index", index))
    else:
        expanded = _expand_by_join(frame, first, last)
    return with_month(expanded.drop(first, last))


def _expand_by_join(frame, first: str, last: str):
    """Any other lazy backend: a cross join with a month calendar, kept where it falls in the span."""
    calendar = _month_calendar(frame, first, last).select("month_index")
    return frame.join(calendar, how="cross").filter(
        nw.col("month_index").is_between(nw.col(first), nw.col(last)))


def with_month(frame, index: str = "month_index"):
    """Add ``month`` (first day of the month, a timestamp) computed from the month ``index`` column.

    >>> frame = nw.from_native(pd.DataFrame({"month_index": [24288, 24299]}), eager_only=True)
    >>> with_month(frame)["month"].dt.to_string("%Y-%m").to_list()
    ['2024-01', '2024-12']
    """
    impl = frame.implementation
    if isinstance(frame, nw.DataFrame):
        months = month_starts(frame[index].to_numpy())
        return frame.with_columns(nw.new_series("month", months, nw.Datetime("ns"), backend=impl))
    native = frame.to_native()
    if impl is nw.Implementation.DUCKDB:
        month = (f'make_date(("{index}" // 12)::INTEGER, ("{index}" % 12 + 1)::INTEGER, 1)'
                 "::TIMESTAMP as month")
        return nw.from_native(native.query("_csm_month", f"select *, {month} from _csm_month"))
    if impl is nw.Implementation.POLARS:
        import polars as pl

        month = pl.date(pl.col(index) // 12, pl.col(index) % 12 + 1, 1).cast(pl.Datetime("ns"))
        return nw.from_native(native.with_columns(month=month))
    if impl is nw.Implementation.PYSPARK:
        from pyspark.sql import functions as F

        month = F.expr(f"make_date(cast(`{index}` div 12 as int), cast(`{index}` % 12 + 1 as int), 1)")
        return nw.from_native(native.withColumn("month", month.cast("timestamp_ntz")))
    return _month_by_join(frame, index)


def _month_by_join(frame, index: str):
    """Any other lazy backend: ``month`` looked up in a calendar of the frame's months."""
    calendar = _month_calendar(frame, index, index).rename({"month_index": index})
    return frame.join(calendar, on=index, how="left")


def _expand_eager(frame, first: str, last: str):
    lo = frame[first].to_numpy().astype("int64")
    lengths = np.clip(frame[last].to_numpy().astype("int64") - lo + 1, 0, None)
    starts = np.cumsum(lengths) - lengths
    # int32 row numbers make the gathers below several times faster than int64 ones.
    rows = np.repeat(np.arange(len(frame), dtype="int32" if len(frame) < 2**31 else "int64"),
                     lengths)
    index = np.arange(len(rows), dtype="int64") + np.repeat(lo - starts, lengths)
    impl = frame.implementation
    out = frame.drop(first, last)[rows]
    if impl is nw.Implementation.PANDAS:
        out = nw.from_native(out.to_native().reset_index(drop=True), eager_only=True)
    return out.with_columns(
        nw.new_series("month_index", index, nw.Int64, backend=impl),
        nw.new_series("month", month_starts(index), nw.Datetime("ns"), backend=impl),
    )


def _month_calendar(like, first: str, last: str):
    """A calendar (``month_index``, ``month``) covering ``first``..``last`` of ``like``."""
    bounds = like.select(nw.col(first).min().alias("lo"), nw.col(last).max().alias("hi"))
    bounds = bounds.collect(backend="pyarrow") if isinstance(bounds, nw.LazyFrame) else bounds
    low, high = bounds["lo"][0], bounds["hi"][0]
    if low is None or high is None or high < low:
        low, high = 0, -1
    index = np.arange(int(low), int(high) + 1, dtype="int64")
    calendar = pd.DataFrame({"month_index": index, "month": month_starts(index)})
    return native_like(calendar, like)


def month_grid(table: pd.DataFrame, as_of_index: int, by: str | None = None):
    """A dense month (x group) grid for small aggregated tables, and where each row lands.

    Returns ``(grid, positions)``: ``grid`` has month_index (from the table's first month to
    ``as_of_index``) and [by] (sorted, missing last), month-major; ``positions[i]`` is the grid
    row of ``table`` row i. Scatter values with :func:`scatter_sum`.

    >>> table = pd.DataFrame({"month_index": [24289, 24288], "csm": ["b", "a"], "n": [5, 7]})
    >>> grid, positions = month_grid(table, 24289, "csm")
    >>> grid.assign(n=scatter_sum(len(grid), positions, table["n"])).values.tolist()
    [[24288, 'a', 7], [24288, 'b', 0], [24289, 'a', 0], [24289, 'b', 5]]
    """
    first = int(table["month_index"].min()) if len(table) else as_of_index + 1
    months = np.arange(first, as_of_index + 1, dtype="int64")
    if by:
        codes, labels = pd.factorize(table[by], sort=True, use_na_sentinel=False)
    else:
        codes, labels = np.zeros(len(table), dtype="int64"), pd.Index([None])
    positions = (table["month_index"].to_numpy(dtype="int64") - first) * len(labels) + codes
    grid = pd.DataFrame({"month_index": np.repeat(months, len(labels))})
    if by:
        grid[by] = labels.take(np.tile(np.arange(len(labels)), len(months)))
    return grid, positions


def scatter_sum(size: int, positions: np.ndarray, values) -> np.ndarray:
    """Sum ``values`` into an int64 array of ``size`` cells at ``positions``."""
    out = np.zeros(size, dtype="int64")
    np.add.at(out, positions, np.asarray(values, dtype="int64"))
    return out
