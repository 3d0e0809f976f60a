"""Drafting a mapping from a folder of exports (``csm-kit init``).

:func:`draft_mapping` looks at every CSV file in a folder, recognises the exports of known
recipes by their headers (and canonical tables by their names and columns), settles which
file each canonical table comes from, links tables from different tools to one customers
table (by organisation name or e-mail domain), checks the date order of recipes that assume
one, and returns a :class:`Draft`: the mapping, and what was recognised, what was guessed and
what the user must decide — written as comments at the top of the YAML file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from csm_kit.data.contract import TABLES
from csm_kit.data.readers import ReadOptions, read_csv_file
from csm_kit.data.recipes import files_with_headers, header_of, load_recipe, recipe_names
from csm_kit.data.values import date_order

#: Which tool's customers win when several exports could be the customers table: the CRM,
#: then a customers sheet, then billing.
CUSTOMER_SOURCES = ("hubspot", "salesforce", "google_forms", "stripe")
#: How a recipe's table links its rows to customers kept in another tool: e-mail domain.
DOMAIN_KEYS = {("stripe", "subscriptions"): "lower(split_part(\"Customer Email\", '@', 2))"}
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".gz")


@dataclass
class Draft:
    """A drafted mapping and the notes that go with it."""

    mapping: dict
    recognised: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    decide: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """The mapping as YAML, with the notes as comments above it."""
        lines = ["# csm-kit mapping drafted by `csm-kit init`. Check it, then run",
                 "#   csm-kit validate --data <this folder> --mapping <this file>",
                 "# Syntax: data/README.md, 'Your own data'; recipes: docs/recipes/.", "#"]
        for title, notes in (("Recognised", self.recognised), ("Guessed", self.guessed),
                             ("You must decide", self.decide), ("Not used", self.ignored)):
            if notes:
                lines.append(f"# {title}:")
                lines += [f"#   - {note}" for note in notes]
        body = yaml.safe_dump(self.mapping, sort_keys=False, allow_unicode=True, width=100)
        return "\n".join(lines) + "\n\n" + body


def draft_mapping(folder: Path) -> Draft:
    """Recognise the exports in ``folder`` and draft the mapping that reads them.

    Returns
    -------
    Draft
        ``mapping`` is a full mapping (no ``recipe:``), so it reads the same even when the
        packaged recipes change; ``table:`` names each file.
    """
    folder = Path(folder)
    found = _recognise(folder)
    draft = Draft(mapping={})
    used: set[Path] = set()
    customers_from = _choose_customers(found, folder, draft, used)
    for table in TABLES:
        if table == "customers":
            continue
        parts = []
        for recipe, entries in found.items():
            if table in entries:
                path, entry = entries[table]
                entry = _link_customers(recipe, table, entry, customers_from, draft)
                parts.append(_finish(entry, path, recipe, table, draft))
                used.add(path)
        canonical = folder / f"{table}.csv"
        if not parts and canonical.is_file() and _is_canonical(canonical, table):
            draft.recognised.append(f"{table}: {canonical.name} (already in canonical form)")
            parts.append({"table": canonical.name})
            used.add(canonical)
        if parts:
            draft.mapping[table] = parts[0] if len(parts) == 1 else parts
    _note_unused(folder, used, draft)
    return draft


def _recognise(folder: Path) -> dict[str, dict[str, tuple[Path, dict]]]:
    """{recipe: {table: (file, entry)}} for every recipe table whose headers one file has."""
    found: dict[str, dict] = {}
    for name in recipe_names():
        recipe = load_recipe(name)
        for table, entry in recipe.items():
            if table not in TABLES or not isinstance(entry, dict) or not entry.get("headers"):
                continue
            files = files_with_headers(folder, entry["headers"])
            if len(files) == 1:
                found.setdefault(name, {})[table] = (files[0], entry)
    # A file recognised by a more specific recipe (more headers) is not also another's.
    return found


def _choose_customers(found, folder, draft, used) -> str | None:
    candidates = [r for r in CUSTOMER_SOURCES if "customers" in found.get(r, {})]
    candidates += [r for r in found if "customers" in found[r] and r not in candidates]
    canonical = folder / "customers.csv"
    if not candidates and canonical.is_file() and _is_canonical(canonical, "customers"):
        draft.recognised.append(f"customers: {canonical.name} (already in canonical form)")
        draft.mapping["customers"] = {"table": canonical.name}
        used.add(canonical)
        return "canonical"
    if not candidates:
        draft.decide.append("no customers table was recognised: export your customer list "
                            "(id, signup date) as customers.csv, or map it (data/README.md)")
        return None
    chosen = candidates[0]
    path, entry = found[chosen]["customers"]
    draft.mapping["customers"] = _finish(entry, path, chosen, "customers", draft)
    used.add(path)
    for other in candidates[1:]:
        other_path = found[other]["customers"][0]
        used.add(other_path)
        draft.guessed.append(f"customers come from {path.name} ({chosen}), not from "
                             f"{other_path.name} ({other}): the CRM is the list of customers")
    return chosen


def _link_customers(recipe, table, entry, customers_from, draft) -> dict:
    """Point a table's customer_id at the chosen customers table when it lives in another tool."""
    entry = copy.deepcopy(entry)
    columns = entry.get("columns") or {}
    how = columns.get("customer_id")
    if customers_from in (None, recipe) or not isinstance(how, str):
        return entry
    key = DOMAIN_KEYS.get((recipe, table))
    if key is None:
        return entry
    columns["customer_id"] = {"lookup": "customers", "key": {"sql": key}, "match": "domain",
                              "take": "customer_id"}
    draft.guessed.append(f"{table} ({recipe}) are linked to customers by e-mail domain "
                         "(customers.domain); customers whose domain differs show as unmatched ids")
    return entry


def _finish(entry: dict, path: Path, recipe: str, table: str, draft: Draft) -> dict:
    """The entry as written to the file: the file name, no headers, dates checked."""
    out = {"table": path.name}
    out.update({k: copy.deepcopy(v) for k, v in entry.items() if k != "headers"})
    draft.recognised.append(f"{table}: {path.name} ({recipe} recipe, docs/recipes/{recipe}.md)")
    header = set(header_of(path))
    if recipe == "google_forms" and table == "subscriptions":
        money = [h for h in header if h.strip().lower() in ("mrr", "monthly revenue", "mrr (usd)")]
        if money:
            out["columns"]["mrr"] = money[0]
            draft.guessed.append(f"subscriptions.mrr is the sheet's {money[0]!r} column")
        else:
            draft.decide.append("the customers sheet has no MRR column, so every customer counts "
                                "as 1: money figures are customer counts (logo churn, retention "
                                "and NPS are right); add an MRR column to get revenue")
    if recipe == "stripe" and table == "subscriptions":
        draft.decide.append("Stripe amounts are read as currency units (49.00); if yours are in "
                            "cents, divide by 100 in subscriptions.mrr")
    if out.get("date_format"):
        _check_date_format(out, path, table, draft)
    return out


def _check_date_format(entry: dict, path: Path, table: str, draft: Draft) -> None:
    """Keep the recipe's month-first date format only if the file's dates allow it."""
    spec = TABLES[table]
    columns = [how for canonical, how in (entry.get("columns") or {}).items()
               if isinstance(how, str) and canonical in spec.dates + spec.timestamps]
    try:
        raw = read_csv_file(path, ReadOptions.from_mapping(table, {
            k: v for k, v in entry.items() if k in ("encoding", "delimiter", "skip_rows", "header_rows")}))
    except Exception:  # noqa: BLE001 - the validator will say what is wrong with the file
        return
    values = {c: raw[c] for c in columns if c in raw.columns}
    order, failures = date_order(table, values, None)
    recipe_format = entry["date_format"]
    if order == "dmy" and recipe_format.startswith("%m/%d"):
        entry["date_format"] = "%d/%m" + recipe_format[len("%m/%d"):]
        draft.guessed.append(f"{path.name} writes dates day-first (a day above 12 is in it): "
                             f"date_format {entry['date_format']!r}")
    elif failures:
        draft.decide.append(f"{path.name}: every date could be day-first or month-first; the draft "
                            f"reads them as {recipe_format!r} (US); change date_format if not")


def _is_canonical(path: Path, table: str) -> bool:
    names = {h.strip() for h in header_of(path)}
    return set(TABLES[table].required) <= names


def _note_unused(folder: Path, used: set[Path], draft: Draft) -> None:
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in CSV_SUFFIXES and path not in used:
            header = header_of(path)
            if not header:
                draft.ignored.append(f"{path.name} could not be read as CSV (empty, not text, or "
                                     "broken); `csm-kit validate` says what is wrong with it")
                continue
            draft.ignored.append(f"{path.name} (columns {', '.join(header[:6])}…) was not "
                                 "recognised; map it yourself if it holds one of the tables")
