"""The playbook: rules that turn an account's evidence into a play, an owner and a due date.

A playbook is a YAML file (``csm_kit/config/playbook.yaml`` is the documented default) or the
same structure as a dict. :func:`load_playbook` reads and checks it; every mistake is a
:class:`~csm_kit.errors.ConfigError` naming the play and key at fault. The rules are applied
by :func:`csm_kit.health.actions.action_list`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.config_files import read_yaml
from csm_kit.errors import ConfigError

_PLAY_KEYS = {"priority", "play", "due_in_days", "when", "description"}
_CONDITION_KEYS = {"at_least", "at_most", "in"}


@dataclass(frozen=True)
class Condition:
    """One test on one evidence column: a numeric range (inclusive) or a set of values."""

    column: str
    at_least: float | None = None
    at_most: float | None = None
    among: tuple[str, ...] | None = None

    def holds(self, values: pd.Series) -> np.ndarray:
        """True where the value meets the condition; a missing value never does.

        >>> Condition("recent_nps", at_most=6).holds(pd.Series([3.0, 7.0, None])).tolist()
        [True, False, False]
        >>> Condition("band", among=("red",)).holds(pd.Series(["red", "green", None])).tolist()
        [True, False, False]
        """
        if self.among is not None:
            return (values.notna() & values.isin(self.among)).to_numpy()
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        ok = ~np.isnan(x)
        if self.at_least is not None:
            ok &= x >= self.at_least
        if self.at_most is not None:
            ok &= x <= self.at_most
        return ok

    def describe(self) -> str:
        """The rule in words, e.g. ``≤ 6`` or ``in red, yellow``."""
        if self.among is not None:
            return "in " + ", ".join(self.among)
        parts = []
        if self.at_least is not None:
            parts.append(f"≥ {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"≤ {self.at_most:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Play:
    """A rule: when every condition holds, do ``play`` within ``due_in_days``."""

    name: str
    play: str
    priority: int
    due_in_days: int
    when: tuple[Condition, ...]


@dataclass(frozen=True)
class Playbook:
    """A validated playbook (build it with :func:`load_playbook`), plays in priority order."""

    plays: tuple[Play, ...]
    recent_days: int = 31


def load_playbook(source: str | Path | dict | None = None, *,
                  columns: list[str] | None = None) -> Playbook:
    """Read and validate a playbook; None = the packaged ``csm_kit/config/playbook.yaml``.

    Parameters
    ----------
    source : path of a YAML file, the same structure as a dict, or None.
    columns : the evidence columns conditions may name (default: any name; the action list
        passes its own so a typo is an error, not a play that never fires).

    Examples
    --------
    >>> book = load_playbook({"plays": {"call": {"priority": 1, "play": "Call them",
    ...     "due_in_days": 3, "when": {"recent_nps": {"at_most": 6}}}}})
    >>> book.plays[0].when[0]
    Condition(column='recent_nps', at_least=None, at_most=6.0, among=None)
    """
    raw, where = read_yaml(source, what="playbook", default="playbook.yaml")
    if not isinstance(raw, dict) or not isinstance(raw.get("plays"), dict) or not raw["plays"]:
        raise ConfigError(f"{where}: a playbook must be a dictionary with `plays`, each play "
                          "with priority, play, due_in_days and when")
    unknown = sorted(set(raw) - {"plays", "recent_days", "description"})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; allowed keys are "
                          "['description', 'plays', 'recent_days']")
    recent = _whole(raw.get("recent_days", 31), "recent_days", where, minimum=1)
    plays = [_play(name, spec, where, columns) for name, spec in raw["plays"].items()]
    return Playbook(tuple(sorted(plays, key=lambda p: p.priority)), recent)


def _play(name, spec, where: str, columns) -> Play:
    at = f"{where}, play {name!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{at}: settings must be a dictionary (priority, play, due_in_days, when)")
    unknown = sorted(set(spec) - _PLAY_KEYS)
    if unknown:
        raise ConfigError(f"{at}: unknown keys {unknown}; allowed keys are {sorted(_PLAY_KEYS)}")
    text = spec.get("play")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{at}: `play` must say what to do, e.g. 'Call the sponsor'")
    when = spec.get("when")
    if not isinstance(when, dict) or not when:
        raise ConfigError(f"{at}: `when` must map evidence columns to conditions, "
                          "e.g. {recent_nps: {at_most: 6}}")
    return Play(str(name), text.strip(), _whole(spec.get("priority"), "priority", at, minimum=1),
                _whole(spec.get("due_in_days"), "due_in_days", at, minimum=0),
                tuple(_condition(column, rule, at, columns) for column, rule in when.items()))


def _condition(column, rule, at: str, columns) -> Condition:
    if columns is not None and column not in columns:
        raise ConfigError(f"{at}: `when` names {column!r}, which is not an evidence column; "
                          f"choose among {sorted(columns)}")
    if not isinstance(rule, dict) or not rule or set(rule) - _CONDITION_KEYS:
        raise ConfigError(f"{at}: the condition on {column} must use at_least, at_most or in, "
                          f"got {rule!r}")
    if "in" in rule:
        values = rule["in"]
        if len(rule) > 1 or not isinstance(values, list) or not values:
            raise ConfigError(f"{at}: `in` on {column} must be a list of values on its own, "
                              f"got {rule!r}")
        return Condition(str(column), among=tuple(str(v) for v in values))
    bounds = {}
    for key in ("at_least", "at_most"):
        if key in rule:
            value = rule[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{at}: `{key}` on {column} must be a number, got {value!r}")
            bounds[key] = float(value)
    if len(bounds) == 2 and bounds["at_least"] > bounds["at_most"]:
        raise ConfigError(f"{at}: on {column}, at_least {bounds['at_least']:g} is above "
                          f"at_most {bounds['at_most']:g}: the play could never fire")
    return Condition(str(column), **bounds)


def _whole(value, key: str, at: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{at}: `{key}` must be a whole number >= {minimum}, got {value!r}")
    return value
