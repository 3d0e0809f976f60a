"""Recipes: tested mappings for the exports CS teams actually have, shipped with the kit.

Each recipe is a YAML mapping in ``csm_kit/data/recipes/<name>.yaml`` (Stripe subscriptions,
Zendesk tickets, SurveyMonkey NPS, HubSpot companies, Google Forms + a customers sheet, ...).
Select one with ``--mapping stripe`` (several: ``--mapping stripe,zendesk``) or with
``recipe: stripe`` at the top of your own mapping, whose entries then override the recipe's.

A recipe's table entries name the export's tell-tale columns under ``headers:``; in a folder
of exports the file whose header has all of them is the one read (so the file can keep the
name the tool gave it). ``csm-kit init`` uses the same headers to recognise exports.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from csm_kit.errors import ConfigError

#: Top-level keys of a mapping that are settings, not tables.
SETTINGS = ("recipe", "fx", "accept", "description")


def recipe_names() -> list[str]:
    """Return the names of the packaged recipes, sorted.

    >>> {"stripe", "zendesk", "surveymonkey", "hubspot", "google_forms"} <= set(recipe_names())
    True
    """
    folder = resources.files("csm_kit").joinpath("data", "recipes")
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def is_recipe_name(text: str) -> bool:
    """True when ``text`` is a recipe name or comma-separated recipe names (not a file path)."""
    names = [part.strip() for part in text.split(",")]
    return all(name in recipe_names() for name in names) and "/" not in text


@cache
def _load(name: str) -> dict:
    text = resources.files("csm_kit").joinpath("data", "recipes", f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def load_recipe(name: str) -> dict:
    """Return one recipe's mapping (a fresh copy); unknown names raise ConfigError."""
    if name not in recipe_names():
        raise ConfigError(f"recipe must be one of {recipe_names()}, got {name!r}")
    return copy.deepcopy(_load(name))


def recipe_mapping(recipes: str | list[str]) -> dict:
    """Merge one or more recipes into one mapping; two recipes may not both define a table.

    >>> sorted(k for k in recipe_mapping("stripe") if k != "description")
    ['customers', 'subscriptions']
    """
    names = [n.strip() for n in recipes.split(",")] if isinstance(recipes, str) else list(recipes)
    out: dict = {}
    owner: dict[str, str] = {}
    for name in names:
        for key, entry in load_recipe(name).items():
            if key in SETTINGS:
                if key == "accept":
                    out["accept"] = sorted(set(out.get("accept") or []) | set(entry or []))
                continue
            if key in out:
                raise ConfigError(
                    f"recipes {owner[key]} and {name} both define the {key} table; write a "
                    f"mapping with recipe: [{owner[key]}, {name}] that says which {key} to use "
                    f"(csm-kit init writes one for you)")
            out[key] = entry
            owner[key] = name
    return out


def header_of(path: Path) -> list[str]:
    """The column names of a CSV file (read the way the loader reads it), or [] if unreadable."""
    from csm_kit.data.readers import csv_header

    try:
        return csv_header(path)
    except Exception:  # noqa: BLE001 - an unreadable file simply matches no recipe
        return []


def files_with_headers(folder: Path, headers: list[str]) -> list[Path]:
    """The CSV files in ``folder`` whose header contains every name in ``headers``."""
    wanted = {h.strip().lower() for h in headers}
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".csv", ".gz", ".tsv", ".txt") or not path.is_file():
            continue
        names = {str(h).strip().lower() for h in header_of(path)}
        if wanted <= names:
            found.append(path)
    return found
