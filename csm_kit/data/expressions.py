"""DuckDB SQL expressions over a source table: checking them, typing their inputs, evaluating.

The mapping's derived columns (``{sql: ...}``), lookup keys and ``where:`` conditions are
DuckDB SQL. :func:`check_expression` parses one with DuckDB's own parser
(``json_serialize_sql``) and accepts only a single scalar expression over the source table —
no statements, subqueries, ``FROM``/``WHERE`` or functions that read files or settings.
:func:`typed_source` gives the columns an expression uses their types (money-like text to
numbers, dates to ISO text, true/false to booleans), and :func:`evaluate` runs expressions in a
fresh in-memory DuckDB with external access switched off. Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from csm_kit.data.contract import TableSpec, failure_row
from csm_kit.data.values import (
    date_order,
    dates_to_iso,
    looks_like_dates,
    looks_numeric,
    numbers_from_text,
    resolve_decimal,
)
from csm_kit.errors import ConfigError

#: Functions an expression may not call (they read files, the network or the catalog).
_FORBIDDEN = re.compile(r"^(read_|glob|sniff_csv|parquet_|query|getenv|current_setting|"
                        r"duckdb_|pragma_|system|shell|httpfs|json_serialize|iceberg_|delta_)",
                        re.IGNORECASE)


def check_expression(sql: Any, *, where: str) -> set[str]:
    """Check that ``sql`` is one scalar DuckDB expression; return the column names it uses.

    >>> sorted(check_expression("amount * quantity / 12", where="x"))
    ['amount', 'quantity']
    >>> check_expression("(SELECT 1)", where="mapping for t.c")
    Traceback (most recent call last):
    ...
    csm_kit.errors.ConfigError: mapping for t.c: sql must be one expression over the source columns (no subqueries); got '(SELECT 1)'
    """
    import duckdb

    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError(f"{where}: sql must be a non-empty SQL expression, got {sql!r}")
    con = duckdb.connect()
    try:
        text = con.execute("SELECT json_serialize_sql(?)", [f"SELECT {sql} AS x FROM source"]).fetchone()[0]
    finally:
        con.close()
    tree = json.loads(text)
    problem = _tree_problem(tree)
    if problem:
        raise ConfigError(f"{where}: sql must be one expression over the source columns "
                          f"({problem}); got {sql!r}")
    columns: set[str] = set()
    _walk(tree["statements"][0]["node"]["select_list"][0], columns)
    return columns


def _tree_problem(tree: dict) -> str | None:
    if tree.get("error"):
        return f"DuckDB cannot parse it: {tree.get('error_message', '')}"
    statements = tree.get("statements", [])
    if len(statements) != 1:
        return "one expression, not several statements"
    node = statements[0]["node"]
    source = node.get("from_table") or {}
    if (node.get("type") != "SELECT_NODE" or len(node.get("select_list", [])) != 1
            or source.get("table_name") != "source" or node.get("where_clause")
            or node.get("group_expressions") or node.get("having") or node.get("modifiers")
            or node.get("cte_map", {}).get("map")):
        return "no FROM, WHERE, GROUP BY, ORDER BY or second column"
    found: set[str] = set()
    bad = _walk(node["select_list"][0], found)
    return bad


def _walk(node: Any, columns: set[str]) -> str | None:
    if isinstance(node, list):
        for item in node:
            problem = _walk(item, columns)
            if problem:
                return problem
        return None
    if not isinstance(node, dict):
        return None
    kind = node.get("class")
    if kind == "SUBQUERY" or node.get("type") in ("SELECT_NODE", "SET_OPERATION_NODE"):
        return "no subqueries"
    if kind == "COLUMN_REF":
        columns.add(node["column_names"][-1])
    if kind == "FUNCTION" and _FORBIDDEN.match(node.get("function_name", "")):
        return f"the function {node['function_name']} is not allowed"
    for value in node.values():
        problem = _walk(value, columns)
        if problem:
            return problem
    return None


def quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def typed_source(raw: pd.DataFrame, spec: TableSpec, expressions: dict[str, str], entry: dict):
    """The source columns the expressions use, typed: money-like text to numbers, dates to ISO
    text, true/false to booleans; other columns stay text (ids keep their leading zeros)."""
    used: set[str] = set()
    for sql in expressions.values():
        used |= _columns_of(sql)
    used = {c for c in raw.columns if c in used or str(c).lower() in {u.lower() for u in used}}
    typed = raw.copy()
    numeric = {c: raw[c] for c in used if looks_numeric(raw[c]) and not looks_like_dates(raw[c])}
    marks, failures = resolve_decimal(spec.name, numeric, entry.get("decimal"))
    for column, mark in marks.items():
        number = numbers_from_text(raw[column], decimal=mark)
        whole = pd.api.types.is_float_dtype(number) and bool((number.dropna() % 1 == 0).all())
        typed[column] = number.astype("Int64") if whole else number  # ids stay 101, not 101.0
    dates = {c: raw[c] for c in used if c not in numeric and looks_like_dates(raw[c])}
    order, date_failures = date_order(spec.name, dates, entry.get("date_format"))
    failures += date_failures
    for column in dates:
        typed[column] = dates_to_iso(raw[column], order=order, date_format=entry.get("date_format"))
    for column in used - set(numeric) - set(dates):
        text = raw[column].dropna().astype(str).str.strip().str.lower()
        if not text.empty and text.isin(["true", "false"]).all():
            typed[column] = raw[column].astype(str).str.strip().str.lower().map(
                {"true": True, "false": False}).where(raw[column].notna(), None)
    return typed, failures


def _columns_of(sql: str) -> set[str]:
    try:
        return check_expression(sql, where="")
    except ConfigError:
        return set()


def evaluate(typed: pd.DataFrame, spec, expressions: dict[str, str], where: str):
    """Evaluate ``{canonical: sql}`` over ``typed``; return ``({canonical: values}, failures)``.

    ``source_row`` (the row's number in the export, from 1) is available to expressions.
    """
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    out, failures = {}, []
    try:
        frame = typed.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if "source_row" not in frame.columns:
            frame["source_row"] = np.arange(1, len(frame) + 1)
        con.register("source", frame)
        for canonical, sql in expressions.items():
            try:
                result = con.execute(f"SELECT {sql} AS value FROM source").df()["value"]
            except duckdb.Error as exc:
                failures.append(failure_row(
                    spec.name, canonical, "bad_expression", len(frame), [],
                    f"the mapping's expression {sql!r} cannot be evaluated on {where} "
                    f"({str(exc).strip().splitlines()[0][:160]})"))
                continue
            result.index = typed.index
            out[canonical] = result.astype(object).where(result.notna(), None)
    finally:
        con.close()
    return out, failures
