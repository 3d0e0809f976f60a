"""Where the revenue engine runs: pandas, Polars or DuckDB, through one narwhals code path.

The heavy row-level transforms (subscriptions → customer-months, MRR movements, cohorts) are
written once with narwhals. This module is the small glue around them:

- :func:`choose_engine` is the one place that decides which backend a call runs on;
- :func:`to_engine` hands a native frame (pandas, Polars, a DuckDB relation) to narwhals on
  that backend, converting through Arrow when the backend changes;
- :func:`to_pandas` collects a (lazy) result into a pandas frame that follows the kit's data
  conventions (string ids, ``datetime64[ns]`` months) — small outputs always come back so;
- :func:`like_input` returns a row-level result in the caller's own type (pandas in → pandas
  out, Polars in → Polars out, DuckDB relation in → DuckDB relation out);
- :func:`expand_months` turns month intervals into one row per month, with ``numpy.repeat``
  on eager frames and a cross join with a month calendar on lazy ones;
- :func:`require_columns` and :func:`attach_group` check inputs and join a customer attribute;
- :func:`month_grid` and :func:`scatter_sum` lay small aggregated results on a dense
  month (x group) grid in pandas, so months without activity show as zeros.
"""

from __future__ import annotations

import duckdb
import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from csm_kit.errors import ConfigError, DataContractError

ENGINES = ("pandas", "polars", "duckdb")
_EPOCH_MONTH_INDEX = 1970 * 12  # month index of 1970-01, numpy's datetime64[M] origin


def backend_of(native) -> str:
    """Name the backend of a native frame: ``"pandas"``, ``"polars"``, ``"duckdb"``, ...

    >>> backend_of(pd.DataFrame({"a": [1]}))
    'pandas'
    """
    return nw.from_native(native).implementation.name.lower()


def choose_engine(native, engine: str | None = None) -> str:
    """Decide which backend runs a transform of ``native`` (the only place that decides).

    ``engine=None`` runs on the input's own backend; ``"pandas"``, ``"polars"`` or ``"duckdb"``
    force one. (A later version will route large pandas inputs to DuckDB here.)

    >>> choose_engine(pd.DataFrame({"a": [1]}))
    'pandas'
    >>> choose_engine(pd.DataFrame({"a": [1]}), "duckdb")
    'duckdb'
    """
    if engine is None:
        return backend_of(native)
    if engine not in ENGINES:
        raise ConfigError(f"`engine` must be one of {[None, *ENGINES]}, got {engine!r}")
    return engine


def to_engine(native, engine: str | None = None):
    """Wrap ``native`` as a narwhals frame on the backend :func:`choose_engine` picks.

    >>> frame = to_engine(pd.DataFrame({"a": [1, 2]}), "polars")
    >>> type(frame.to_native()).__name__
    'DataFrame'
    """
    frame = nw.from_native(native)
    target = choose_engine(native, engine)
    if frame.implementation.name.lower() == target:
        return frame
    table = _to_arrow(frame)
    if target == "pandas":
        return nw.from_native(table.to_pandas(date_as_object=False), eager_only=True)
    if target == "polars":
        import polars as pl

        return nw.from_native(pl.from_arrow(table), eager_only=True)
    return nw.from_native(duckdb.from_arrow(table))


def _to_arrow(frame) -> pa.Table:
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect(backend="pyarrow")
    return frame.to_arrow()


def to_pandas(frame) -> pd.DataFrame:
    """Collect a narwhals frame into pandas with string ids and ``datetime64[ns]`` dates.

    >>> to_pandas(to_engine(pd.DataFrame({"customer_id": ["a"]}), "duckdb")).dtypes.iloc[0]
    <StringDtype(na_value=nan)>
    """
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect(backend="pandas")
    out = frame.to_native()
    if not isinstance(out, pd.DataFrame):
        out = frame.to_pandas()
    out = out.reset_index(drop=True)
    for col in out.columns:
        dtype = out[col].dtype
        if col.endswith("_id"):
            out[col] = out[col].astype("str")
        elif pd.api.types.is_datetime64_any_dtype(dtype) and dtype != "datetime64[ns]":
            out[col] = out[col].astype("datetime64[ns]")
    return out


def like_input(frame, native):
    """Return a row-level result in the type of the caller's input ``native``.

    pandas input gives a pandas frame (whatever engine ran it); a Polars or DuckDB input gives
    its own type back, still lazy when the input was lazy.
    """
    source = backend_of(native)
    if source == "pandas":
        return to_pandas(frame)
    if frame.implementation.name.lower() == source:
        return frame.to_native()
    out = to_engine(_to_arrow(frame), source)
    if isinstance(nw.from_native(native), nw.LazyFrame) and isinstance(out, nw.DataFrame):
        out = out.lazy()
    return out.to_native()


def require_columns(frame, table: str, columns) -> None:
    """Raise :class:`DataContractError` when ``frame`` lacks any of ``columns``.

    >>> require_columns(pd.DataFrame({"customer_id": []}), "subscriptions", ["customer_id", "mrr"])
    Traceback (most recent call last):
    ...
    csm_kit.errors.DataContractError: The data breaks the data contract (1 problem):
      - subscriptions has no column 'mrr'; ...
    """
    present = set(nw.from_native(frame).collect_schema().names())
    missing = [c for c in columns if c not in present]
    if not missing:
        return
    failures = pd.DataFrame({
        "table": table, "column": missing, "check": "column_in_dataframe", "severity": "error",
        "rows": 0, "examples": "",
        "message": [f"{table} has no column {c!r}; map it in the column mapping or add it"
                    for c in missing],
    })
    raise DataContractError(failures)


def attach_group(frame, customers: pd.DataFrame | None, by: str | None):
    """Left-join the customer attribute ``by`` (e.g. ``"csm"``) onto a frame with ``customer_id``.

    Group membership is the customer's *current* value in ``customers``; customers missing
    from ``customers`` get a null group. ``by=None`` returns the frame unchanged.
    """
    if by is None:
        return frame
    if customers is None:
        raise ConfigError(f"`customers` is required when `by` is given (by={by!r})")
    if not isinstance(by, str) or by not in customers.columns or by == "customer_id":
        options = [c for c in customers.columns if c != "customer_id"]
        raise ConfigError(f"`by` must be a column of customers (one of {options}), got {by!r}")
    groups = customers[["customer_id", by]].drop_duplicates("customer_id")
    groups = groups.assign(customer_id=groups["customer_id"].astype("str"))
    native = _native_like(groups, frame)
    return frame.join(native, on="customer_id", how="left")


def _native_like(data: pd.DataFrame, like):
    """A narwhals frame holding ``data`` on the backend (and DuckDB connection) of ``like``."""
    if like.implementation is nw.Implementation.DUCKDB:
        # A relation can only be joined with relations of its own connection.
        csm_rows = pa.Table.from_pandas(data, preserve_index=False)  # noqa: F841 (read by SQL)
        return nw.from_native(like.to_native().query("_csm_like", "select * from csm_rows"))
    converted = to_engine(data, like.implementation.name.lower())
    if isinstance(like, nw.LazyFrame) and isinstance(converted, nw.DataFrame):
        converted = converted.lazy()
    return converted


def month_starts(index: np.ndarray) -> np.ndarray:
    """First-of-month ``datetime64[ns]`` values for integer month indices (``year*12+month-1``).

    >>> month_starts(np.array([24288, 24290])).astype(str).tolist()
    ['2024-01-01T00:00:00.000000000', '2024-03-01T00:00:00.000000000']
    """
    months = (np.asarray(index, dtype="int64") - _EPOCH_MONTH_INDEX).astype("datetime64[M]")
    return months.astype("datetime64[ns]")


def expand_months(frame, first: str, last: str):
    """One row per month index from column ``first`` to ``last`` (inclusive) of every row.

    Adds ``month_index`` (int64) and ``month`` (first day of the month). Eager frames are
    expanded with ``numpy.repeat`` (no cross join is materialised); lazy frames are cross
    joined with a month calendar and filtered, which DuckDB and Polars plan as a range join.
    Rows with ``last < first`` disappear.

    >>> spans = nw.from_native(pd.DataFrame({"id": ["a", "b"], "lo": [24288, 24290],
    ...                                      "hi": [24289, 24290]}), eager_only=True)
    >>> expand_months(spans, "lo", "hi")["month"].dt.month().to_list()
    [1, 2, 3]
    """
    if isinstance(frame, nw.DataFrame):
        return _expand_eager(frame, first, last)
    bounds = frame.select(nw.col(first).min(), nw.col(last).max()).collect(backend="pyarrow")
    low, high = bounds[first][0], bounds[last][0]
    if low is None or high is None or high < low:
        low, high = 0, -1
    calendar = _month_calendar(frame, int(low), int(high))
    expanded = frame.join(calendar, how="cross")
    return expanded.filter(nw.col("month_index").is_between(nw.col(first), nw.col(last)))


def _expand_eager(frame, first: str, last: str):
    lo = frame[first].to_numpy().astype("int64")
    lengths = frame[last].to_numpy().astype("int64") - lo + 1
    lengths = np.clip(lengths, 0, None)
    rows = np.repeat(np.arange(len(frame)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    index = lo[rows] + offsets
    impl = frame.implementation
    out = frame[rows]
    if impl is nw.Implementation.PANDAS:
        out = nw.from_native(out.to_native().reset_index(drop=True), eager_only=True)
    return out.with_columns(
        nw.new_series("month_index", index, nw.Int64, backend=impl),
        nw.new_series("month", month_starts(index), nw.Datetime("ns"), backend=impl),
    )


def _month_calendar(like, low: int, high: int):
    """A lazy calendar (``month_index``, ``month``) on the backend and connection of ``like``."""
    if like.implementation is nw.Implementation.DUCKDB:
        sql = (
            "select range::BIGINT as month_index, "
            "make_date((range // 12)::INTEGER, (range % 12 + 1)::INTEGER, 1)::TIMESTAMP as month "
            f"from range({low}, {high + 1})"
        )
        return nw.from_native(like.to_native().query("_csm_like", sql))
    index = np.arange(low, high + 1, dtype="int64")
    calendar = pd.DataFrame({"month_index": index, "month": month_starts(index)})
    return _native_like(calendar, like)


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
