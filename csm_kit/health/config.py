"""Health and distress configurations: components, weights, missing-data rule and bands.

A configuration is a YAML file (``csm_kit/config/health.yaml`` and ``distress.yaml`` are the
documented defaults) or the same structure as a dict. :func:`load_health_config` reads and
checks it and returns a :class:`HealthConfig`; every mistake is a :class:`ConfigError` saying
which key is wrong and what it must be. The scoring itself is in :mod:`csm_kit.health.scores`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csm_kit.data.config_files import read_yaml
from csm_kit.errors import ConfigError
from csm_kit.health.declared import CustomSignal
from csm_kit.health.signals import SIGNALS

KINDS = ("health", "distress")
METHODS = ("linear", "thresholds")
DIRECTIONS = ("higher_is_better", "lower_is_better")
MISSING_RULES = ("redistribute", "zero", "fail")
BANDS = ("red", "yellow", "green")
#: Scores are rounded to this many decimals, so float noise (69.99999999 for 70) never moves a band.
DECIMALS = 9
_COMPONENT_KEYS = {"signal", "method", "direction", "weight", "low", "high", "thresholds",
                   "description"}
_CONFIG_KEYS = {"kind", "description", "components", "segment_weights", "missing", "bands",
                "signals", "onboarding"}
_ONBOARDING_KEYS = {"tenure_days", "description", "components", "segment_weights"}
_SIGNAL_KEYS = {"table", "column", "how", "description"}
#: Customers younger than this (days since signup) get the onboarding profile by default.
ONBOARDING_DAYS = 90
PROFILES = ("established", "onboarding")


@dataclass(frozen=True)
class Component:
    """One scored signal: how it maps to 0–100, which way is good, and its default weight."""

    name: str
    signal: str
    method: str
    direction: str
    weight: float
    low: float | None = None
    high: float | None = None
    thresholds: tuple[tuple[float, float], ...] = ()

    def score(self, values) -> np.ndarray:
        """Map signal values to component scores 0–100 (100 = best); NaN stays NaN.

        >>> Component("nps", "nps_latest", "thresholds", "higher_is_better", 1.0,
        ...           thresholds=((0, 0), (7, 50), (9, 100))).score([6, 7, 10]).tolist()
        [0.0, 50.0, 100.0]
        """
        x = np.asarray(values, dtype="float64")
        if self.method == "linear":
            rising = np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0) * 100
            out = rising if self.direction == "higher_is_better" else 100 - rising
        else:
            cuts = np.array([v for v, _ in self.thresholds])
            scores = np.array([s for _, s in self.thresholds], dtype="float64")
            step = np.clip(np.searchsorted(cuts, np.nan_to_num(x), side="right") - 1, 0, None)
            out = scores[step]
        return np.where(np.isnan(x), np.nan, out)


@dataclass(frozen=True)
class HealthConfig:
    """A validated score configuration (build it with :func:`load_health_config`).

    Bands: for ``kind: health`` a score below ``red`` is red, below ``yellow`` yellow, else
    green (``red`` ≤ ``yellow``). For ``kind: distress`` a score at or above ``red`` is red, at
    or above ``yellow`` yellow, else green (``yellow`` ≤ ``red``): high distress is bad. Equal
    cut-offs leave the yellow band empty.

    ``onboarding`` is the profile for customers younger than ``onboarding_days`` (days since
    signup): its own components and weights, the same missing-data rule, bands and declared
    ``signals`` as the main (established) profile.
    """

    components: tuple[Component, ...]
    segment_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    missing: str = "redistribute"
    bands: dict[str, float] = field(default_factory=lambda: {"red": 40.0, "yellow": 70.0})
    kind: str = "health"
    signals: dict[str, CustomSignal] = field(default_factory=dict)
    onboarding: HealthConfig | None = None
    onboarding_days: int = ONBOARDING_DAYS

    @property
    def names(self) -> list[str]:
        """Component names of the main (established) profile, in configuration order."""
        return [c.name for c in self.components]

    @property
    def all_names(self) -> list[str]:
        """Component names of both profiles: the main ones, then those only onboarding has."""
        extra = [] if self.onboarding is None else self.onboarding.names
        return [*self.names, *[n for n in extra if n not in self.names]]

    @property
    def signal_names(self) -> list[str]:
        """Every signal a component of either profile reads."""
        comps = [*self.components, *(() if self.onboarding is None else self.onboarding.components)]
        return list(dict.fromkeys(c.signal for c in comps))

    def established(self) -> HealthConfig:
        """This configuration without its onboarding profile (everyone scored the main way)."""
        return replace(self, onboarding=None)

    def weights(self, segment: str | None = None) -> pd.Series:
        """Raw (unnormalised) weight of every component for a segment (default weights if none)."""
        default = pd.Series({c.name: c.weight for c in self.components}, dtype="float64")
        override = self.segment_weights.get(segment, {}) if isinstance(segment, str) else {}
        return pd.Series({**default, **override}, dtype="float64")

    def with_weights(self, weights) -> HealthConfig:
        """Return a copy whose default weights are ``weights`` (a mapping) and no segment weights.

        Only the main profile changes; the onboarding profile keeps its weights.
        """
        comps = tuple(replace(c, weight=float(weights[c.name])) for c in self.components)
        return _check(replace(self, components=comps, segment_weights={}), "with_weights")

    def with_bands(self, bands) -> HealthConfig:
        """Return a copy with other band cut-offs (a mapping with red and yellow), e.g. the
        ``suggested_bands`` of a backtest."""
        new = {"red": float(bands["red"]), "yellow": float(bands["yellow"])}
        onboarding = None if self.onboarding is None else replace(self.onboarding, bands=new)
        return _check(replace(self, bands=new, onboarding=onboarding), "with_bands")

    def band(self, scores) -> np.ndarray:
        """Band of each score ('red'/'yellow'/'green'; None when the score is NaN)."""
        codes = self.band_codes(scores)
        return np.where(codes < 0, None, np.array(BANDS, dtype=object)[codes])

    def band_codes(self, scores) -> np.ndarray:
        """Each score's band as its position in :data:`BANDS` (-1 when the score is NaN)."""
        s = np.asarray(scores, dtype="float64")
        if self.kind == "health":
            codes = np.where(s < self.bands["red"], 0, np.where(s < self.bands["yellow"], 1, 2))
        else:
            codes = np.where(s >= self.bands["red"], 0, np.where(s >= self.bands["yellow"], 1, 2))
        return np.where(np.isnan(s), -1, codes)


# --------------------------------------------------------------------------- loading


def load_health_config(source: str | Path | dict | None = None) -> HealthConfig:
    """Read and validate a health (or distress) configuration; None = the packaged default.

    Parameters
    ----------
    source : path of a YAML file, the same structure as a dict, or None for
        ``csm_kit/config/health.yaml`` (documented there, key by key).

    Returns
    -------
    HealthConfig

    Raises
    ------
    ConfigError
        Naming the component and key at fault, what was expected and what was found.

    Examples
    --------
    >>> cfg = load_health_config({"components": {"adoption": {
    ...     "signal": "adoption", "method": "linear", "low": 0.2, "high": 0.8,
    ...     "direction": "higher_is_better", "weight": 1}}})
    >>> cfg.names, cfg.bands
    (['adoption'], {'red': 40.0, 'yellow': 70.0})
    """
    return _parse(*_read(source, "health.yaml"))


def load_distress_config(source: str | Path | dict | None = None) -> HealthConfig:
    """Read a distress configuration (``kind: distress``); None = ``csm_kit/config/distress.yaml``."""
    config = _parse(*_read(source, "distress.yaml"))
    if config.kind != "distress":
        raise ConfigError(f"a distress configuration needs `kind: distress`, got {config.kind!r}")
    return config


def _read(source, default: str) -> tuple[Any, str]:
    return read_yaml(source, what="health config", default=default)


def _parse(raw, where: str) -> HealthConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a YAML dictionary with a `components` key")
    _no_unknown(raw, _CONFIG_KEYS, where)
    kind = _one_of(raw.get("kind", "health"), KINDS, "kind", where)
    declared = _declared(raw.get("signals") or {}, where)
    known = [*SIGNALS, *declared]
    default_bands = {"red": 40, "yellow": 70} if kind == "health" else {"yellow": 30, "red": 60}
    bands = raw.get("bands", default_bands)
    if not isinstance(bands, dict) or set(bands) != {"red", "yellow"}:
        raise ConfigError(f"{where}: `bands` must have exactly the keys red and yellow, got {bands!r}")
    config = HealthConfig(
        components=(),
        missing=_one_of(raw.get("missing", "redistribute"), MISSING_RULES, "missing", where),
        bands={k: _number(v, f"bands.{k}", where) for k, v in bands.items()},
        kind=kind, signals=declared,
    )
    config = _with_components(config, raw, known, where)
    if raw.get("onboarding") is not None:
        config = _with_onboarding(config, raw["onboarding"], known, where)
    return _check(config, where)


def _with_components(config: HealthConfig, raw: dict, known: list, where: str) -> HealthConfig:
    comps = raw.get("components")
    if not isinstance(comps, dict) or not comps:
        raise ConfigError(f"{where}: `components` must map component names to their settings")
    return replace(
        config,
        components=tuple(_component(name, spec, where, known) for name, spec in comps.items()),
        segment_weights=_segment_weights(raw.get("segment_weights") or {}, comps, where))


def _with_onboarding(config: HealthConfig, raw, known: list, where: str) -> HealthConfig:
    at = f"{where}: onboarding"
    if not isinstance(raw, dict):
        raise ConfigError(f"{at} must be a dictionary with tenure_days and components")
    _no_unknown(raw, _ONBOARDING_KEYS, at)
    days = raw.get("tenure_days", ONBOARDING_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ConfigError(f"{at}: `tenure_days` must be a whole number of days >= 1, got {days!r}")
    profile = _with_components(replace(config, onboarding=None), raw, known, at)
    return replace(config, onboarding=_check(profile, at), onboarding_days=days)


def _declared(raw, where: str) -> dict[str, CustomSignal]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: `signals` must map signal names to their table and column, "
                          f"got {raw!r}")
    out = {}
    for name, spec in raw.items():
        at = f"{where}, signal {name!r}"
        if name in SIGNALS:
            raise ConfigError(f"{at}: the name is a built-in signal; choose another name")
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"{at}: a signal name must be a word such as employees_count")
        if not isinstance(spec, dict) or not {"table", "column"} <= set(spec):
            raise ConfigError(f"{at}: settings must be a dictionary with table and column, "
                              f"e.g. {{table: customers, column: employees}}")
        _no_unknown(spec, _SIGNAL_KEYS, at)
        try:
            out[name] = CustomSignal(str(spec["table"]), str(spec["column"]),
                                     spec.get("how", "latest"), str(spec.get("description", "")))
        except ConfigError as exc:
            raise ConfigError(f"{at}: {exc}") from None
    return out


def _component(name, spec, where: str, known: list | None = None) -> Component:
    at = f"{where}, component {name!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{at}: settings must be a dictionary (signal, method, direction, weight)")
    _no_unknown(spec, _COMPONENT_KEYS, at)
    signal = _one_of(spec.get("signal"), known or list(SIGNALS), "signal", at)
    method = _one_of(spec.get("method"), METHODS, "method", at)
    direction = _one_of(spec.get("direction"), DIRECTIONS, "direction", at)
    comp = Component(str(name), signal, method, direction, _weight(spec.get("weight"), "weight", at))
    foreign = sorted(set(spec) & ({"thresholds"} if method == "linear" else {"low", "high"}))
    if foreign:
        raise ConfigError(f"{at}: {foreign} do not apply to method {method}; "
                          "linear takes low and high, thresholds takes thresholds")
    if method == "linear":
        low, high = (_number(spec.get(k), k, at) for k in ("low", "high"))
        if not low < high:
            raise ConfigError(f"{at}: `low` must be below `high` (use direction to flip), "
                              f"got low={low}, high={high}")
        return replace(comp, low=low, high=high)
    return replace(comp, thresholds=_thresholds(spec.get("thresholds"), direction, at))


def _thresholds(pairs, direction: str, at: str) -> tuple[tuple[float, float], ...]:
    shape = "`thresholds` must be a list of [value, score] pairs, e.g. [[0, 0], [7, 50], [9, 100]]"
    if not isinstance(pairs, list) or not pairs or not all(
            isinstance(p, list | tuple) and len(p) == 2 for p in pairs):
        raise ConfigError(f"{at}: {shape}, got {pairs!r}")
    out = tuple((_number(v, "thresholds value", at), _number(s, "thresholds score", at))
                for v, s in pairs)
    values, scores = np.array([v for v, _ in out]), np.array([s for _, s in out])
    if (np.diff(values) <= 0).any():
        raise ConfigError(f"{at}: threshold values must increase along the list, got {values.tolist()}")
    if ((scores < 0) | (scores > 100)).any():
        raise ConfigError(f"{at}: threshold scores must lie in 0–100, got {scores.tolist()}")
    steps = np.diff(scores)
    if (direction == "higher_is_better" and (steps < 0).any()) or (
            direction == "lower_is_better" and (steps > 0).any()):
        way = "rise" if direction == "higher_is_better" else "fall"
        raise ConfigError(f"{at}: with direction {direction} the threshold scores must {way} "
                          f"along the list, got {scores.tolist()}")
    return out


def _segment_weights(raw, components: dict, where: str) -> dict[str, dict[str, float]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: `segment_weights` must map segments to component weights, "
                          f"got {raw!r}")
    out = {}
    for segment, weights in raw.items():
        at = f"{where}: segment_weights.{segment}"
        if not isinstance(weights, dict):
            raise ConfigError(f"{at} must map component names to weights, got {weights!r}")
        unknown = sorted(set(weights) - set(components))
        if unknown:
            raise ConfigError(f"{at} names unknown components {unknown}; "
                              f"components are {list(components)}")
        out[str(segment)] = {name: _weight(w, f"weight of {name}", at)
                             for name, w in weights.items()}
    return out


def _check(config: HealthConfig, where: str) -> HealthConfig:
    """Checks across keys: every weight set sums above 0 and the bands are in order."""
    for segment in [None, *config.segment_weights]:
        if not config.weights(segment).sum() > 0:
            label = "the default weights" if segment is None else f"the weights of {segment}"
            raise ConfigError(f"{where}: {label} are all 0; give at least one component a "
                              "positive weight")
    red, yellow = config.bands["red"], config.bands["yellow"]
    ordered = red <= yellow if config.kind == "health" else yellow <= red
    if not ordered or min(red, yellow) < 0 or max(red, yellow) > 100:
        order = "red <= yellow" if config.kind == "health" else "yellow <= red (high distress is bad)"
        raise ConfigError(f"{where}: `bands` for kind {config.kind} must be in 0–100 with "
                          f"{order}, got red={red:g}, yellow={yellow:g}")
    return config


def _no_unknown(spec: dict, allowed: set[str], at: str) -> None:
    unknown = sorted(set(map(str, spec)) - allowed)
    if unknown:
        raise ConfigError(f"{at}: unknown keys {unknown}; allowed keys are {sorted(allowed)}")


def _one_of(value, choices, key: str, at: str) -> str:
    if value not in choices:
        raise ConfigError(f"{at}: `{key}` must be one of {list(choices)}, got {value!r}")
    return value


def _number(value, key: str, at: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ConfigError(f"{at}: `{key}` must be a number, got {value!r}")
    return float(value)


def _weight(value, key: str, at: str) -> float:
    number = _number(value, key, at)
    if number < 0:
        raise ConfigError(f"{at}: `{key}` must be a number >= 0, got {value!r}")
    return number
