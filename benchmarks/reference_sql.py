"""Run the hand-written DuckDB SQL reference (reference_sql.sql) on a pandas subscriptions frame.

The reference is what a competent analyst would write by hand in one DuckDB session: the
per-customer MRR change events are computed once into a temp table and every output is derived
from it; results are fetched as Arrow and handed back as pandas with the kit's conventions
(string ids, ``datetime64[ns]`` months, made as such in SQL so pandas need not convert them;
``split_blocks`` so pandas does not copy the columns into one block), and the two cohort
matrices are pivoted in pandas. Row-level results come back unordered (no ORDER BY).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

SQL_FILE = Path(__file__).with_name("reference_sql.sql")
STAGES = ("customer_months", "movements", "bridge", "cohorts")


def statements() -> dict[str, str]:
    """The named statements of reference_sql.sql, in file order."""
    text = SQL_FILE.read_text()
    parts = re.split(r"^-- name: (\w+)\n", text, flags=re.MULTILINE)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def default_as_of_index(con: duckdb.DuckDBPyConnection) -> int:
    """The kit's default as_of: the month of the latest date if it is the month's last day."""
    latest = con.sql(
        "SELECT greatest(max(start_date), max(end_date) - INTERVAL 1 DAY)::DATE FROM subscriptions"
    ).fetchall()[0][0]
    latest = pd.Timestamp(latest)
    index = latest.year * 12 + latest.month - 1
    return index if (latest + pd.Timedelta(days=1)).day == 1 else index - 1


def to_kit_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow result -> pandas with string ids and datetime64[ns] dates (the kit's conventions)."""
    out = table.to_pandas(date_as_object=False, split_blocks=True)
    for col in out.columns:
        if col.endswith("_id"):
            out[col] = out[col].astype("str")
        elif pd.api.types.is_datetime64_any_dtype(out[col].dtype):
            out[col] = out[col].astype("datetime64[ns]")
    return out


def cohort_matrix(cells: pd.DataFrame, as_of_index: int, kind: str) -> pd.DataFrame:
    """Pivot (cohort_index, age, active, value) cells into the kit's wide retention matrix."""
    cohorts = np.sort(cells.loc[cells["age"] == 0, "cohort_index"].to_numpy(dtype="int64"))
    width = int(as_of_index - cohorts.min() + 1) if len(cohorts) else 0
    row = np.searchsorted(cohorts, cells["cohort_index"].to_numpy(dtype="int64"))
    column = cells["age"].to_numpy(dtype="int64")
    measure = "active" if kind == "logo" else "value"
    grid = np.zeros((len(cohorts), width))
    grid[row, column] = cells[measure].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        base = grid[:, :1]
        shares = np.where(base != 0, grid / np.where(base != 0, base, 1), np.nan)
    unreached = np.arange(width)[None, :] > (as_of_index - cohorts)[:, None]
    shares[unreached] = np.nan
    months = (cohorts - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")
    matrix = pd.DataFrame(shares, index=pd.DatetimeIndex(months, name="cohort"),
                          columns=pd.Index(np.arange(width, dtype="int64"), name="months_since_start"))
    return matrix


def run_reference(subscriptions: pd.DataFrame, *, timer=None) -> dict[str, object]:
    """Compute customer-months, movements, the bridge and both cohort matrices with SQL.

    ``timer(stage)`` (optional) is a context-manager factory wrapped around each stage, so
    benchmarks/run.py can time the stages of the same run. Returns a dict of pandas frames:
    customer_months, movements, bridge, logo_cohorts, revenue_cohorts.
    """
    timer = timer or _no_timer
    sql = statements()
    con = duckdb.connect()
    out: dict[str, object] = {}
    with timer("customer_months"):
        subs = pa.Table.from_pandas(
            subscriptions[["customer_id", "start_date", "end_date", "mrr"]], preserve_index=False)
        con.register("subscriptions", subs)
        as_of_index = default_as_of_index(con)
        run = {name: body.replace("{as_of_index}", str(as_of_index)) for name, body in sql.items()}
        con.execute(run["events"])
        out["customer_months"] = to_kit_pandas(con.sql(run["customer_months"]).to_arrow_table())
    with timer("movements"):
        con.execute(run["firsts"])
        con.execute(run["movements"])
        out["movements"] = to_kit_pandas(con.sql(run["movements_out"]).to_arrow_table())
    with timer("bridge"):
        out["bridge"] = to_kit_pandas(con.sql(run["bridge"]).to_arrow_table())
    with timer("cohorts"):
        cells = con.sql(run["cohort_cells"]).to_arrow_table().to_pandas()
        out["logo_cohorts"] = cohort_matrix(cells, as_of_index, "logo")
        out["revenue_cohorts"] = cohort_matrix(cells, as_of_index, "revenue")
    con.close()
    return out


class _no_timer:
    def __init__(self, stage):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
