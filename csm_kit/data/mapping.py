"""The mapping: where each table is, how to read it, and how its columns become canonical ones.

A mapping is YAML (or the same structure as a dict). Top-level keys are canonical table names,
plus ``recipe:`` (one or more packaged recipes to start from, see
:mod:`csm_kit.data.recipes`), ``fx:`` (exchange rates, see :mod:`csm_kit.data.validator`) and
``accept:`` (checks the user accepts as warnings). Each table entry may have:

- ``table:`` a file (or database table), or ``query:`` SQL (databases only); a list of such
  entries stacks several sources into one table (e.g. CSAT from Zendesk ratings and NPS
  from SurveyMonkey, both in ``surveys``);
- reading options ``encoding``, ``delimiter``, ``skip_rows``, ``header_rows``, ``date_format``,
  ``decimal`` (see :class:`csm_kit.data.readers.ReadOptions`);
- ``headers:`` column names that identify the file in a folder (used by recipes);
- ``unpivot:`` wide form exports to one row per answer (unanswered questions are no response);
- ``where:`` a SQL condition choosing the rows that belong to this table (e.g. only the
  tickets that carry a satisfaction rating, for ``surveys``);
- ``columns:`` how each canonical column is made. A string is the source column's name; a
  dictionary is a derived column in one of these forms:

  ========================================  ===================================================
  ``{value: nps}``                          a constant
  ``{sql: "amount * quantity / 12"}``       a DuckDB SQL expression over the source columns
  ``{column: Status, map: {Good: 5}}``      a value map (``sql:`` instead of ``column:`` also
                                            works); values not in the map are an error unless
                                            ``default:`` is given
  ``{lookup: customers, key: Organization,  a lookup through another table: ``key`` (a column
  match: name, take: customer_id}``         or ``sql:`` expression of this table) is found in
                                            ``match`` of the lookup table, ``take`` is returned
  ========================================  ===================================================

Expressions are parsed by DuckDB and must be one scalar expression over the source table —
no subqueries, no statements, no file or network access — and are evaluated by DuckDB with
external access switched off; nothing is ever passed to Python's ``eval``.

A mapping is read and checked by :mod:`csm_kit.data.mapping_file` (its names are re-exported
here); this module applies it to a source table.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from csm_kit.data.contract import MAX_EXAMPLES, TableSpec, failure_row
from csm_kit.data.expressions import check_expression, evaluate, quote, typed_source
from csm_kit.data.mapping_file import ACCEPTABLE, check_entry, merge_mappings, read_mapping

__all__ = ["ACCEPTABLE", "apply_mapping", "check_entry", "check_expression", "merge_mappings",
           "read_mapping"]

# --------------------------------------------------------------------------- applying a mapping


def needs_evaluation(entry: dict) -> bool:
    """True when the entry has derived columns or an unpivot (not only renames)."""
    return bool(entry.get("unpivot") or entry.get("where")) or any(
        not isinstance(how, str) for how in (entry.get("columns") or {}).values())


def apply_mapping(raw: pd.DataFrame, spec: TableSpec, entry: dict, *, where: str = "",
                  lookup=None) -> tuple[pd.DataFrame, list[dict]]:
    """Turn a source table into one with canonical column names (values still raw).

    Renames, unpivots and derives columns as the entry says; keeps the source's other
    columns. Returns the frame and failure records (a mapped source column that does not
    exist, an expression DuckDB cannot evaluate, values missing from a value map, keys a
    lookup does not find). ``lookup(name)`` returns another table as a frame.

    >>> from csm_kit.data.contract import TABLES
    >>> raw = pd.DataFrame({"id": ["R1"], "Score": ["9"]})
    >>> entry = {"columns": {"response_id": "id", "score": "Score", "survey": {"value": "nps"}}}
    >>> df, failures = apply_mapping(raw, TABLES["surveys"], entry)
    >>> df[["response_id", "survey", "score"]].values.tolist(), failures
    ([['R1', 'nps', '9']], [])
    """
    columns = entry.get("columns") or {}
    where = where or spec.name
    failures: list[dict] = []
    if entry.get("unpivot"):
        raw, unpivot_failures = _unpivot(raw, spec, entry["unpivot"], where)
        failures += unpivot_failures
    if entry.get("where"):
        raw, where_failures = _filter_rows(raw, spec, entry, where)
        failures += where_failures
    out = raw.copy()
    failed: set[str] = set()
    renames = {}
    for canonical, how in columns.items():
        if isinstance(how, str) or (isinstance(how, dict) and "column" in how and "map" not in how):
            name = how if isinstance(how, str) else how["column"]
            if name not in raw.columns:
                failures.append(_missing_source(spec, canonical, name, raw, where))
                failed.add(canonical)
            else:
                renames[canonical] = name
    derived = {c: how for c, how in columns.items() if c not in renames and c not in failed}
    if derived:
        values, derive_failures, derive_failed, reported = _derive(raw, spec, derived, entry, where, lookup)
        failures += derive_failures
        failed |= derive_failed
    else:
        values, reported = {}, {}
    taken = {**{c: raw[n] for c, n in renames.items()}, **values}
    renamed = set(renames.values()) - set(taken)
    out = out.drop(columns=[c for c in out.columns if c in taken or c in renamed])
    for canonical, series in taken.items():
        out[canonical] = series.to_numpy() if isinstance(series, pd.Series) else series
    out.attrs["mapping_failed"] = failed
    out.attrs["mapping_reported"] = reported
    return out, failures


def _missing_source(spec, canonical, name, raw, where) -> dict:
    close = difflib.get_close_matches(name, [str(c) for c in raw.columns], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else (
        f"; its columns are {', '.join(repr(str(c)) for c in list(raw.columns)[:8])}"
        f"{'…' if len(raw.columns) > 8 else ''}")
    return failure_row(spec.name, canonical, "missing_source_column", len(raw), [],
                       f"the mapping takes it from column {name!r}, which is not in {where}{hint}")


def _unpivot(raw: pd.DataFrame, spec, how: dict, where: str):
    if "columns" in how:
        wanted = list(how["columns"])
        missing = [c for c in wanted if c not in raw.columns]
        if missing:
            return raw, [_missing_source(spec, None, missing[0], raw, where)]
    else:
        wanted = [c for c in raw.columns if re.search(how["matching"], str(c))]
        if not wanted:
            return raw, [failure_row(spec.name, None, "missing_source_column", len(raw), [],
                                     f"no column of {where} matches the unpivot pattern "
                                     f"{how['matching']!r}; fix matching: in the mapping")]
    name, value = how.get("name", "question"), how.get("value", "answer")
    keep = [c for c in raw.columns if c not in wanted]
    long = raw.reset_index(names="source_row").melt(
        id_vars=["source_row"] + keep, value_vars=wanted, var_name=name, value_name=value)
    answered = long[value].notna() & (long[value].astype(str).str.strip() != "")
    long = long.loc[answered].sort_values(["source_row", name], kind="stable")
    long["source_row"] = long["source_row"] + 1
    return long.reset_index(drop=True), []


def _filter_rows(raw, spec, entry, where):
    """Keep the rows for which the entry's ``where:`` condition is true."""
    typed, failures = typed_source(raw, spec, {"where": entry["where"]}, entry)
    kept, eval_failures = evaluate(typed, spec, {"where": f"coalesce(({entry['where']}), false)"}, where)
    if eval_failures:
        return raw, failures + eval_failures
    mask = kept["where"].astype(bool).to_numpy()
    return raw.loc[mask].reset_index(drop=True), failures


def _derive(raw, spec, derived, entry, where, lookup):
    """Evaluate the derived columns: expressions in DuckDB, maps and lookups in pandas."""
    failures, failed, values = [], set(), {}
    reported: dict[str, np.ndarray] = {}  # rows already reported, per column
    expressions = {}
    for canonical, how in derived.items():
        if "value" in how:
            values[canonical] = pd.Series([how["value"]] * len(raw), index=raw.index, dtype=object)
        elif "sql" in how:
            expressions[canonical] = how["sql"]
        elif "column" in how:
            expressions[canonical] = quote(how["column"])
        else:
            key = how["key"]
            expressions[canonical] = key["sql"] if isinstance(key, dict) else quote(key)
    if expressions:
        typed, type_failures = typed_source(raw, spec, expressions, entry)
        failures += type_failures
        evaluated, eval_failures = evaluate(typed, spec, expressions, where)
        failures += eval_failures
        failed |= set(expressions) - set(evaluated)
    else:
        evaluated = {}
    for canonical, series in evaluated.items():
        how = derived[canonical]
        if "map" in how:
            series, problem = _map_values(series, how, spec, canonical, raw)
        elif "lookup" in how:
            series, problem = _lookup(series, how, spec, canonical, raw, lookup)
        else:
            problem = None
        if problem:
            failures.append(problem)
            unmapped = series.attrs.pop("unmapped", None)
            if unmapped is not None:
                reported[canonical] = unmapped.to_numpy()
        values[canonical] = series
    return values, failures, failed, reported


def _normal(value) -> str:
    return str(value).strip().lower()


def _map_values(series: pd.Series, how: dict, spec, canonical, raw):
    table = {_normal(k): v for k, v in how["map"].items()}
    given = series.notna() & (series.astype(str).str.strip() != "")
    keys = series.astype(str).map(_normal)
    mapped = keys.map(table)
    known = keys.isin(set(table))
    out = mapped.astype(object).where(known, None)
    unmapped = given & ~known
    if unmapped.any() and "default" in how:
        out[unmapped] = how["default"]
        unmapped[:] = False
    if not unmapped.any():
        return out, None
    values = series[unmapped].astype(str).value_counts().index[:MAX_EXAMPLES].tolist()
    out.attrs["unmapped"] = unmapped
    return out, failure_row(
        spec.name, canonical, "unmapped_value", int(unmapped.sum()), [repr(v) for v in values],
        "values the mapping's map: does not list")


def _lookup(keys: pd.Series, how: dict, spec, canonical, raw, lookup):
    other = lookup(how["lookup"]) if lookup is not None else None
    if other is None:
        return keys.where(False, None), failure_row(
            spec.name, canonical, "missing_lookup_table", len(keys), [],
            f"the lookup table {how['lookup']!r} is not in the data; add it or fix lookup:")
    for column in (how["match"], how["take"]):
        if column not in other.columns:
            return keys.where(False, None), _missing_source(spec, canonical, column, other, how["lookup"])
    pairs = other[[how["match"], how["take"]]].dropna()
    pairs = pairs.assign(_k=pairs[how["match"]].astype(str).map(_normal)).drop_duplicates(["_k", how["take"]])
    dup = pairs["_k"].duplicated(keep=False)
    table = pairs.loc[~dup].set_index("_k")[how["take"]]
    given = keys.notna() & (keys.astype(str).str.strip() != "")
    normal = keys.astype(str).map(_normal)
    out = normal.map(table).astype(object).where(given, None)
    twice = given & normal.isin(set(pairs.loc[dup, "_k"]))
    missing = given & out.isna() & ~twice
    if spec.kind(canonical) == "id":
        # An id the lookup does not find stays as it was written: the join check then
        # counts it among the ids that match no customer (a few: warning; most: error).
        out[missing] = keys[missing].astype(str)
        missing[:] = False
    for mask, check, detail in (
        (twice, "ambiguous_lookup", f"keys that match more than one row of {how['lookup']}.{how['match']}"),
        (missing, "unmatched_lookup", f"keys not found in {how['lookup']}.{how['match']}"),
    ):
        if mask.any():
            shown = keys[mask].astype(str).value_counts().index[:MAX_EXAMPLES].tolist()
            rows = int(mask.sum())
            return out, failure_row(
                spec.name, canonical, check, rows, [repr(v) for v in shown],
                f"{detail} (the lookup from {how['key']!r})")
    return out, None
