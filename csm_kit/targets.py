"""Targets and verdicts: each headline figure against its goal and against its own history.

A targets YAML names goals per metric (``csm_kit/config/targets.yaml`` is the default:
monthly logo churn ≤ 5% and CSAT ≥ 80%, from the source documents). The benchmark is the
company's own trailing 12-month median, not an industry average.

Every verdict knows which way is good (the KPI registry's ``direction``: lower churn, lower
effort and fewer hours to close are better) and how sure it can be: a figure from fewer
answers than the metric's minimum gets "too few responses (n = 2)" instead of met or missed,
and a figure whose 95% interval covers the target or the benchmark is "within noise".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.config_files import read_yaml
from csm_kit.data.survey_settings import SurveySettings
from csm_kit.errors import ConfigError

DIRECTIONS = ("higher_is_better", "lower_is_better")
DEFAULT_NEAR = 0.10
WITHIN_NOISE = "within noise"
STATUS_COLUMNS = ["metric", "period", "value", "n", "ci_low", "ci_high", "target", "direction",
                  "status", "trailing_median", "vs_history", "noise", "previous_period",
                  "previous_value", "change"]


def load_targets(path: str | Path | dict | None = None, *,
                 survey_settings: SurveySettings | None = None) -> dict[str, dict]:
    """Read and check a targets file (``None`` = the packaged default).

    Returns ``{metric: {"target": float, "direction": str | None, "near": float}}``.
    ``direction`` may be left out of the file: a metric's direction is the KPI registry's
    (None here means "the metric's own"); a direction that contradicts the registry is an
    error when the verdicts are made.

    The direction of a ``ces`` (mean effort) target follows the survey settings' CES direction
    — lower is better when a low score means little effort (the default), higher is better
    when a high one does — so the same file judges either survey correctly; a ``direction``
    written for ``ces`` must agree with it.

    >>> load_targets({"nps": {"target": 30}})["nps"]
    {'target': 30.0, 'direction': None, 'near': 0.1}
    >>> from csm_kit.data.survey_settings import survey_settings
    >>> high = survey_settings(ces_direction="high")
    >>> load_targets({"ces": {"target": 5}}, survey_settings=high)["ces"]["direction"]
    'higher_is_better'
    """
    raw, _ = read_yaml(path, what="targets file", default="targets.yaml")
    settings = survey_settings or SurveySettings()
    targets = {}
    for metric, entry in (raw or {}).items():
        if not isinstance(entry, dict) or "target" not in entry:
            raise ConfigError(f"target for {metric!r} must be a mapping with a `target` number")
        direction = entry.get("direction")
        if direction is not None and direction not in DIRECTIONS:
            raise ConfigError(f"`direction` of {metric!r} must be one of {list(DIRECTIONS)}, "
                              f"got {direction!r}")
        default = settings.ces_target_direction if metric == "ces" else direction
        direction = default if direction is None else direction
        if metric == "ces" and direction != default:
            raise ConfigError(
                f"the ces target says {direction}, but the CES direction is "
                f"{settings.ces_direction!r} ({settings.ces_label}), so {default}; remove "
                f"`direction` from the ces target (it follows the survey settings) or set "
                f"--ces-direction to match")
        try:
            target = float(entry["target"])
            near = float(entry.get("near", DEFAULT_NEAR))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"`target` and `near` of {metric!r} must be numbers") from exc
        targets[metric] = {"target": target, "direction": direction, "near": near}
    return targets


def target_status(
    kpis: pd.DataFrame,
    *,
    targets: dict[str, dict] | None = None,
    history_months: int = 12,
    rules: Mapping[str, Mapping] | None = None,
) -> pd.DataFrame:
    r"""Judge each headline metric's latest value against its target and its own history.

    Target status, for a metric whose higher values are better (mirrored when lower is):

    - ``too few responses (n = 2)`` when n is below the metric's minimum (never met/missed);
    - ``within noise`` when the latest 95% interval covers the target;
    - ``met`` when value ≥ target;
    - ``near`` when target − near × \|target\| ≤ value < target;
    - ``missed`` below that; ``no target`` when the targets name none.

    History: the benchmark is the median of the ``history_months`` periods *before* the
    latest one; ``vs_history`` says whether the latest value is ``better``, ``worse`` or the
    ``same`` in the metric's direction (``higher``/``lower`` when its direction is unknown),
    and ``noise`` says when that comparison cannot be trusted: ``within noise`` when the
    latest interval covers the benchmark, ``too few responses (n = 2)`` below the minimum n.

    Parameters
    ----------
    kpis : the long KPI table (metric, period, group, value[, n, ci_low, ci_high]). Only
        company-wide rows (``group`` empty) are judged.
    targets : from :func:`load_targets`; ``None`` = the packaged defaults.
    history_months : periods in the benchmark.
    rules : per metric, how to judge it: ``direction`` ("higher_is_better" /
        "lower_is_better"), ``min_n`` (fewest answers for a verdict, default 0) and ``n_noun``
        (what n counts, default "responses"). The KPI registry supplies them
        (:func:`csm_kit.kpis.kpi_rules`); a metric without a rule takes the target's direction.

    Returns
    -------
    DataFrame with metric, period (latest), value, n, ci_low, ci_high, target, direction
    ('' when unknown), status, trailing_median, vs_history, noise, previous_period,
    previous_value and change (value − previous value, in the metric's unit).

    Raises
    ------
    ConfigError
        When a target's direction contradicts the metric's own.

    Examples
    --------
    Churn 4% against a ≤ 5% target is met; 6% before that makes the history better:

    >>> kpis = pd.DataFrame({"metric": ["logo_churn_rate"] * 2, "period": ["2024-01", "2024-02"],
    ...                      "group": [None, None], "value": [0.06, 0.04]})
    >>> rules = {"logo_churn_rate": {"direction": "lower_is_better"}}
    >>> row = target_status(kpis, rules=rules).iloc[0]
    >>> row["status"], float(row["trailing_median"]), row["vs_history"], round(float(row["change"]), 2)
    ('met', 0.06, 'better', -0.02)
    """
    targets = load_targets() if targets is None else targets
    rules = rules or {}
    company = kpis[kpis["group"].isna() | (kpis["group"] == "")].dropna(subset=["value"])
    company = company.sort_values(["metric", "period"])
    rows = [_judged(metric, series, targets.get(metric), rules.get(metric, {}), history_months)
            for metric, series in company.groupby("metric", sort=True)]
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)


def _judged(metric: str, series: pd.DataFrame, goal: dict | None, rule: Mapping,
            history_months: int) -> dict:
    latest = series.iloc[-1]
    value = float(latest["value"])
    history = series["value"].iloc[:-1].tail(history_months)
    direction = _direction(metric, rule.get("direction"), goal)
    n = _number(latest, "n")
    interval = (_number(latest, "ci_low"), _number(latest, "ci_high"))
    too_few = _too_few(n, rule)
    median = float(history.median()) if len(history) else np.nan
    previous = series.iloc[-2] if len(series) > 1 else None
    return {
        "metric": metric, "period": latest["period"], "value": value, "n": n,
        "ci_low": interval[0], "ci_high": interval[1],
        "target": np.nan if goal is None else goal["target"],
        "direction": direction or "",
        "status": _status(value, goal, direction, interval, too_few),
        "trailing_median": median,
        "vs_history": _versus(value, median, direction),
        "noise": too_few or (WITHIN_NOISE if _covers(interval, median) else ""),
        "previous_period": None if previous is None else previous["period"],
        "previous_value": np.nan if previous is None else float(previous["value"]),
        "change": np.nan if previous is None else value - float(previous["value"]),
    }


def _direction(metric: str, own: str | None, goal: dict | None) -> str | None:
    stated = None if goal is None else goal.get("direction")
    if own is not None and stated is not None and stated != own:
        raise ConfigError(
            f"the targets file says {metric!r} is {stated}, but {metric} is {own}; remove "
            f"`direction` from its target (the metric's own direction is used)")
    if goal is not None and own is None and stated is None:
        raise ConfigError(
            f"the target for {metric!r} needs a `direction` (higher_is_better or "
            f"lower_is_better): {metric} is not a metric of the KPI registry")
    return own or stated


def _number(row: pd.Series, column: str) -> float:
    return float(row[column]) if column in row.index and pd.notna(row[column]) else np.nan


def _too_few(n: float, rule: Mapping) -> str:
    """'too few responses (n = 2)' when n is known and below the rule's minimum, else ''."""
    minimum = rule.get("min_n", 0) or 0
    if np.isnan(n) or n >= minimum:
        return ""
    return f"too few {rule.get('n_noun', 'responses')} (n = {n:,.0f})"


def _covers(interval: tuple[float, float], benchmark: float) -> bool:
    low, high = interval
    return not (np.isnan(low) or np.isnan(high) or np.isnan(benchmark)) and low <= benchmark <= high


def _status(value: float, goal: dict | None, direction: str | None,
            interval: tuple[float, float], too_few: str) -> str:
    if goal is None:
        return "no target"
    if too_few:
        return too_few
    if _covers(interval, goal["target"]):
        return WITHIN_NOISE
    sign = -1 if direction == "lower_is_better" else 1
    gap = sign * (value - goal["target"])
    if gap >= 0:
        return "met"
    return "near" if -gap <= goal["near"] * abs(goal["target"]) else "missed"


def _versus(value: float, median: float, direction: str | None) -> str:
    if np.isnan(median):
        return ""
    if np.isclose(value, median):
        return "same"
    if direction is None:
        return "higher" if value > median else "lower"
    better = value < median if direction == "lower_is_better" else value > median
    return "better" if better else "worse"
