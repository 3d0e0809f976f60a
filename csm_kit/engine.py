"""Where the revenue engine runs: pandas, Polars, DuckDB or Spark, through one narwhals code path.

The heavy row-level transforms (subscriptions → customer-months, MRR movements, cohorts) are
written once with narwhals. This module is the small glue around them:

- :func:`choose_engine` is the one place that decides which backend a call runs on: the
  input's own backend, except that a pandas frame of :data:`DUCKDB_MIN_ROWS` rows or more runs
  on embedded DuckDB (handed over through Arrow without copying) and comes back as pandas;
- :func:`to_engine` hands a native frame (pandas, Polars, a DuckDB relation, a PySpark
  DataFrame) to narwhals on that backend, converting through Arrow when the backend changes;
- :func:`to_pandas` collects a (lazy) result into a pandas frame that follows the kit's data
  conventions (string ids, ``datetime64[ns]`` months) — small outputs always come back so;
- :func:`like_input` returns a row-level result in the caller's own type (pandas in → pandas
  out, sorted as the pandas engine sorts it, whichever engine ran; Polars in → Polars out,
  DuckDB relation in → DuckDB relation out, Spark in → Spark out, lazy where the input was);
- :func:`expand_months` turns month intervals into one row per month, with ``numpy.repeat``
  on eager frames and the backend's own range-unnest (DuckDB, Polars, Spark) on lazy ones;
- :func:`materialize` computes a lazy DuckDB frame once when it is used twice, and
  :func:`reuse` keeps an intermediate result (the per-customer MRR events) across calls on
  the same data, keyed by a fingerprint of its content;
- :func:`require_columns` and :func:`attach_group` check inputs and join a customer attribute;
- :func:`month_grid` and :func:`scatter_sum` lay small aggregated results on a dense
  month (x group) grid in pandas, so months without activity show as zeros.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import duckdb
import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from csm_kit.errors import ConfigError, DataContractError

ENGINES = ("pandas", "polars", "duckdb")
#: Environment variable with the engine that ``engine=None`` means (unset: "auto").
ENGINE_VARIABLE = "CSM_KIT_ENGINE"
#: How many intermediate results (per input, as_of and step) :func:`reuse` keeps.
REUSE_SLOTS = 4
_REUSED: OrderedDict[tuple, pa.Table] = OrderedDict()
_REUSE_LOCK = threading.Lock()
#: pandas inputs with at least this many rows run on embedded DuckDB when ``engine`` is None or
#: "auto". Measured with ``benchmarks/run.py`` on 2 cores (benchmarks/RESULTS.md): on tiny
#: frames a DuckDB call costs ~30% more than a pandas one (~80 vs ~60 ms, fixed costs); the
#: whole revenue pipeline breaks even around 2-4k subscription rows and DuckDB takes ~0.7x
#: the time at 9k rows, ~0.5x at 37k, ~0.35x at 190k and ~0.2x at 1.9M. 5,000 keeps the
#: bundled sample (3,700 rows), the tests and the notebooks on the pandas path.
DUCKDB_MIN_ROWS = 5_000
_EPOCH_MONTH_INDEX = 1970 * 12  # month index of 1970-01, numpy's datetime64[M] origin


def backend_of(native) -> str:
    """Name the backend of a native frame: ``"pandas"``, ``"polars"``, ``"duckdb"``, ``"pyspark"`` ...

    >>> backend_of(pd.DataFrame({"a": [1]}))
    'pandas'
    """
    return nw.from_native(native).implementation.name.lower()


def choose_engine(native, engine: str | None = None) -> str:
    """Decide which backend runs a transform of ``native`` (the only place that decides).

    ``engine=None`` takes the environment variable ``CSM_KIT_ENGINE`` when it is set (how
    ``csm-kit --engine`` reaches notebooks run by papermill), else ``"auto"``. ``"auto"`` runs
    on the input's own backend, except that a pandas frame with :data:`DUCKDB_MIN_ROWS` rows or
    more runs on embedded DuckDB; ``"pandas"``, ``"polars"`` or ``"duckdb"`` force one. A
    PySpark DataFrame runs on Spark.

    >>> choose_engine(pd.DataFrame({"a": [1]}))
    'pandas'
    >>> choose_engine(pd.DataFrame({"a": range(DUCKDB_MIN_ROWS)}))
    'duckdb'
    >>> choose_engine(pd.DataFrame({"a": range(DUCKDB_MIN_ROWS)}), "pandas")
    'pandas'
    """
    source = "`engine`"
    if engine is None and os.environ.get(ENGINE_VARIABLE):
        engine, source = os.environ[ENGINE_VARIABLE], f"the environment variable {ENGINE_VARIABLE}"
    if engine is None or engine == "auto":
        backend = backend_of(native)
        if backend == "pandas" and len(native) >= DUCKDB_MIN_ROWS:
            return "duckdb"
        return backend
    if engine not in ENGINES:
        raise ConfigError(f"{source} must be one of {[None, 'auto', *ENGINES]}, got {engine!r}")
    return engine


def to_engine(native, engine: str | None = None, *, columns: list[str] | None = None):
    """Wrap ``native`` as a narwhals frame on the backend :func:`choose_engine` picks.

    ``columns`` keeps only those columns, before any conversion (so unused text columns are
    never copied).

    >>> frame = to_engine(pd.DataFrame({"a": [1, 2]}), "polars")
    >>> type(frame.to_native()).__name__
    'DataFrame'
    """
    frame = nw.from_native(native)
    target = choose_engine(native, engine)
    if columns is not None:
        frame = frame.select(columns)
    if frame.implementation.name.lower() == target:
        return frame
    table = _to_arrow(frame)
    if target == "pandas":
        return nw.from_native(arrow_to_pandas(table), eager_only=True)
    if target == "polars":
        import polars as pl

        return nw.from_native(pl.from_arrow(table), eager_only=True)
    return nw.from_native(duckdb.from_arrow(table))


def _to_arrow(frame) -> pa.Table:
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect(backend="pyarrow")
    return frame.to_arrow()


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas with string ids and ``datetime64[ns]`` dates, without copies
    where Arrow allows (``split_blocks`` avoids consolidating columns into one block)."""
    return _canonical_dtypes(table.to_pandas(date_as_object=False, split_blocks=True))


def _canonical_dtypes(out: pd.DataFrame) -> pd.DataFrame:
    """Ids as strings and dates as ``datetime64[ns]``, whichever engine produced ``out``."""
    for col in out.columns:
        dtype = out[col].dtype
        if col.endswith("_id") and dtype != "str":
            out[col] = out[col].astype("str")
        elif pd.api.types.is_datetime64_any_dtype(dtype) and dtype != "datetime64[ns]":
            out[col] = out[col].astype("datetime64[ns]")
    return out


def to_pandas(frame) -> pd.DataFrame:
    """Collect a narwhals frame into pandas with string ids and ``datetime64[ns]`` dates.

    >>> to_pandas(to_engine(pd.DataFrame({"customer_id": ["a"]}), "duckdb")).dtypes.iloc[0]
    <StringDtype(na_value=nan)>
    """
    native = frame.to_native()
    if isinstance(native, pd.DataFrame):
        return _canonical_dtypes(native.reset_index(drop=True))
    return arrow_to_pandas(_to_arrow(frame))


def collect(frame, *, sort_by: list[str] | None = None):
    """An eager narwhals frame of ``frame`` (lazy ones collected to Arrow), optionally sorted."""
    if sort_by:
        frame = frame.sort(*sort_by)
    if isinstance(frame, nw.LazyFrame):
        # One contiguous chunk: gathers on chunked Arrow columns are ~5x slower.
        frame = nw.from_native(frame.collect(backend="pyarrow").to_native().combine_chunks(),
                               eager_only=True)
    return frame


def like_input(frame, native, *, sort_by: list[str] | None = None):
    """Return a row-level result in the type of the caller's input ``native``.

    pandas input gives a pandas frame whatever engine ran it — sorted by ``sort_by`` when a
    lazy engine ran it, so the rows come in the pandas engine's order; a Polars, DuckDB or
    Spark input gives its own type back, still lazy when the input was lazy.
    """
    source = backend_of(native)
    if source == "pandas":
        if sort_by and isinstance(frame, nw.LazyFrame):
            frame = frame.sort(*sort_by)
        return to_pandas(frame)
    if frame.implementation.name.lower() == source:
        return frame.to_native()
    if source == "pyspark":  # an engine was forced on a Spark input: back to Spark
        out = _native_like(arrow_to_pandas(_to_arrow(frame)), nw.from_native(native))
    else:
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


def materialize(frame):
    """Compute a lazy DuckDB frame once, so that a frame used twice is not computed twice.

    DuckDB inlines every use of a lazy relation into the query that uses it (a frame that is
    joined with its own aggregate runs twice), so frames used more than once are collected to
    Arrow and scanned from there. Polars eliminates common subplans itself and Spark plans are
    left to Spark; eager frames are returned as they are.
    """
    if frame.implementation is nw.Implementation.DUCKDB:
        return _duckdb_like(frame, frame.to_native().to_arrow_table())
    return frame


def reuse(frame, tag: str, compute):
    """``compute(frame)`` for a DuckDB frame, computed once per distinct content of ``frame``.

    Calls on the same subscriptions (customer_months, then mrr_movements, mrr_bridge, cohort
    matrices ...) share their per-customer MRR events instead of computing them again: the
    result is kept as Arrow, keyed by ``tag``, the frame's columns and types and a fingerprint
    of its content (the row count and the sum of DuckDB's 64-bit hash of every row — one scan,
    ~0.05 s for 2M rows). Any changed value or added or removed row gives a new key (barring
    a collision of 64-bit hashes), so an edited frame is computed afresh; the last
    :data:`REUSE_SLOTS` results are kept (:func:`forget_reused` drops them). On the other
    engines every call computes again.

    >>> rel = to_engine(pd.DataFrame({"a": [1, 2]}), "duckdb")
    >>> double = lambda f: f.select(nw.col("a") * 2)
    >>> to_pandas(reuse(rel, "doctest", double))["a"].tolist()
    [2, 4]
    """
    if frame.implementation is not nw.Implementation.DUCKDB:
        return compute(frame)
    key = (tag, _fingerprint(frame))
    with _REUSE_LOCK:
        table = _REUSED.get(key)
        if table is not None:
            _REUSED.move_to_end(key)
    if table is None:
        table = compute(frame).to_native().to_arrow_table()
        with _REUSE_LOCK:
            _REUSED[key] = table
            while len(_REUSED) > REUSE_SLOTS:
                _REUSED.popitem(last=False)
    return _duckdb_like(frame, table)


def forget_reused() -> None:
    """Drop every result kept by :func:`reuse` (frees its memory; benchmarks start cold)."""
    with _REUSE_LOCK:
        _REUSED.clear()


def _fingerprint(frame) -> tuple:
    """Columns, types, row count and the sum of the rows' 64-bit hashes of a DuckDB frame."""
    relation = frame.to_native()
    columns = ", ".join(f'"{name}"' for name in relation.columns)
    rows, hashed = relation.aggregate(f"count(*), sum(hash({columns})::HUGEINT)").fetchall()[0]
    return tuple(relation.columns), tuple(str(t) for t in relation.types), rows, hashed


def _duckdb_like(like, table: pa.Table):
    """``table`` as a relation of ``like``'s DuckDB connection (relations join only within one)."""
    csm_rows = table  # noqa: F841 (read by the SQL through DuckDB's replacement scan)
    return nw.from_native(like.to_native().query("_csm_like", "select * from csm_rows"))


def _native_like(data: pd.DataFrame, like):
    """A narwhals frame holding ``data`` on the backend (and DuckDB connection) of ``like``."""
    if like.implementation is nw.Implementation.DUCKDB:
        return _duckdb_like(like, pa.Table.from_pandas(data, preserve_index=False))
    if like.implementation is nw.Implementation.PYSPARK:
        session = like.to_native().sparkSession
        return nw.from_native(session.createDataFrame(pa.Table.from_pandas(data, preserve_index=False)))
    converted = to_engine(data, like.implementation.name.lower())
    if isinstance(like, nw.LazyFrame) and isinstance(converted, nw.DataFrame):
        converted = converted.lazy()
    return converted


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
        calendar = _month_calendar(frame, first, last).select("month_index")
        expanded = frame.join(calendar, how="cross").filter(
            nw.col("month_index").is_between(nw.col(first), nw.col(last)))
    return with_month(expanded.drop(first, last))


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
