"""Targets: each headline figure against its goal and against the company's own history.

A targets YAML names goals per metric (``csm_kit/config/targets.yaml`` is the default:
monthly logo churn ≤ 5% and CSAT ≥ 80%, from the source documents). The benchmark is the
company's own trailing 12-month median, not an industry average.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.config_files import read_yaml
from csm_kit.data.survey_settings import SurveySettings
from csm_kit.errors import ConfigError

DIRECTIONS = ("higher_is_better", "lower_is_better")
DEFAULT_NEAR = 0.10


def load_targets(path: str | Path | dict | None = None, *,
                 survey_settings: SurveySettings | None = None) -> dict[str, dict]:
    """Read and check a targets file (``None`` = the packaged default).

    Returns ``{metric: {"target": float, "direction": str, "near": float}}``.

    The direction of a ``ces`` (mean effort) target follows the survey settings' CES direction
    — lower is better when a low score means little effort (the default), higher is better
    when a high one does — so the same file judges either survey correctly; a ``direction``
    written for ``ces`` must agree with it. Other metrics default to higher_is_better.

    >>> load_targets({"nps": {"target": 30, "direction": "higher_is_better"}})["nps"]["near"]
    0.1
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
        default = settings.ces_target_direction if metric == "ces" else "higher_is_better"
        direction = entry.get("direction", default)
        if direction not in DIRECTIONS:
            raise ConfigError(f"`direction` of {metric!r} must be one of {list(DIRECTIONS)}, "
                              f"got {direction!r}")
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
    kpis: pd.DataFrame, *, targets: dict[str, dict] | None = None, history_months: int = 12
) -> pd.DataFrame:
    r"""Judge each headline metric's latest value against its target and its own history.

    Status rules, for a metric whose higher values are better (mirrored otherwise):

    - ``met`` when value ≥ target;
    - ``near`` when target − near × \|target\| ≤ value < target;
    - ``missed`` below that; ``no target`` when the targets name none.

    The benchmark is the median of the ``history_months`` periods *before* the latest one.

    Parameters
    ----------
    kpis : the long KPI table (metric, period, group, value, ...). Only company-wide rows
        (``group`` empty) are judged.
    targets : from :func:`load_targets`; ``None`` = the packaged defaults.

    Returns
    -------
    DataFrame with metric, period (latest), value, target, direction, status,
    trailing_median, vs_history ('better' / 'worse' / 'same' / '' without history).

    Examples
    --------
    Churn 4% against a ≤ 5% target is met; 6% before that makes the history worse:

    >>> kpis = pd.DataFrame({"metric": ["logo_churn_rate"] * 2, "period": ["2024-01", "2024-02"],
    ...                      "group": [None, None], "value": [0.06, 0.04]})
    >>> row = target_status(kpis).iloc[0]
    >>> row["status"], float(row["trailing_median"]), row["vs_history"]
    ('met', 0.06, 'better')
    """
    targets = load_targets() if targets is None else targets
    company = kpis[kpis["group"].isna() | (kpis["group"] == "")].dropna(subset=["value"])
    company = company.sort_values(["metric", "period"])
    rows = []
    for metric, series in company.groupby("metric", sort=True):
        latest = series.iloc[-1]
        history = series["value"].iloc[:-1].tail(history_months)
        goal = targets.get(metric)
        lower = goal is not None and goal["direction"] == "lower_is_better"
        rows.append({
            "metric": metric, "period": latest["period"], "value": float(latest["value"]),
            "target": np.nan if goal is None else goal["target"],
            "direction": "" if goal is None else goal["direction"],
            "status": _status(float(latest["value"]), goal),
            "trailing_median": float(history.median()) if len(history) else np.nan,
            "vs_history": _versus(float(latest["value"]), history, lower=lower),
        })
    return pd.DataFrame(rows, columns=["metric", "period", "value", "target", "direction",
                                       "status", "trailing_median", "vs_history"])


def _status(value: float, goal: dict | None) -> str:
    if goal is None:
        return "no target"
    sign = -1 if goal["direction"] == "lower_is_better" else 1
    gap = sign * (value - goal["target"])
    if gap >= 0:
        return "met"
    return "near" if -gap <= goal["near"] * abs(goal["target"]) else "missed"


def _versus(value: float, history: pd.Series, *, lower: bool) -> str:
    if history.empty:
        return ""
    median = history.median()
    if np.isclose(value, median):
        return "same"
    better = value < median if lower else value > median
    return "better" if better else "worse"
