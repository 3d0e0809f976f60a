r"""Backtest a health (or distress) score: would it have told churners apart in the past?

For each past scoring day the score is rebuilt from the data dated on or before that day only
(:func:`csm_kit.health.signals.customer_signals`), and every customer active that day is
labelled by what happened next:

- **churned** when the customer is not active at the first month end on or after
  *scoring day + horizon* (active = MRR > 0 on a month end, :func:`csm_kit.revenue.customer_months`).
  A customer who leaves and comes back before that month end counts as retained.

All scoring days are pooled: one row per customer and scoring day ("customer-dates"), so a
customer scored on ten days counts ten times. The held-out split is by customer, so no customer
is in both the training and the held-out rows.

**AUC** is the probability that a randomly chosen churner looks riskier than a randomly chosen
customer who stayed (ties count one half), computed from the Mann–Whitney U statistic:

.. math:: \mathrm{AUC} = \frac{R_1 - n_1 (n_1 + 1) / 2}{n_1 \, n_0}

with :math:`R_1` the sum of the churners' ranks of risk (average ranks for ties), :math:`n_1`
churners and :math:`n_0` others. Risk is 100 − score for health (a high score is healthy) and
the score itself for distress. 0.5 is a coin toss, 1.0 a perfect ranking.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.frames import isin
from csm_kit.health.bands import suggest_bands
from csm_kit.health.scores import BANDS, HealthConfig, _resolve, load_health_config, score_signals
from csm_kit.health.signals import scoring_day, signals_by_day
from csm_kit.revenue import customer_months


def auc(risk, churned) -> float:
    """Area under the ROC curve of ``risk`` for predicting ``churned`` (Mann–Whitney U).

    Rows with a missing risk are left out; NaN when there is no churner or no non-churner.

    Examples
    --------
    Churners at risk 4 and 2, stayers at 3 and 1: of the 4 churner–stayer pairs, 3 are ranked
    the right way (4 > 3, 4 > 1, 2 > 1) and one is swapped (2 < 3), so AUC = 3/4.

    >>> auc([4, 2, 3, 1], [True, True, False, False])
    0.75
    >>> auc([4, 3, 2, 1], [True, True, False, False])
    1.0
    """
    risk = np.asarray(risk, dtype="float64")
    churned = np.asarray(churned, dtype=bool)
    keep = ~np.isnan(risk)
    risk, churned = risk[keep], churned[keep]
    n1 = int(churned.sum())
    n0 = len(churned) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    from scipy.stats import rankdata  # heavy: imported when used

    ranks = rankdata(risk)
    return float((ranks[churned].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass
class BacktestResult:
    """What a backtest measured; ``print(result)`` shows the summary.

    Attributes
    ----------
    auc : AUC of the configured score over all customer-dates.
    lift : band, customers (customer-dates), churned, churn_rate (0–1), lift (churn_rate ÷
        overall churn rate; 2.0 = twice the average), share_of_churners (the band's churned ÷
        all churned: how many of the churners the band caught).
    calibration : decile (1 = lowest scores), score_min, score_max, customers, churned,
        churn_rate — one row per score decile. A customer-date's decile is
        ⌈10 × share of customer-dates scoring at or below it⌉, so equal scores share a decile
        and a decile can be missing when many scores tie.
    component_auc : AUC of each component alone (rows where it has a value), by component.
    component_lift : churn rate of the customer-dates on which the component is poor
        (its score below 50; for distress, its pain above 50) ÷ the overall churn rate, by
        component (NaN when it is never poor).
    suggested_weights : weights (sum 1) fitted by logistic regression on the training customers.
    current_weights : the configuration's default weights, normalised to sum 1.
    held_out_auc_default, held_out_auc_suggested : AUC on the held-out customers with the
        configuration as given and with the suggested weights (no segment weights).
    scores : one row per customer-date: as_of, the score columns, churned, split
        ('train'/'test').
    as_of_dates, horizon_days, kind : what was backtested.
    suggested_bands : band cut-offs read from this history by :func:`suggest_bands` (red =
        the riskiest scores whose churn is at least 3× the overall rate).
    """

    auc: float
    lift: pd.DataFrame
    calibration: pd.DataFrame
    component_auc: pd.Series
    suggested_weights: pd.Series
    current_weights: pd.Series
    held_out_auc_default: float
    held_out_auc_suggested: float
    scores: pd.DataFrame
    as_of_dates: list[pd.Timestamp]
    horizon_days: int
    kind: str = "health"
    suggested_bands: dict = None
    component_lift: pd.Series = None

    def summary(self) -> str:
        """The headline figures as text: AUC, churn rate and lift per band, suggested weights."""
        n = len(self.scores)
        churned = int(self.scores["churned"].sum())
        days = f"{self.as_of_dates[0]:%Y-%m-%d} … {self.as_of_dates[-1]:%Y-%m-%d}"
        weights = pd.DataFrame({"current": self.current_weights,
                                "suggested": self.suggested_weights,
                                "auc_alone": self.component_auc,
                                "lift_when_poor": self.component_lift})
        lines = [
            f"{self.kind.capitalize()} score backtest: {len(self.as_of_dates)} scoring days "
            f"({days}), churn within {self.horizon_days} days",
            f"{n:,} customer-dates, {churned:,} churned ({churned / max(n, 1):.1%})",
            f"AUC: {self.auc:.3f}",
            f"Held-out AUC: default weights {self.held_out_auc_default:.3f}, "
            f"suggested weights {self.held_out_auc_suggested:.3f}",
            f"Suggested bands (red: churn >= 3x the overall rate): {self.suggested_bands}",
            "", "Churn by band:",
            self.lift.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            "", "Weights (suggested: logistic regression on the training customers):",
            weights.to_string(float_format=lambda v: f"{v:.3f}"),
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def churn_history(dataset: Dataset, *, as_of_dates=None, horizon_days: int = 90,
                  config: HealthConfig | str | dict | None = None) -> pd.DataFrame:
    """Every customer's signals on past scoring days, labelled with churn over the horizon.

    The history both :func:`backtest` and the churn-probability model learn from; compute it
    once and pass it to both (``history=``) to save the work.

    Parameters
    ----------
    dataset : the loaded tables; subscriptions is required (it says who churned).
    as_of_dates, horizon_days : as for :func:`backtest`.
    config : the health configuration whose declared ``signals`` are added (None = the
        packaged one).

    Returns
    -------
    DataFrame as_of, then :func:`~csm_kit.health.signals.customer_signals`' columns, then
    churned (bool) — one row per customer active on each scoring day. ``attrs["horizon_days"]``
    records the horizon.
    """
    config = _resolve(config, load_health_config)
    _check_options(horizon_days, 0.5)
    if dataset.subscriptions is None:
        raise ConfigError("backtest needs the subscriptions table to know who churned")
    end = scoring_day(dataset, None)
    active = customer_months(dataset.subscriptions, as_of=end)
    days = _scoring_days(dataset, as_of_dates, end, horizon_days)
    history = pd.concat([_labelled(signals, day, active, horizon_days) for day, signals in
                         zip(days, signals_by_day(dataset, days, custom=config.signals),
                             strict=True)], ignore_index=True)
    history.insert(0, "as_of", history.pop("as_of"))
    history.attrs["horizon_days"] = horizon_days
    return history


def backtest(dataset: Dataset, *, as_of_dates=None, horizon_days: int = 90,
             config: HealthConfig | str | dict | None = None, test_size: float = 0.3,
             seed: int = 0, history: pd.DataFrame | None = None) -> BacktestResult:
    """Rebuild scores on past days and measure them against churn over the following horizon.

    Parameters
    ----------
    dataset : the loaded tables; subscriptions is required (it says who churned).
    as_of_dates : scoring days (ends of days); None = every month end from 12 to 3 months before
        the last complete month of the data. Days whose horizon reaches past the data are
        dropped with a warning.
    horizon_days : churn is looked for at the first month end on or after day + horizon.
    config : a :class:`~csm_kit.health.scores.HealthConfig`, YAML path or dict; None = the packaged
        health config. A distress config is backtested with risk = the distress score.
    test_size : share of customers held out to judge the suggested weights.
    seed : seed of the random customer split.
    history : the output of :func:`churn_history` for the same dataset, days and horizon
        (computed here when None); ``as_of_dates`` and ``horizon_days`` are then taken from it.

    Returns
    -------
    BacktestResult

    Notes
    -----
    Suggested weights: a logistic regression (statsmodels ``Logit``) of churned on every
    component's risk (100 − component score for health, the pain for distress), standardised
    with the training mean and standard deviation; a missing component takes the training mean
    (0 after standardising). A coefficient β per standard deviation σ of the component's
    0–100 scale becomes the raw weight max(β, 0) ÷ σ — the weight that makes the weighted
    score rank customers like the model's linear predictor — then the weights are scaled to
    sum to 1. A component that raises churn when it looks healthier gets weight 0.

    Examples
    --------
    Four customers using 10%, 30%, 60% and 90% of their seats at the end of 2023; the two
    lowest cancel on 15 March 2024, inside the 90 days. Scored on adoption alone, the two
    churners rank riskiest (AUC 1) and are the red band: churn rate 1 against 2 of 4 overall.

    >>> ids = ["a", "b", "c", "d"]
    >>> ds = Dataset(
    ...     customers=pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2023-01-01")}),
    ...     subscriptions=pd.DataFrame({"customer_id": ids, "mrr": 10.0,
    ...         "start_date": pd.Timestamp("2023-01-01"),
    ...         "end_date": pd.to_datetime(["2024-03-15", "2024-03-15", None, None])}),
    ...     usage=pd.DataFrame({"customer_id": ids + ["d"], "active_users": [1, 3, 6, 9, 9],
    ...         "month": pd.to_datetime(["2023-12-01"] * 4 + ["2024-06-01"]),
    ...         "licensed_seats": 10}))
    >>> cfg = {"components": {"adoption": {"signal": "adoption", "method": "linear", "low": 0,
    ...        "high": 1, "direction": "higher_is_better", "weight": 1}}}
    >>> result = backtest(ds, as_of_dates=["2023-12-31"], config=cfg)
    >>> result.auc
    1.0
    >>> print(result.lift.to_string(index=False))
      band  customers  churned  churn_rate  lift  share_of_churners
       red          2        2         1.0   2.0                1.0
    yellow          1        0         0.0   0.0                0.0
     green          1        0         0.0   0.0                0.0
    """
    config = _resolve(config, load_health_config)
    _check_options(horizon_days, test_size)
    if history is None:
        history = churn_history(dataset, as_of_dates=as_of_dates, horizon_days=horizon_days,
                                config=config)
    signals = history
    horizon_days = history.attrs.get("horizon_days", horizon_days)
    days = sorted(pd.unique(signals["as_of"]))
    scored = score_signals(signals, config=config)
    scored.insert(0, "as_of", signals["as_of"].to_numpy())
    scored["churned"] = signals["churned"].to_numpy()
    scored["split"] = _split(scored["customer_id"], test_size, seed)
    risk = _risk(scored, config)
    test = (scored["split"] == "test").to_numpy()
    suggested = _suggest_weights(scored[~test & (scored["profile"] == "established")], config)
    retuned = score_signals(signals[test], config=config.with_weights(suggested))
    current = config.weights(None)
    return BacktestResult(
        auc=auc(risk["score"], scored["churned"]),
        lift=_lift(scored),
        calibration=_calibration(scored),
        component_auc=pd.Series({c: auc(risk[c], scored["churned"]) for c in config.all_names},
                                name="auc", dtype="float64"),
        component_lift=_component_lift(risk, scored["churned"], config.all_names),
        suggested_weights=suggested,
        current_weights=(current / current.sum()).rename("weight"),
        held_out_auc_default=auc(risk.loc[test, "score"], scored.loc[test, "churned"]),
        held_out_auc_suggested=auc(_risk(retuned, config)["score"], scored.loc[test, "churned"]),
        scores=scored, as_of_dates=[pd.Timestamp(d) for d in days], horizon_days=horizon_days,
        kind=config.kind,
        suggested_bands=suggest_bands(scored["score"], scored["churned"], kind=config.kind))


def _check_options(horizon_days, test_size) -> None:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer) \
            or horizon_days < 1:
        raise ConfigError(f"`horizon_days` must be a whole number of days >= 1, got {horizon_days!r}")
    if isinstance(test_size, bool) or not isinstance(test_size, float | int) \
            or not 0 < test_size < 1:
        raise ConfigError(f"`test_size` must be a share between 0 and 1 (e.g. 0.3), got {test_size!r}")


def _scoring_days(dataset, as_of_dates, end: pd.Timestamp, horizon_days: int) -> list:
    if as_of_dates is None:
        as_of_dates = [end - pd.offsets.MonthEnd(k) for k in range(12, 2, -1)]
    days = sorted({scoring_day(dataset, d) for d in as_of_dates})
    kept = [d for d in days if _label_day(d, horizon_days) <= end]
    if len(kept) < len(days):
        warnings.warn(f"{len(days) - len(kept)} scoring days dropped: their {horizon_days}-day "
                      f"horizon ends after the data ({end:%Y-%m-%d})", stacklevel=3)
    if not kept:
        raise ConfigError(f"no scoring day leaves {horizon_days} days of data after it; "
                          f"choose days before {end - pd.Timedelta(days=horizon_days):%Y-%m-%d}")
    return kept


def _label_day(day: pd.Timestamp, horizon_days: int) -> pd.Timestamp:
    """The first month end on or after day + horizon."""
    return day + pd.Timedelta(days=horizon_days) + pd.offsets.MonthEnd(0)


def _labelled(signals: pd.DataFrame, day, active: pd.DataFrame, horizon_days: int
              ) -> pd.DataFrame:
    month = _label_day(day, horizon_days).to_period("M").start_time
    still = active.loc[active["month"] == month, "customer_id"]
    churned = ~isin(signals["customer_id"], still)  # Series.isin, fast on Arrow text
    return signals.assign(as_of=day, churned=churned)


def _split(customer_ids: pd.Series, test_size: float, seed: int) -> np.ndarray:
    """'test' for a random ``test_size`` share of customers (all their dates), else 'train'."""
    ids = pd.Index(customer_ids.unique()).sort_values().to_numpy(copy=True)  # writable
    held = np.random.default_rng(seed).permutation(ids)[: round(test_size * len(ids))]
    return np.where(isin(customer_ids, held), "test", "train")


def _risk(scored: pd.DataFrame, config: HealthConfig) -> pd.DataFrame:
    """Risk (higher = more likely to churn) of the score and of each component, 0–100."""
    columns = {"score": scored["score"], **{c: scored[f"{c}_score"] for c in config.all_names}}
    risk = pd.DataFrame(columns)
    return 100 - risk if config.kind == "health" else risk


def _component_lift(risk: pd.DataFrame, churned: pd.Series, names: list[str]) -> pd.Series:
    overall = churned.mean()
    churned = churned.to_numpy(dtype=bool)
    lift = {}
    for name in names:
        poor = (risk[name] > 50).to_numpy()  # risk = 100 - score for health, the pain for distress
        lift[name] = churned[poor].mean() / overall if poor.any() and overall > 0 else np.nan
    return pd.Series(lift, name="lift", dtype="float64")


def _lift(scored: pd.DataFrame) -> pd.DataFrame:
    rated = scored[scored["band"].notna()]
    overall = rated["churned"].mean()
    table = rated.groupby("band")["churned"].agg(customers="size", churned="sum")
    table = table.reindex([b for b in BANDS if b in table.index]).reset_index()
    table["churn_rate"] = table["churned"] / table["customers"]
    table["lift"] = table["churn_rate"] / overall
    table["share_of_churners"] = table["churned"] / max(int(rated["churned"].sum()), 1)
    return table


def _calibration(scored: pd.DataFrame) -> pd.DataFrame:
    rated = scored[scored["score"].notna()]
    # decile = ceil(10 × share of customer-dates scoring at or below this score): ties share one
    decile = np.ceil(rated["score"].rank(method="max", pct=True) * 10).astype("int64")
    table = rated.groupby(decile.rename("decile")).agg(
        score_min=("score", "min"), score_max=("score", "max"),
        customers=("churned", "size"), churned=("churned", "sum"))
    table["churn_rate"] = table["churned"] / table["customers"]
    return table.reset_index()


def _suggest_weights(train: pd.DataFrame, config: HealthConfig) -> pd.Series:
    risk = _risk(train, config).drop(columns="score")
    mean, sd = risk.mean(), risk.std()
    varying = sd.index[sd > 0]
    if len(train) < 2 or train["churned"].nunique() < 2 or len(varying) == 0:
        warnings.warn("too few customer-dates, outcomes or varying components to fit weights; "
                      "suggested weights are the configured ones", stacklevel=3)
        raw = config.weights(None)
        return (raw / raw.sum()).rename("weight")
    z = ((risk[varying] - mean[varying]) / sd[varying]).fillna(0.0)
    # heavy, imported when used; the two modules, not statsmodels.api (~0.7 s more to import)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.tools import add_constant

    model = Logit(train["churned"].astype(float).to_numpy(),
                  add_constant(z.to_numpy(), has_constant="add"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; separation shows in the AUCs
        try:
            params = model.fit(disp=0).params
        except np.linalg.LinAlgError:  # components that move together: Newton cannot invert
            params = model.fit(disp=0, method="bfgs").params
    beta = pd.Series(params[1:], index=varying)
    raw = (beta.clip(lower=0) / sd[varying]).reindex(config.names, fill_value=0.0)
    if not raw.sum() > 0:
        warnings.warn("no component raises churn risk in the training data; suggested weights "
                      "are the configured ones", stacklevel=3)
        raw = config.weights(None)
    return (raw / raw.sum()).rename("weight")
