"""Reading the kit's YAML files: mappings, targets and health configurations.

One reader so every configuration file fails the same, readable way: a missing file or
invalid YAML is a :class:`~csm_kit.errors.ConfigError` naming the file and what it is for.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from csm_kit.errors import ConfigError


def read_yaml(source: str | Path | dict | None, *, what: str,
              default: str | None = None) -> tuple[Any, str]:
    """Return ``(content, where)`` for a YAML configuration given as a path, a dict or None.

    ``None`` reads the packaged ``csm_kit/config/<default>`` (or gives ``{}`` without a
    default); a dict is taken as already read; a path is parsed with ``yaml.safe_load`` (an
    empty file gives ``{}``). ``where`` names the source for later messages.

    >>> read_yaml({"a": 1}, what="targets")
    ({'a': 1}, 'targets')
    >>> read_yaml("no/such.yaml", what="targets file")
    Traceback (most recent call last):
    ...
    csm_kit.errors.ConfigError: targets file no/such.yaml does not exist
    """
    if source is None:
        if default is None:
            return {}, what
        text = resources.files("csm_kit").joinpath("config", default).read_text(encoding="utf-8")
        return yaml.safe_load(text) or {}, f"packaged {default}"
    if isinstance(source, dict):
        return source, what
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}, str(path)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from exc
