"""Fast, exact stand-ins for pandas operations that are slow on Arrow-backed text columns.

pandas 3 keeps text (ids, names) in Arrow arrays. Some of its operations on them run a Python
loop per element: ``Series.isin`` builds one Arrow scalar per member of the set it is given,
so checking a million ids against a million customers took ~30 s. The functions here give the
same results through Arrow's compute kernels, and fall back to pandas for anything else.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def _is_arrow_text(values: pd.Series) -> bool:
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def isin(values: pd.Series, members: Iterable) -> np.ndarray:
    """Boolean array: True where ``values`` is one of ``members`` (exactly ``Series.isin``).

    Missing values match when ``members`` holds a missing value (None or NaN), as in pandas.

    Examples
    --------
    >>> ids = pd.Series(["a", "b", None, "c"], dtype="str")
    >>> isin(ids, {"a", "c"}).tolist()
    [True, False, False, True]
    >>> isin(ids, ["b", None]).tolist()
    [False, True, True, False]
    """
    if not _is_arrow_text(values):
        return values.isin(members).to_numpy(dtype=bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values, from_pandas=True)
    try:
        if isinstance(members, pd.Series | pd.Index) and _is_arrow_text(members):
            value_set = pa.array(members, from_pandas=True).cast(array.type)
        else:
            value_set = pa.array(list(members), type=array.type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # members that are not text: pandas decides
        return values.isin(members).to_numpy(dtype=bool)
    found = pc.is_in(array, value_set=value_set, skip_nulls=False)
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def positions(values: pd.Series, keys: pd.Series) -> np.ndarray | None:
    """Where each of ``values`` first appears in ``keys`` (-1: nowhere), when both are Arrow
    text; None otherwise, for the caller's pandas path.

    The lookup a left ``merge`` on the two columns makes, through Arrow's hash table instead
    of pandas' join (a missing value finds a missing key, as in ``merge``).

    >>> ids = pd.Series(["b", "x", "a", None], dtype="str")
    >>> positions(ids, pd.Series(["a", "b", "a", None], dtype="str")).tolist()
    [1, -1, 0, 3]
    """
    if not (_is_arrow_text(values) and _is_arrow_text(keys)):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(pa.array(values, from_pandas=True),
                        value_set=pa.array(keys, from_pandas=True), skip_nulls=False)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def row_hashes(relation) -> tuple[int, int | None]:
    """Row count and the sum of the rows' 64-bit hashes of a DuckDB relation, in one scan.

    A content key: any changed value, added or removed row changes it (barring a collision of
    64-bit hashes), and the order of the rows does not. The sum is None for no rows.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> a = row_hashes(con.sql("select * from (values (1, 'x'), (2, 'y')) t(n, s)"))
    >>> b = row_hashes(con.sql("select * from (values (2, 'y'), (1, 'x')) t(n, s)"))
    >>> c = row_hashes(con.sql("select * from (values (1, 'x'), (2, 'z')) t(n, s)"))
    >>> a == b, a == c, a[0]
    (True, False, 2)
    """
    columns = ", ".join('"' + name.replace('"', '""') + '"' for name in relation.columns)
    rows, hashed = relation.aggregate(f"count(*), sum(hash({columns})::HUGEINT)").fetchall()[0]
    return rows, hashed
