"""Reading the kit's YAML files: mappings, targets and health configurations.

One reader so every configuration file fails the same, readable way: a missing file, a
file that is not UTF-8, invalid YAML (with its line and column) or a key written twice is a
:class:`~csm_kit.errors.ConfigError` naming the file and what it is for.
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
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; pass the YAML file itself")
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} {path} is not UTF-8 text (line {line} holds the byte "
                          f"{raw[exc.start]:#04x}); save it as UTF-8") from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader) or {}, str(path)
    except _DuplicateKey as exc:
        raise ConfigError(f"{what} {path}, line {exc.problem_mark.line + 1}: {exc.problem}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        raise ConfigError(f"{what} {path} is not valid YAML{at}: {problem}; check the "
                          "indentation, brackets and quotes there") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from exc


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key written twice in one YAML dictionary."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key written twice in one dictionary (PyYAML would
    silently keep the last one, e.g. the second ``customers:`` of a mapping)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise _DuplicateKey(
                    None, None, f"the key {key!r} is written twice (first at line {seen[key]}); "
                    "keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)
