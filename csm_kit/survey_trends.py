"""Survey figures over time: the NPS change from each period to the next, and a score trend
for any declared survey type (e.g. ``review`` stars).

Both read responses exactly as :mod:`csm_kit.satisfaction` does (the same survey types, as-of
rule, grouping and survey settings) and add the comparison or the generic summary on top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.data.survey_settings import SurveySettings
from csm_kit.errors import ConfigError
from csm_kit.grouping import group_keys
from csm_kit.satisfaction import nps_counts, settings_for, survey_responses
from csm_kit.stats import mean_interval, nps_difference_test


def _check_min_n(min_n) -> None:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ConfigError(f"`min_n` must be a whole number >= 0, got {min_n!r}")

def nps_changes(surveys: pd.DataFrame, *, freq: str = "M", by: str | None = None,
                customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    r"""NPS change from each period to the next, with its interval and test.

    For every period p whose previous period p − 1 also has NPS responses (in the same group):

    .. math:: \Delta_p = \mathrm{NPS}_p - \mathrm{NPS}_{p-1}

    tested as in :func:`csm_kit.satisfaction.nps_change` (adjusted-Wald variances of the two
    independent periods, :func:`csm_kit.stats.nps_difference_test`): the interval excludes 0
    exactly when the two-sided p-value is below 5%.

    Parameters
    ----------
    Those of :func:`csm_kit.satisfaction.nps`.

    Returns
    -------
    DataFrame with period (first day), [by], value (change, NPS points), nps, previous_nps
    (points), n, previous_n (responses), ci_low, ci_high (95%, points), z, p_value and
    significant (p_value < 0.05).

    Notes
    -----
    The previous period is the calendar period just before (the month before, for
    ``freq="M"``); a period whose previous one has no NPS response has no row — the change is
    never taken across a gap.

    Examples
    --------
    January: one promoter, one detractor (NPS 0); February: two promoters (NPS 100).

    >>> s = pd.DataFrame({"customer_id": list("abcd"), "survey": "nps", "score": [10, 0, 10, 9.0],
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-01",
    ...                                           "2024-02-29"])})
    >>> print(nps_changes(s)[["period", "value", "nps", "previous_nps", "n"]].to_string())
          period  value    nps  previous_nps  n
    0 2024-02-01  100.0  100.0           0.0  2
    """
    responses = survey_responses(surveys, "nps", freq=freq, by=by, customers=customers, as_of=as_of)
    keys = group_keys(by)
    counts = nps_counts(responses, keys).reset_index()
    step = {"M": pd.DateOffset(months=1), "Q": pd.DateOffset(months=3),
            "Y": pd.DateOffset(years=1)}[freq]
    previous = counts.assign(period=counts["period"] + step)
    paired = counts.merge(previous, on=keys, suffixes=("", "_previous"))
    tests = [nps_difference_test(r.promoters_previous, r.detractors_previous, r.n_previous,
                                 r.promoters, r.detractors, r.n)
             for r in paired.itertuples(index=False)]
    tests = pd.DataFrame(tests, columns=["difference", "ci_low", "ci_high", "z", "p_value"],
                         index=paired.index)
    out = paired[keys].assign(
        value=tests["difference"],
        nps=100 * (paired["promoters"] - paired["detractors"]) / paired["n"],
        previous_nps=100 * (paired["promoters_previous"] - paired["detractors_previous"])
        / paired["n_previous"],
        n=paired["n"].astype("int64"), previous_n=paired["n_previous"].astype("int64"),
        ci_low=tests["ci_low"], ci_high=tests["ci_high"], z=tests["z"],
        p_value=tests["p_value"])
    out["significant"] = out["p_value"] < 0.05
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def survey_scores(surveys: pd.DataFrame, *, survey: str | list[str] | None = None,
                  settings: SurveySettings | None = None, freq: str = "M",
                  by: str | None = None, customers: pd.DataFrame | None = None,
                  min_n: int = 30, as_of=None) -> pd.DataFrame:
    r"""A generic score trend for any declared survey type (e.g. ``review`` stars).

    Per period: the mean score with its t interval, and the share of satisfied answers
    (score ≥ s, s = the top two boxes unless the settings say otherwise):

    .. math:: \bar x = \frac{1}{n}\sum \text{score},\qquad
              \text{satisfied share} = \frac{\#\{\text{score} \ge s\}}{n}

    Parameters
    ----------
    survey : one survey type or a list; default: every declared type other than nps, csat
        and ces that has responses.
    settings : survey settings (``dataset.survey_settings``); a type must have a scale there.
    Others as in :func:`csm_kit.satisfaction.nps`.

    Returns
    -------
    DataFrame with period (first day), survey, [by], value (mean score, scale units), n,
    satisfied (count), satisfied_share (0–1), ci_low, ci_high (95% t interval of the mean, NaN
    for n < 2) and small_sample (n < min_n); empty (with these columns) without responses.

    Examples
    --------
    Three 1–5 star reviews in January: mean (5 + 4 + 2) ÷ 3 = 3.67; 4 and 5 are satisfied.

    >>> from csm_kit.data.survey_settings import survey_settings
    >>> s = pd.DataFrame({"customer_id": list("abc"), "survey": "review", "score": [5, 4, 2.0],
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-31"])})
    >>> out = survey_scores(s, settings=survey_settings(scales="review=1-5"), min_n=1)
    >>> print(out[["survey", "value", "n", "satisfied", "satisfied_share"]].round(2).to_string())
       survey  value  n  satisfied  satisfied_share
    0  review   3.67  3          2             0.67
    """
    _check_min_n(min_n)
    settings = settings_for("other", settings)
    if survey is None:
        present = set(surveys["survey"].dropna().str.lower())
        chosen = [name for name in settings.other_surveys if name in present]
    else:
        chosen = [survey] if isinstance(survey, str) else list(survey)
    keys = group_keys(by)
    columns = ["period", "survey", *keys[1:], "value", "n", "satisfied", "satisfied_share",
               "ci_low", "ci_high", "small_sample"]
    parts = [_score_trend(surveys, name, settings, keys, freq=freq, by=by, customers=customers,
                          min_n=min_n, as_of=as_of) for name in chosen]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _score_trend(surveys, name, settings, keys, *, min_n, **options) -> pd.DataFrame:
    responses = survey_responses(surveys, name, scale=settings.scale(name), **options)
    grouped = responses.assign(
        satisfied=responses["score"] >= settings.satisfied_from(name)).groupby(keys, dropna=False)
    table = grouped.agg(n=("score", "size"), satisfied=("satisfied", "sum"),
                        value=("score", "mean"))
    bounds = grouped["score"].agg(mean_interval)
    table[["ci_low", "ci_high"]] = pd.DataFrame(bounds.tolist(), index=bounds.index,
                                                columns=["ci_low", "ci_high"], dtype="float64")
    table["satisfied_share"] = table["satisfied"] / table["n"]
    table = table.reset_index()
    table["small_sample"] = table["n"] < min_n
    return table.assign(survey=name)
