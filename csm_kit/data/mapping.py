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
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csm_kit.data.config_files import read_yaml
from csm_kit.data.contract import MAX_EXAMPLES, TABLES, TableSpec, failure_row
from csm_kit.data.expressions import check_expression, evaluate, quote, typed_source
from csm_kit.data.readers import READ_OPTION_NAMES, ReadOptions
from csm_kit.data.survey_settings import SETTINGS_KEYS, settings_from_mapping, survey_settings
from csm_kit.errors import ConfigError

__all__ = ["apply_mapping", "check_entry", "check_expression", "merge_mappings", "read_mapping"]

#: Keys a table entry may have.
ENTRY_KEYS = ("table", "query", "columns", "unpivot", "where", "headers") + READ_OPTION_NAMES
#: Top-level keys that are not tables.
SETTINGS = ("recipe", "fx", "accept", "description")  # the same as recipes.SETTINGS
#: Checks of :mod:`csm_kit.data.validator` that ``accept:`` may turn off.
ACCEPTABLE = ("mixed_currencies", "undivided_annual", "not_counted_status", "unmatched_customer_ids")
#: The forms of a derived column, and the keys each may have.
FORMS = {
    "value": {"value"},
    "sql": {"sql", "map", "default"},
    "column": {"column", "map", "default"},
    "lookup": {"lookup", "key", "match", "take"},
}
ALLOWED_FORMS = ("a source column name, {value: ...}, {sql: ...}, {column: ..., map: {...}}, "
                 "{sql: ..., map: {...}} or {lookup: TABLE, key: ..., match: ..., take: ...}")


# --------------------------------------------------------------------------- reading a mapping


def read_mapping(mapping: str | Path | dict | None) -> dict[str, Any]:
    """Read and check a mapping (YAML path, recipe name(s) or dict); raise ConfigError when wrong.

    A string that is not an existing file but names packaged recipes (``"stripe"``,
    ``"stripe,zendesk"``) reads those recipes. ``recipe:`` inside a mapping starts from the
    recipes and lets the file's own entries override theirs, column by column.

    >>> read_mapping({"customers": {"columns": {"customer_id": "account_id"}}})
    {'customers': {'columns': {'customer_id': 'account_id'}}}
    >>> read_mapping({"surveys": {"columns": {"survey": {"value": "nps"}}}})["surveys"]["columns"]
    {'survey': {'value': 'nps'}}
    """
    from csm_kit.data.recipes import is_recipe_name

    if isinstance(mapping, str | Path) and not Path(mapping).is_file() and is_recipe_name(str(mapping)):
        mapping = {"recipe": str(mapping)}
    mapping, where = read_yaml(mapping, what="mapping file")
    try:
        return _checked(mapping)
    except ConfigError as exc:
        if where == "mapping file":  # a dict or recipe names: no file to name
            raise
        raise ConfigError(f"mapping file {where}: {exc}") from exc


def _checked(mapping: Any) -> dict[str, Any]:
    from csm_kit.data.recipes import recipe_mapping

    if not isinstance(mapping, dict):
        raise ConfigError(f"the top level must be a dictionary of table names (customers:, "
                          f"subscriptions:, …), got {_kind(mapping)}")
    mapping = copy.deepcopy(mapping)
    recipe = mapping.get("recipe")
    if recipe is not None and not isinstance(recipe, str | list):
        raise ConfigError(f"recipe: must be a recipe name such as stripe, or a list of them, "
                          f"got {_kind(recipe)}")
    if mapping.get("recipe"):
        mapping = merge_mappings(recipe_mapping(mapping["recipe"]), mapping)
    problems, failed = [], set()
    for key, entry in mapping.items():
        try:
            mapping[key] = _checked_table(key, entry)
        except ConfigError as exc:  # every entry is checked, so one run names every problem
            problems.append(str(exc))
            failed.add(key)
    checks = [_check_settings] + ([] if "surveys" in failed else [_check_survey_settings])
    for check in checks:
        try:
            check(mapping)
        except ConfigError as exc:
            problems.append(str(exc))
    if len(problems) > 1:
        raise ConfigError(f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))
    if problems:
        raise ConfigError(problems[0])
    return mapping


def _checked_table(key: str, entry: Any) -> Any:
    if key in SETTINGS:
        return entry
    if key not in TABLES:
        raise ConfigError(f"mapping table must be one of {sorted(TABLES)} (or the settings "
                          f"{list(SETTINGS)}), got {key!r}"
                          f"{_did_you_mean({key}, tuple(TABLES) + SETTINGS)}")
    if isinstance(entry, list):  # one table from several sources, stacked
        if not entry:
            raise ConfigError(f"mapping for {key}: a list of sources must not be empty")
        return [check_entry(key, part or {}) for part in entry]
    return check_entry(key, entry or {})


def _check_survey_settings(mapping: dict) -> None:
    if isinstance(mapping.get("surveys"), dict | list):
        try:
            survey_settings(**settings_from_mapping(mapping["surveys"]))
        except ConfigError as exc:
            raise ConfigError(f"mapping for surveys: {exc}") from exc


def _kind(value: Any) -> str:
    """How a YAML value reads to a person: 'a list', 'the text 'hello'', 'the number 5'."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"{type(value).__name__} {value!r}"


def merge_mappings(base: dict, override: dict) -> dict:
    """Overlay ``override`` on ``base``: settings replace, table entries merge key by key and
    their ``columns`` column by column."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key == "recipe":
            continue
        if key in TABLES and isinstance(value, dict) and isinstance(out.get(key), dict):
            entry = out[key]
            for inner, inner_value in value.items():
                if inner == "columns" and isinstance(entry.get("columns"), dict):
                    entry["columns"] = {**entry["columns"], **(inner_value or {})}
                elif inner in ("table", "query"):
                    entry.pop("table", None)
                    entry.pop("query", None)
                    entry.pop("headers", None)
                    entry[inner] = inner_value
                else:
                    entry[inner] = inner_value
        elif key == "accept":
            out["accept"] = sorted(set(out.get("accept") or []) | set(value or []))
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_entry(table: str, entry: dict) -> dict:
    """Check one table's entry: known keys, known canonical columns, valid derived forms."""
    if not isinstance(entry, dict):
        raise ConfigError(f"mapping for {table} must be a dictionary (table:, columns: …), "
                          f"got {_kind(entry)}")
    allowed = ENTRY_KEYS + (SETTINGS_KEYS if table == "surveys" else ())
    unknown = set(entry) - set(allowed)
    if unknown:
        raise ConfigError(f"mapping for {table} may have table, query and columns (and "
                          f"{', '.join(k for k in allowed if k not in ('table', 'query', 'columns'))}), "
                          f"got {sorted(unknown)}{_did_you_mean(unknown, allowed)}")
    if "table" in entry and "query" in entry:
        raise ConfigError(f"mapping for {table} has both table: and query:; keep one (query: "
                          "for SQL on a database, table: for a file or database table)")
    for key in ("table", "query", "where"):
        if key in entry and not isinstance(entry[key], str):
            raise ConfigError(f"mapping for {table}.{key} must be text, got {_kind(entry[key])}")
    headers = entry.get("headers")
    if headers is not None and (not isinstance(headers, list)
                                or not all(isinstance(h, str) for h in headers)):
        raise ConfigError(f"mapping for {table}.headers must be a list of column names, "
                          f"got {_kind(headers)}")
    columns = entry.get("columns") or {}
    if not isinstance(columns, dict):
        raise ConfigError(f"mapping for {table}.columns must map canonical names to yours "
                          f"(customer_id: account_id), got {_kind(columns)}")
    bad = set(columns) - set(TABLES[table].columns)
    if bad:
        raise ConfigError(f"mapping for {table} names unknown canonical columns {sorted(bad)}; "
                          f"they must be among {list(TABLES[table].columns)}")
    for column, how in columns.items():
        _check_form(table, column, how)
    ReadOptions.from_mapping(table, entry)
    if entry.get("unpivot") is not None:
        _check_unpivot(table, entry["unpivot"])
    if entry.get("where") is not None:
        check_expression(entry["where"], where=f"mapping for {table}: where")
    return entry


#: Keys people write for the ones the mapping has.
SYNONYMS = {"sep": "delimiter", "separator": "delimiter", "delim": "delimiter",
            "skiprows": "skip_rows", "skip": "skip_rows", "header": "header_rows",
            "file": "table", "path": "table", "sql": "query", "column": "columns",
            "filter": "where", "charset": "encoding", "decimal_separator": "decimal"}


def _did_you_mean(unknown: set, allowed: tuple) -> str:
    hints = []
    for key in sorted(map(str, unknown)):
        close = SYNONYMS.get(key.lower()) or next(iter(difflib.get_close_matches(key, allowed, n=1)), None)
        if close in allowed:
            hints.append(f"{close}: instead of {key}:")
    return f"; did you mean {', '.join(hints)}?" if hints else ""


def _check_form(table: str, column: str, how: Any) -> None:
    where = f"mapping for {table}.{column}"
    if isinstance(how, str):
        return
    if not isinstance(how, dict):
        raise ConfigError(f"{where} must be {ALLOWED_FORMS}; got {_kind(how)}")
    forms = [f for f in FORMS if f in how]
    if len(forms) != 1:
        raise ConfigError(f"{where} must be exactly one of {ALLOWED_FORMS}; got keys {sorted(how)}")
    form = forms[0]
    extra = set(how) - FORMS[form]
    if extra:
        raise ConfigError(f"{where}: a {form} column may have {sorted(FORMS[form])}, got {sorted(extra)}")
    if form == "sql":
        check_expression(how["sql"], where=where)
    if "map" in how and not isinstance(how["map"], dict):
        raise ConfigError(f"{where}: map must be a dictionary of your value: canonical value")
    if form == "lookup":
        missing = {"key", "match", "take"} - set(how)
        if missing:
            raise ConfigError(f"{where}: a lookup needs lookup (the table), key, match and take; "
                              f"missing {sorted(missing)}")
        key = how["key"]
        if isinstance(key, dict):
            if set(key) != {"sql"}:
                raise ConfigError(f"{where}: key must be a column name or {{sql: ...}}")
            check_expression(key["sql"], where=where)


def _check_unpivot(table: str, spec: Any) -> None:
    where = f"mapping for {table}: unpivot"
    if not isinstance(spec, dict) or not ({"columns", "matching"} & set(spec)):
        raise ConfigError(f"{where} must give columns: [your question columns] or matching: "
                          "a regular expression over column names (and optionally name:, value:)")
    unknown = set(spec) - {"columns", "matching", "name", "value"}
    if unknown:
        raise ConfigError(f"{where} may have columns, matching, name and value, got {sorted(unknown)}")
    if "matching" in spec:
        try:
            re.compile(spec["matching"])
        except re.error as exc:
            raise ConfigError(f"{where}: matching is not a valid regular expression: {exc}") from exc


def _check_settings(mapping: dict) -> None:
    accept = mapping.get("accept") or []
    if not isinstance(accept, list) or set(accept) - set(ACCEPTABLE):
        raise ConfigError(f"mapping accept: must be a list among {sorted(ACCEPTABLE)}, got {accept!r}")
    fx = mapping.get("fx")
    if fx is not None:
        if not isinstance(fx, dict) or not fx.get("reporting_currency"):
            raise ConfigError("mapping fx: needs reporting_currency (e.g. USD) and table: (or "
                              "query:) of rates with columns month, currency, rate")
        unknown = set(fx) - {"table", "query", "columns", "reporting_currency"} - set(READ_OPTION_NAMES)
        if unknown:
            raise ConfigError(f"mapping fx: may have table, query, columns, reporting_currency "
                              f"and reading options, got {sorted(unknown)}")


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
