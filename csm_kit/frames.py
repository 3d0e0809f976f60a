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
