"""Reading and checking a mapping file (the format is described in :mod:`csm_kit.data.mapping`).

Every entry is checked when the mapping is read, and every problem of one file is named in
one :class:`~csm_kit.errors.ConfigError` that names the file, the key path (``customers.table``)
and what was expected; an unknown key comes with the likely one (``sep:`` → ``delimiter:``).
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

from csm_kit.data.config_files import read_yaml
from csm_kit.data.contract import TABLES
from csm_kit.data.expressions import check_expression
from csm_kit.data.readers import READ_OPTION_NAMES, ReadOptions
from csm_kit.data.survey_settings import SETTINGS_KEYS, settings_from_mapping, survey_settings
from csm_kit.errors import ConfigError

__all__ = ["ACCEPTABLE", "check_entry", "merge_mappings", "read_mapping"]

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
