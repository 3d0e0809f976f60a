"""Survey settings: each survey type's scale, what counts as satisfied, and CES direction.

Survey questions differ between companies: CSAT on 1–5, 1–10 or 0–10, CES on 1–5 or 1–7,
and sources disagree on whether a low or a high CES is the easy end. These choices are made
once — in the ``surveys:`` entry of the mapping file or with ``--survey-scales`` /
``--ces-direction`` — and travel with the loaded :class:`~csm_kit.data.loading.Dataset` as
its ``survey_settings``, so every metric, chart label, target and report reads the same.

In the mapping file::

    surveys:
      table: survey_responses.csv          # as for any table (optional)
      scales: {csat: 1-10, ces: 1-5, review: 1-5}
      satisfied: {csat: top-two-box}       # or a minimum score, e.g. {csat: ">= 8"}
      ces_direction: high                  # low (default): 1 = least effort; high: 7 = least

On the command line: ``--survey-scales csat=1-10,ces=1-5 --ces-direction high``.

A survey type other than nps, csat and ces (e.g. ``review`` with 1–5 stars from third-party
sites) is accepted once its scale is declared, and gets a generic score trend
(:func:`csm_kit.survey_trends.survey_scores`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from csm_kit.errors import ConfigError

#: The scales of the three standard survey types: (lowest score, highest score).
DEFAULT_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
CES_DIRECTIONS = ("low", "high")
TOP_TWO_BOX = "top-two-box"
SETTINGS_KEYS = ("scales", "satisfied", "ces_direction")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SCALE = re.compile(r"^\s*(-?\d+)\s*(?:-|–|\.\.|to)\s*(-?\d+)\s*$")
_AT_LEAST = re.compile(r"^\s*(?:>=|≥)?\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class SurveySettings:
    """How to read survey scores: scales, the satisfied threshold and CES direction.

    Attributes
    ----------
    scales : every known survey type and its (lowest, highest) score; always includes nps
        (0–10), csat and ces.
    satisfied : per survey type, the lowest score counted as satisfied; a type not listed
        uses the top two boxes (highest − 1 and highest).
    ces_direction : ``"low"`` when a low CES means little effort (the default), ``"high"``
        when a high CES does.

    Examples
    --------
    >>> s = survey_settings(scales="csat=1-10", ces_direction="high")
    >>> s.scale("csat"), s.satisfied_from("csat"), s.satisfied_label("csat"), s.ces_label
    ((1, 10), 9.0, '9–10', '7 = least effort')
    """

    scales: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_SCALES))
    satisfied: Mapping[str, float] = field(default_factory=dict)
    ces_direction: str = "low"

    def scale(self, survey: str) -> tuple[int, int]:
        """The (lowest, highest) score of a survey type."""
        try:
            return self.scales[survey]
        except KeyError:
            raise ConfigError(f"survey type {survey!r} has no scale; declare it, e.g. "
                              f"--survey-scales {survey}=1-5") from None

    def satisfied_from(self, survey: str) -> float:
        """The lowest score counted as satisfied: the top two boxes unless set otherwise."""
        if survey in self.satisfied:
            return float(self.satisfied[survey])
        return float(self.scale(survey)[1] - 1)

    def satisfied_label(self, survey: str) -> str:
        """The satisfied answers in words for titles, e.g. ``"4–5"`` or ``"8–10"``."""
        low = self.satisfied_from(survey)
        high = self.scale(survey)[1]
        return f"{low:g}–{high:g}" if low < high else f"{high:g}"

    @property
    def low_effort_is(self) -> str:
        """``"low"`` or ``"high"``: which end of the CES scale means little effort."""
        return self.ces_direction

    @property
    def ces_label(self) -> str:
        """Which CES answer is the easy one, for chart titles: ``"1 = least effort"``."""
        low, high = self.scale("ces")
        return f"{low if self.ces_direction == 'low' else high} = least effort"

    @property
    def ces_target_direction(self) -> str:
        """The direction a CES mean target takes: lower_is_better when low means easy."""
        return "lower_is_better" if self.ces_direction == "low" else "higher_is_better"

    @property
    def other_surveys(self) -> list[str]:
        """Declared survey types beyond nps, csat and ces (e.g. ``review``)."""
        return sorted(s for s in self.scales if s not in DEFAULT_SCALES)

    def as_dict(self) -> dict:
        """Plain values (for a manifest or a report snapshot); :meth:`from_dict` reads them back.

        >>> s = survey_settings(scales="csat=1-10", satisfied="csat=>=8", ces_direction="high")
        >>> SurveySettings.from_dict(s.as_dict()) == s
        True
        """
        return {"scales": {k: f"{v[0]}-{v[1]}" for k, v in self.scales.items()},
                "satisfied": {k: float(v) for k, v in self.satisfied.items()},
                "ces_direction": self.ces_direction}

    @classmethod
    def from_dict(cls, values: dict) -> SurveySettings:
        """Survey settings from :meth:`as_dict`'s plain values (checked again)."""
        return survey_settings(**values)

    def describe(self) -> str:
        """One line for report headers: the scales and rules in use."""
        scales = ", ".join(f"{k} {v[0]}–{v[1]}" for k, v in sorted(self.scales.items()))
        return (f"Survey scales: {scales}; CSAT satisfied = {self.satisfied_label('csat')}; "
                f"CES: {self.ces_label}.")


def survey_settings(
    *,
    scales: str | Mapping[str, Any] | None = None,
    satisfied: str | Mapping[str, Any] | None = None,
    ces_direction: str | None = None,
    base: SurveySettings | None = None,
) -> SurveySettings:
    """Build checked survey settings; anything not given keeps ``base`` (default: the defaults).

    Parameters
    ----------
    scales : ``"csat=1-10,ces=1-5"`` or a mapping ``{"csat": "1-10"}`` / ``{"csat": (1, 10)}``.
        NPS is always 0–10. New survey types (``review=1-5``) are declared here.
    satisfied : per survey type the lowest satisfied score, ``"top-two-box"`` (the default
        rule) or a number / ``">= 8"``; as text ``"csat=>=8"`` or a mapping.
    ces_direction : ``"low"`` (a low CES means little effort) or ``"high"``.
    base : settings to start from.

    Raises
    ------
    ConfigError
        Naming the survey type and the value, e.g. a scale whose ends are not whole numbers at
        least 2 apart, or a satisfied score outside the scale.

    Examples
    --------
    >>> survey_settings(scales={"csat": "0-10", "review": [1, 5]}).scales["review"]
    (1, 5)
    >>> survey_settings(satisfied="csat=>=4").satisfied_from("csat")
    4.0
    >>> survey_settings(scales="nps=1-10")
    Traceback (most recent call last):
    ...
    csm_kit.errors.ConfigError: the nps scale is always 0-10 (promoters 9-10, detractors 0-6), got 1-10
    """
    base = base or SurveySettings()
    merged = dict(base.scales)
    for name, value in _pairs(scales, "scales").items():
        merged[name] = _scale(name, value)
    rules = dict(base.satisfied)
    for name, value in _pairs(satisfied, "satisfied").items():
        rule = _satisfied(name, value)
        if rule is None:
            rules.pop(name, None)
        else:
            rules[name] = rule
    for name, low in rules.items():
        if name not in merged:
            raise ConfigError(f"satisfied names survey type {name!r}, which has no scale; "
                              f"declare it, e.g. --survey-scales {name}=1-5")
        lowest, highest = merged[name]
        if not lowest < low <= highest:
            raise ConfigError(f"the satisfied score of {name} must lie above the lowest and at "
                              f"most the highest score of its scale {lowest}-{highest}, got {low:g}")
    direction = base.ces_direction if ces_direction is None else ces_direction
    if direction not in CES_DIRECTIONS:
        raise ConfigError(f"CES direction must be one of {list(CES_DIRECTIONS)} (low = a low "
                          f"score means little effort), got {direction!r}")
    return SurveySettings(scales=merged, satisfied=rules, ces_direction=direction)


def settings_from_mapping(entry: Mapping[str, Any] | list | None) -> dict[str, Any]:
    """The survey-settings keys of the mapping file's ``surveys:`` entry, as keyword arguments.

    A ``surveys:`` entry that stacks several sources (a list) may set them on any source; a
    later source's setting wins.

    >>> settings_from_mapping({"table": "s.csv", "scales": {"csat": "1-10"}})
    {'scales': {'csat': '1-10'}}
    >>> settings_from_mapping([{"table": "a.csv"}, {"table": "b.csv", "ces_direction": "high"}])
    {'ces_direction': 'high'}
    """
    parts = entry if isinstance(entry, list) else [entry]
    return {k: v for part in parts for k, v in (part or {}).items() if k in SETTINGS_KEYS}


def _pairs(value, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        pairs = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, rest = part.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"survey {what} must read like csat=1-10,ces=1-5, got {value!r}")
            pairs[name.strip().lower()] = rest.strip()
        return pairs
    if isinstance(value, Mapping):
        pairs = {}
        for name, v in value.items():
            if not isinstance(name, str):
                raise ConfigError(f"survey {what} must be keyed by survey type, got {name!r}")
            pairs[name.strip().lower()] = v
        return pairs
    raise ConfigError(f"survey {what} must be text like csat=1-10 or a mapping, got {value!r}")


def _scale(name: str, value) -> tuple[int, int]:
    if not _NAME.match(name):
        raise ConfigError(f"survey type names are lower-case words (e.g. review), got {name!r}")
    if isinstance(value, str):
        match = _SCALE.match(value)
        ends = (int(match[1]), int(match[2])) if match else None
    elif isinstance(value, list | tuple) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        ends = (int(value[0]), int(value[1]))
    else:
        ends = None
    if ends is None or ends[1] - ends[0] < 2:
        raise ConfigError(f"the {name} scale must be lowest-highest whole numbers at least 2 "
                          f"apart, e.g. {name}=1-5, got {value!r}")
    if name == "nps" and ends != (0, 10):
        raise ConfigError(f"the nps scale is always 0-10 (promoters 9-10, detractors 0-6), "
                          f"got {ends[0]}-{ends[1]}")
    return ends


def _satisfied(name: str, value) -> float | None:
    if isinstance(value, str) and value.strip().lower().replace("_", "-") in (TOP_TWO_BOX,
                                                                             "top-2-box"):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _AT_LEAST.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"the satisfied rule of {name} must be top-two-box or a minimum "
                          f"score such as >= 8, got {value!r}")
    return float(match[1])
