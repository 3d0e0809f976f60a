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
  :func:`native_like` puts a small pandas frame on the backend (and connection) of another;
- :func:`materialize` computes a lazy DuckDB frame once when it is used twice, and
  :func:`reuse` keeps an intermediate result (the per-customer MRR events) across calls on
  the same data, keyed by a fingerprint of its content (DuckDB frames, and small pandas
  frames: a report computes the sample's events once, not once per metric);
- :func:`require_columns` and :func:`attach_group` check inputs and join a customer attribute.

Month arithmetic on these frames (month timestamps, one row per month, dense month grids)
lives in :mod:`csm_kit.months`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict

import duckdb
import narwhals as nw
import pandas as pd
import pyarrow as pa

from csm_kit.errors import ConfigError, DataContractError
from csm_kit.frames import row_hashes

ENGINES = ("pandas", "polars", "duckdb")
#: Environment variable with the engine that ``engine=None`` means (unset: "auto").
ENGINE_VARIABLE = "CSM_KIT_ENGINE"
#: How many intermediate results (per input, as_of and step) :func:`reuse` keeps.
REUSE_SLOTS = 4
_REUSED: OrderedDict[tuple, pa.Table] = OrderedDict()
#: How many results on small pandas frames :func:`reuse` keeps (a report asks for the events
#: of a few as_of months and rules, each a few hundred kB on the bundled sample).
PANDAS_REUSE_SLOTS = 32
#: pandas inputs up to this many rows are reused (larger ones run on DuckDB unless a caller
#: forces engine="pandas"; their results are not kept, to bound memory).
PANDAS_REUSE_MAX_ROWS = 100_000
_REUSED_PANDAS: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
#: How many objects :func:`reuse_object` keeps (e.g. the evaluator of the definition presets,
#: which a report computes twice over: compare, then explain).
OBJECT_REUSE_SLOTS = 1
_REUSED_OBJECTS: OrderedDict[tuple, object] = OrderedDict()
_REUSE_LOCK = threading.Lock()
#: pandas inputs with at least this many rows run on embedded DuckDB when ``engine`` is None or
#: "auto". Measured with ``benchmarks/run.py`` on 2 cores (benchmarks/RESULTS.md): on tiny
#: frames a DuckDB call costs ~30% more than a pandas one (~80 vs ~60 ms, fixed costs); the
#: whole revenue pipeline breaks even around 2-4k subscription rows and DuckDB takes ~0.7x
#: the time at 9k rows, ~0.5x at 37k, ~0.35x at 190k and ~0.2x at 1.9M. 5,000 keeps the
#: bundled sample (3,700 rows), the tests and the notebooks on the pandas path.
DUCKDB_MIN_ROWS = 5_000


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
        out = native_like(arrow_to_pandas(_to_arrow(frame)), nw.from_native(native))
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
    native = native_like(groups, frame)
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
    :data:`REUSE_SLOTS` results are kept (:func:`forget_reused` drops them). An eager pandas
    frame of up to :data:`PANDAS_REUSE_MAX_ROWS` rows (the bundled sample's path) is kept the
    same way, keyed by a digest of its index, columns, types and every row's hash, in order
    (:func:`_pandas_fingerprint`), and handed out as a shallow copy, so no caller can change
    the kept frame. On the other engines every call computes again.

    >>> rel = to_engine(pd.DataFrame({"a": [1, 2]}), "duckdb")
    >>> double = lambda f: f.select(nw.col("a") * 2)
    >>> to_pandas(reuse(rel, "doctest", double))["a"].tolist()
    [2, 4]
    """
    if _small_pandas(frame):
        return _reuse_pandas(frame, tag, compute)
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


def reuse_object(native, tag: tuple, compute):
    """``compute()``, kept for the next call with the same ``tag`` on a pandas frame ``native``
    of the same content (:func:`_pandas_fingerprint`: any changed value, label or row order
    gives a new key); the last :data:`OBJECT_REUSE_SLOTS` are kept. Other inputs (DuckDB,
    Polars, Spark; unhashable columns) are computed on every call.

    >>> frame = pd.DataFrame({"a": [1, 2]})
    >>> first = reuse_object(frame, ("doctest",), list)
    >>> reuse_object(frame.copy(), ("doctest",), list) is first
    True
    >>> reuse_object(frame.assign(a=[1, 3]), ("doctest",), list) is first
    False
    """
    if not isinstance(native, pd.DataFrame):
        return compute()
    try:
        key = (tag, _pandas_fingerprint(native))
    except TypeError:  # a column of unhashable values (lists, dicts): nothing to key it by
        return compute()
    with _REUSE_LOCK:
        kept = _REUSED_OBJECTS.get(key)
    if kept is None:
        kept = compute()
        with _REUSE_LOCK:
            _REUSED_OBJECTS[key] = kept
            while len(_REUSED_OBJECTS) > OBJECT_REUSE_SLOTS:
                _REUSED_OBJECTS.popitem(last=False)
    return kept


def forget_reused() -> None:
    """Drop every result kept by :func:`reuse` and :func:`reuse_object` (frees its memory;
    benchmarks start cold)."""
    with _REUSE_LOCK:
        _REUSED.clear()
        _REUSED_PANDAS.clear()
        _REUSED_OBJECTS.clear()


def _small_pandas(frame) -> bool:
    return (isinstance(frame, nw.DataFrame) and frame.implementation is nw.Implementation.PANDAS
            and len(frame) <= PANDAS_REUSE_MAX_ROWS)


def _reuse_pandas(frame, tag: str, compute):
    """:func:`reuse` for an eager pandas frame: kept as pandas, handed out as shallow copies."""
    try:
        key = (tag, _pandas_fingerprint(frame.to_native()))
    except TypeError:  # a column of unhashable values (lists, dicts): nothing to key it by
        return compute(frame)
    with _REUSE_LOCK:
        kept = _REUSED_PANDAS.get(key)
        if kept is not None:
            _REUSED_PANDAS.move_to_end(key)
    if kept is None:
        result = compute(frame)
        if not isinstance(result, nw.DataFrame):
            return result
        kept = result.to_native().copy(deep=False)
        with _REUSE_LOCK:
            _REUSED_PANDAS[key] = kept
            while len(_REUSED_PANDAS) > PANDAS_REUSE_SLOTS:
                _REUSED_PANDAS.popitem(last=False)
    return nw.from_native(kept.copy(deep=False), eager_only=True)


def _pandas_fingerprint(data: pd.DataFrame) -> tuple:
    """Columns, exact types, row count and a SHA-256 of every row's hash (index included),
    in order: a frame with any value, label or row order changed gets a new key."""
    rows = pd.util.hash_pandas_object(data, index=True).to_numpy()
    digest = hashlib.sha256(rows.tobytes()).hexdigest()
    return tuple(data.columns), tuple(repr(t) for t in data.dtypes), len(data), digest


def _fingerprint(frame) -> tuple:
    """Columns, types, row count and the sum of the rows' 64-bit hashes of a DuckDB frame."""
    relation = frame.to_native()
    return (tuple(relation.columns), tuple(str(t) for t in relation.types),
            *row_hashes(relation))


def _duckdb_like(like, table: pa.Table):
    """``table`` as a relation of ``like``'s DuckDB connection (relations join only within one)."""
    csm_rows = table  # noqa: F841 (read by the SQL through DuckDB's replacement scan)
    return nw.from_native(like.to_native().query("_csm_like", "select * from csm_rows"))


def native_like(data: pd.DataFrame, like):
    """A narwhals frame holding ``data`` on the backend (and DuckDB connection) of ``like``.

    >>> like = to_engine(pd.DataFrame({"a": [1]}), "duckdb")
    >>> native_like(pd.DataFrame({"b": [2]}), like).implementation.name
    'DUCKDB'
    """
    if like.implementation is nw.Implementation.DUCKDB:
        return _duckdb_like(like, pa.Table.from_pandas(data, preserve_index=False))
    if like.implementation is nw.Implementation.PYSPARK:
        session = like.to_native().sparkSession
        return nw.from_native(session.createDataFrame(pa.Table.from_pandas(data, preserve_index=False)))
    converted = to_engine(data, like.implementation.name.lower())
    if isinstance(like, nw.LazyFrame) and isinstance(converted, nw.DataFrame):
        converted = converted.lazy()
    return converted
