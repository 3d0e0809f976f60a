"""Satisfaction from survey responses: NPS, CSAT and CES by period, segment, CSM or agent.

``surveys`` (response_id, customer_id, date, survey, score[, csm, agent]) → one row per period
(and group) with the figure, its ``n``, the counts behind it, an interval and a small-sample
flag. Only responses of the metric's own survey type are read (``survey == "nps"`` for
:func:`nps`, and so on); a period without responses has no row, it is not shown as 0.

Grouping (``by=``) uses the surveys' own column when it has one (``csm``, ``agent``: who owned
the account or answered the ticket *at the time*), otherwise the ``customers`` column
(``segment``, ``plan``, current ``csm``) joined on customer_id. Responses whose customer has no
value stay in the result under a missing group rather than being dropped.

Scales, what counts as satisfied and the CES direction are survey settings
(:class:`~csm_kit.data.survey_settings.SurveySettings`): a loaded dataset carries them as
``dataset.survey_settings``; pass them with ``settings=`` (an explicit ``scale=`` and the like
wins over them). The NPS change from period to period and a generic score trend for other
survey types (e.g. ``review`` stars) live in :mod:`csm_kit.survey_trends`.

Whether detractors churn more (:func:`csm_kit.nps_churn.churn_by_nps_category`) links these
answers to subscriptions and lives in :mod:`csm_kit.nps_churn`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.data.survey_settings import SurveySettings, survey_settings
from csm_kit.errors import ConfigError
from csm_kit.grouping import group_keys, in_periods, with_group
from csm_kit.periods import period_start
from csm_kit.stats import mean_interval, nps_difference_test, nps_interval, wilson_interval

NPS_CATEGORIES = ("promoter", "passive", "detractor")
PROMOTER_MIN, PASSIVE_MIN = 9, 7  # 9–10 promoters, 7–8 passives, 0–6 detractors


def _check_min_n(min_n) -> None:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ConfigError(f"`min_n` must be a whole number >= 0, got {min_n!r}")


def _check_scale(scale) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in scale)
        ok = [low, high] == list(scale) and high - low >= 2
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"`scale` must be (lowest, highest) whole numbers at least 2 apart, "
                          f"e.g. (1, 5), got {scale!r}")
    return low, high


def settings_for(kind: str, settings: SurveySettings | None, *, scale=None, satisfied=None,
                 ces_direction=None) -> SurveySettings:
    """The survey settings a metric of survey type ``kind`` uses: ``settings`` (default: the
    defaults) with the explicit ``scale`` / ``satisfied`` / ``ces_direction`` arguments on top.

    >>> settings_for("csat", None, scale=(1, 10)).satisfied_label("csat")
    '9–10'
    """
    if settings is not None and not isinstance(settings, SurveySettings):
        raise ConfigError(f"`settings` must be SurveySettings (dataset.survey_settings), "
                          f"got {type(settings).__name__}")
    scales = None if scale is None else {kind: _check_scale(scale)}
    rules = None if satisfied is None else {kind: satisfied}
    return survey_settings(scales=scales, satisfied=rules, ces_direction=ces_direction,
                           base=settings)


def survey_responses(surveys, kind, *, freq, by, customers, as_of, scale=None) -> pd.DataFrame:
    """Responses of one survey type up to the as-of month, with ``period`` and ``by`` attached.

    Responses without a score are left out with a warning; with ``scale`` = (lowest, highest),
    a score outside it is a ConfigError naming the option to set.

    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "survey": ["NPS", "csat"],
    ...                   "score": [9.0, 4.0], "date": pd.to_datetime(["2024-01-31"] * 2)})
    >>> survey_responses(s, "nps", freq="M", by=None, customers=None, as_of=None)["score"].tolist()
    [9.0]
    """
    own = surveys[surveys["survey"].str.lower() == kind]
    missing = own["score"].isna()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} {kind} responses have no score and are left out",
                      stacklevel=3)
        own = own[~missing]
    if scale is not None:
        outside = (own["score"] < scale[0]) | (own["score"] > scale[1])
        if outside.any():
            example = own.loc[outside, "score"].iloc[0]
            raise ConfigError(f"{int(outside.sum())} {kind} scores lie outside the {kind} scale "
                              f"{scale[0]}-{scale[1]}, e.g. {example:g}; declare your survey's "
                              f"scale, e.g. --survey-scales {kind}=1-10 (in Python: scale= or "
                              f"settings=dataset.survey_settings)")
    own = in_periods(own, "date", freq=freq, as_of=as_of, data_dates=surveys["date"])
    return with_group(own, by, customers, table="surveys")


def _finish(table: pd.DataFrame, columns: list[str], min_n: int) -> pd.DataFrame:
    table = table.reset_index()
    table["small_sample"] = table["n"] < min_n
    return table[columns + ["small_sample"]].reset_index(drop=True)


# --------------------------------------------------------------------------- NPS


def nps_counts(responses: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Promoters (9–10), passives (7–8), detractors (0–6) and n of NPS responses per ``keys``."""
    score = responses["score"]
    flags = pd.DataFrame({"promoters": score >= PROMOTER_MIN,
                          "passives": (score >= PASSIVE_MIN) & (score < PROMOTER_MIN),
                          "detractors": score < PASSIVE_MIN})
    counts = flags.groupby([responses[k] for k in keys], dropna=False).sum().astype("int64")
    counts["n"] = counts.sum(axis=1)
    return counts


def nps(surveys: pd.DataFrame, *, freq: str = "M", by: str | None = None,
        customers: pd.DataFrame | None = None, min_n: int = 30, as_of=None) -> pd.DataFrame:
    r"""Net Promoter Score per period (and group) with an adjusted-Wald interval.

    The share of promoters (9–10 on 0–10) minus the share of detractors (0–6), in points:

    .. math:: \mathrm{NPS} = 100\left(\frac{P}{n} - \frac{D}{n}\right)

    where P, D and n count promoters, detractors and all NPS responses of the period.

    Parameters
    ----------
    surveys : survey responses; only rows with ``survey == "nps"`` are read.
    freq : ``"M"``, ``"Q"`` or ``"Y"`` — the period of the response date.
    by : optional column of surveys (csm, agent) or of customers (segment, plan, csm).
    customers : the customers table; needed when ``by`` is not a column of surveys.
    min_n : figures from fewer responses than this are flagged ``small_sample``.
    as_of : keep responses up to the end of this month (default: last complete month in surveys).

    Returns
    -------
    DataFrame with period (first day), [by], value (NPS points, −100..100, float), n,
    promoters, passives, detractors (counts), ci_low, ci_high (95% adjusted-Wald, points,
    :func:`csm_kit.stats.nps_interval`) and small_sample (n < min_n).

    Notes
    -----
    Fractional scores are classed by range (≥ 9 promoter, < 7 detractor). A period with no NPS
    response has no row. Show ``value`` rounded to a whole number; it is kept as a float.

    Examples
    --------
    Two promoters, one passive, one detractor: (2 − 1) ÷ 4 = 25 points.

    >>> s = pd.DataFrame({"customer_id": list("abcd"), "survey": "nps", "score": [10, 9, 7, 3.0],
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-20",
    ...                                           "2024-01-31"])})
    >>> out = nps(s, min_n=4)[["value", "n", "promoters", "detractors", "small_sample"]]
    >>> print(out.to_string())
       value  n  promoters  detractors  small_sample
    0   25.0  4          2           1         False
    """
    _check_min_n(min_n)
    responses = survey_responses(surveys, "nps", freq=freq, by=by, customers=customers, as_of=as_of)
    table = nps_counts(responses, group_keys(by))
    table["value"] = 100 * (table["promoters"] - table["detractors"]) / table["n"]
    table["ci_low"], table["ci_high"] = nps_interval(table["promoters"], table["detractors"],
                                                     table["n"])
    return _finish(table, group_keys(by) + ["value", "n", "promoters", "passives", "detractors",
                                            "ci_low", "ci_high"], min_n)


def nps_categories(surveys: pd.DataFrame, *, freq: str = "M", by: str | None = None,
                   customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    """Share of promoters, passives and detractors per period — the mix behind the NPS trend.

    Parameters are those of :func:`nps`.

    Returns
    -------
    DataFrame with period, [by], promoters_share, passives_share, detractors_share (each 0–1,
    summing to 1) and n (responses).

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": list("abcd"), "survey": "nps", "score": [10, 9, 8, 0.0],
    ...                   "date": pd.to_datetime(["2024-01-05"] * 3 + ["2024-01-31"])})
    >>> print(nps_categories(s).drop(columns="period").to_string())
       promoters_share  passives_share  detractors_share  n
    0              0.5            0.25              0.25  4
    """
    responses = survey_responses(surveys, "nps", freq=freq, by=by, customers=customers, as_of=as_of)
    table = nps_counts(responses, group_keys(by))
    for name in ("promoters", "passives", "detractors"):
        table[f"{name}_share"] = table[name] / table["n"]
    table = table.reset_index()
    return table[group_keys(by) + ["promoters_share", "passives_share", "detractors_share", "n"]]


@dataclass(frozen=True)
class NpsChange:
    """The change in NPS from ``a`` to ``b`` (b − a, points) with its interval and p-value."""

    a: object
    b: object
    nps_a: float
    nps_b: float
    n_a: int
    n_b: int
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float


def nps_change(surveys: pd.DataFrame, *, a, b, by: str | None = None,
               customers: pd.DataFrame | None = None, freq: str = "M", as_of=None) -> NpsChange:
    r"""Test whether NPS differs between two periods, or between two groups.

    Without ``by``, ``a`` and ``b`` are dates naming two periods of ``freq`` (``"2024-01"``);
    with ``by``, they are two values of that column (``"SMB"``, ``"Enterprise"``) compared over
    all responses given (filter the dates first). The difference :math:`\mathrm{NPS}_b -
    \mathrm{NPS}_a` is tested with adjusted-Wald variances
    (:func:`csm_kit.stats.nps_difference_test`).

    Parameters
    ----------
    a, b : the two periods (dates) or, with ``by``, the two group values; b is compared with a.
    by, customers : optional grouping, as in :func:`nps`.
    freq : period length used to read ``a`` and ``b`` as periods (ignored with ``by``).
    as_of : responses after the end of this month are left out (default as in :func:`nps`).

    Returns
    -------
    NpsChange with a, b, nps_a, nps_b (points), n_a, n_b, difference (points, b − a),
    ci_low, ci_high (95%, points), z and p_value (two-sided).

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": list("abcd"), "survey": "nps", "score": [10, 0, 10, 10.0],
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-01",
    ...                                           "2024-02-29"])})
    >>> res = nps_change(s, a="2024-01", b="2024-02")
    >>> res.nps_a, res.nps_b, res.difference
    (0.0, 100.0, 100.0)
    """
    responses = survey_responses(surveys, "nps", freq=freq, by=by, customers=customers, as_of=as_of)
    if by is None:
        key, a_key, b_key = "period", _period_label(a, freq, "a"), _period_label(b, freq, "b")
    else:
        key, a_key, b_key = by, a, b
    counts = nps_counts(responses, [key])
    for name, label in (("a", a_key), ("b", b_key)):
        if label not in counts.index:
            shown = [str(v)[:10] for v in counts.index[:6]]
            raise ConfigError(f"`{name}={label!r}` has no NPS responses in {key}; "
                              f"values with responses: {shown}")
    ca, cb = counts.loc[a_key], counts.loc[b_key]
    test = nps_difference_test(ca["promoters"], ca["detractors"], ca["n"],
                               cb["promoters"], cb["detractors"], cb["n"])
    return NpsChange(a=a, b=b, nps_a=_points(ca), nps_b=_points(cb), n_a=int(ca["n"]),
                     n_b=int(cb["n"]), **test)


def _period_label(value, freq: str, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"`{name}` must be a date naming a period, e.g. '2024-01', "
                          f"got {value!r}") from exc
    return period_start(pd.Series([ts]), freq).iloc[0]


def _points(counts: pd.Series) -> float:
    return float(100 * (counts["promoters"] - counts["detractors"]) / counts["n"])


# --------------------------------------------------------------------------- CSAT and CES


def csat(surveys: pd.DataFrame, *, freq: str = "M", by: str | None = None,
         customers: pd.DataFrame | None = None, scale: tuple[int, int] | None = None,
         satisfied: float | str | None = None, settings: SurveySettings | None = None,
         min_n: int = 30, as_of=None) -> pd.DataFrame:
    r"""Customer satisfaction: the share of satisfied responses (top two boxes), plus the mean.

    .. math:: \mathrm{CSAT} = \frac{\#\{\text{score} \ge s\}}{n}

    where s, the lowest satisfied score, is highest − 1 by default (the top two boxes: 4–5 on
    1–5, 9–10 on 1–10 or 0–10) or a score set in the survey settings ("≥ 8").

    Parameters
    ----------
    scale : (lowest, highest) score of the CSAT question; scores outside it raise ConfigError.
        Default: from ``settings`` (1–5 without).
    satisfied : the lowest satisfied score, or ``"top-two-box"``. Default: from ``settings``.
    settings : survey settings, usually ``dataset.survey_settings``.
    Others as in :func:`nps`.

    Returns
    -------
    DataFrame with period, [by], value (share in the top two boxes, 0–1), n, satisfied
    (responses in the top two boxes), mean (mean score, scale units), ci_low, ci_high (95%
    Wilson interval of value) and small_sample (n < min_n).

    Examples
    --------
    Three of four answers are 4 or 5: CSAT 75%, mean (5 + 4 + 4 + 2) ÷ 4 = 3.75.

    >>> s = pd.DataFrame({"customer_id": list("abcd"), "survey": "csat", "score": [5, 4, 4, 2.0],
    ...                   "date": pd.to_datetime(["2024-01-05"] * 3 + ["2024-01-31"])})
    >>> print(csat(s)[["value", "n", "satisfied", "mean"]].to_string())
       value  n  satisfied  mean
    0   0.75  4          3  3.75

    On a 1–10 scale the top two boxes are 9 and 10: one answer of 9 and one of 8 give 50%.

    >>> s10 = s.tail(2).assign(score=[9.0, 8.0])
    >>> float(csat(s10, scale=(1, 10))["value"].iloc[0])
    0.5
    """
    _check_min_n(min_n)
    settings = settings_for("csat", settings, scale=scale, satisfied=satisfied)
    responses = survey_responses(surveys, "csat", freq=freq, by=by, customers=customers,
                           as_of=as_of, scale=settings.scale("csat"))
    keys = group_keys(by)
    scored = responses.assign(satisfied=responses["score"] >= settings.satisfied_from("csat"))
    table = scored.groupby(keys, dropna=False).agg(
        n=("score", "size"), satisfied=("satisfied", "sum"), mean=("score", "mean"))
    table["value"] = table["satisfied"] / table["n"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["satisfied"], table["n"])
    return _finish(table, keys + ["value", "n", "satisfied", "mean", "ci_low", "ci_high"], min_n)


def ces(surveys: pd.DataFrame, *, freq: str = "M", by: str | None = None,
        customers: pd.DataFrame | None = None, scale: tuple[int, int] | None = None,
        low_effort_is: str | None = None, settings: SurveySettings | None = None,
        min_n: int = 30, as_of=None) -> pd.DataFrame:
    r"""Customer effort score: the mean answer and the share of low-effort answers.

    Sources disagree on direction — "1 = least effort is ideal" versus "high is good" — so it
    is configuration. A low-effort answer lies strictly on the low-effort side of the
    scale's midpoint :math:`m = (\text{lowest} + \text{highest}) / 2`: below it when
    ``low_effort_is="low"``, above it when ``"high"`` (on 1–7: 1–3 or 5–7; 4 is neutral).

    Parameters
    ----------
    scale : (lowest, highest) score of the CES question; scores outside it raise ConfigError.
        Default: from ``settings`` (1–7 without).
    low_effort_is : ``"low"`` (small numbers mean little effort) or ``"high"``. Default: the
        settings' CES direction (``"low"`` without).
    settings : survey settings, usually ``dataset.survey_settings``.
    Others as in :func:`nps`.

    Returns
    -------
    DataFrame with period, [by], value (mean score, scale units), n, low_effort (count),
    low_effort_share (0–1), ci_low, ci_high (95% t interval of the mean, NaN for n < 2) and
    small_sample (n < min_n).

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": list("abc"), "survey": "ces", "score": [1, 2, 6.0],
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-31"])})
    >>> out = ces(s, low_effort_is="low")[["value", "low_effort", "low_effort_share"]]
    >>> print(out.round(2).to_string())
       value  low_effort  low_effort_share
    0    3.0           2              0.67

    When a high CES means little effort, only the 6 is a low-effort answer:

    >>> float(ces(s, low_effort_is="high")["low_effort_share"].iloc[0].round(2))
    0.33
    """
    _check_min_n(min_n)
    if low_effort_is is not None and low_effort_is not in ("low", "high"):
        raise ConfigError(f"`low_effort_is` must be one of ['high', 'low'], got {low_effort_is!r}")
    settings = settings_for("ces", settings, scale=scale, ces_direction=low_effort_is)
    low, high = settings.scale("ces")
    responses = survey_responses(surveys, "ces", freq=freq, by=by, customers=customers,
                           as_of=as_of, scale=(low, high))
    keys = group_keys(by)
    midpoint = (low + high) / 2
    score = responses["score"]
    easy = score < midpoint if settings.low_effort_is == "low" else score > midpoint
    grouped = responses.assign(low_effort=easy).groupby(keys, dropna=False)
    table = grouped.agg(n=("score", "size"), low_effort=("low_effort", "sum"),
                        value=("score", "mean"))
    bounds = grouped["score"].agg(mean_interval)  # one call per group, not per response
    table[["ci_low", "ci_high"]] = pd.DataFrame(bounds.tolist(), index=bounds.index,
                                                columns=["ci_low", "ci_high"], dtype="float64")
    table["low_effort_share"] = table["low_effort"] / table["n"]
    return _finish(table, keys + ["value", "n", "low_effort", "low_effort_share",
                                  "ci_low", "ci_high"], min_n)
