r"""Calibrated churn probability per account, learnt from the company's own history.

The health score ranks accounts; a CS leader also needs *how likely* an account is to leave
and *how much* that puts at risk. :func:`fit_churn_model` fits a logistic regression on the
backtest's history (:func:`~csm_kit.health.backtest.churn_history`: every customer active on
each past scoring day, labelled churned or not within the horizon):

.. math:: P(\text{churn} \mid x) = \frac{1}{1 + e^{-(\beta_0 + \sum_j \beta_j x_j)}}

where the :math:`x_j` are the health components' risks (100 − component score, from the main
profile of the health configuration, standardised with the training mean and standard
deviation; a missing value takes the mean), one "missing" flag per component that is missing
for some customers and not others (not answering NPS is itself a signal), and an
"onboarding" flag for customers younger than the onboarding tenure.

It is judged on **held-out customers** — a random share of customers with all their dates,
never seen in training — by a calibration table (predicted against observed churn by decile
of predicted probability), the Brier score

.. math:: \text{Brier} = \frac{1}{n} \sum_i (p_i - y_i)^2

against the Brier score of predicting the training churn rate for everyone, and the AUC.
:func:`churn_probability` then scores today's accounts: probability, risk band and
expected MRR at risk = probability × MRR.

Why statsmodels' ``Logit``: it is already a dependency (scikit-learn is not), its plain
maximum-likelihood fit is calibrated on the data it learns from (the mean prediction equals
the observed rate), and it reports standard errors, so every coefficient comes with an
interval a reader can check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.backtest import _split, auc, churn_history
from csm_kit.health.scores import BANDS, HealthConfig, _resolve, load_health_config, score_signals
from csm_kit.health.signals import scoring_day, signals_on
from csm_kit.stats import wilson_interval

#: Fewest churned (and retained) training customer-dates a model is fitted on.
MIN_EVENTS = 10
#: Risk bands of the probability, as multiples of the training churn rate.
RED_LIFT, YELLOW_LIFT = 3.0, 1.0


@dataclass
class ChurnModel:
    """A fitted churn-probability model and how it did on held-out customers.

    Attributes
    ----------
    config : the health configuration whose components are the model's inputs.
    horizon_days : churn within this many days (read at the first month end after).
    coefficients : one row per model term (const, ``risk_<component>`` per standard deviation,
        ``missing_<component>``, ``onboarding``): coef (log-odds), std_err, ci_low, ci_high
        (95%), odds_ratio.
    base_rate : churn rate of the training customer-dates (0–1).
    bands : probability cut-offs, red = 3 × base rate, yellow = 1 × base rate.
    calibration : held-out customer-dates by decile of predicted probability (1 = lowest):
        decile, customers, churned, predicted (mean probability), observed (churn rate), gap
        (observed − predicted), ci_low, ci_high (95% Wilson interval of observed).
    risk_groups : held-out customer-dates by risk band: band, customers, churned, churn_rate,
        lift (÷ held-out churn rate), share_of_churners, predicted.
    brier, base_rate_brier : held-out Brier score of the model and of predicting
        ``base_rate`` for everyone (lower is better).
    auc : held-out AUC of the probability.
    n_train, n_test : customer-dates in training and held out.
    held_out : as_of, customer_id, probability, churned of the held-out customer-dates.
    """

    config: HealthConfig
    horizon_days: int
    coefficients: pd.DataFrame
    base_rate: float
    bands: dict
    calibration: pd.DataFrame
    risk_groups: pd.DataFrame
    brier: float
    base_rate_brier: float
    auc: float
    n_train: int
    n_test: int
    held_out: pd.DataFrame = field(repr=False)
    _center: pd.Series = field(repr=False, default=None)
    _scale: pd.Series = field(repr=False, default=None)
    _flags: list = field(repr=False, default_factory=list)

    def predict(self, signals: pd.DataFrame) -> np.ndarray:
        """Churn probability (0–1) of each row of a signals frame (as ``customer_signals``)."""
        x = _design(signals, self.config, self._center, self._scale, self._flags)
        params = self.coefficients["coef"]
        eta = params["const"] + x[params.index[1:]].to_numpy() @ params.iloc[1:].to_numpy()
        return 1 / (1 + np.exp(-eta))

    def parts(self) -> tuple[dict[str, pd.DataFrame], dict]:
        """The fitted model as frames and plain values (numbers, lists, a dict), without its
        ``config``: what a report's snapshot stores. :meth:`from_parts` rebuilds it."""
        frames = {"coefficients": self.coefficients.rename_axis("term").reset_index(),
                  "calibration": self.calibration, "risk_groups": self.risk_groups,
                  "held_out": self.held_out,
                  "standardisation": pd.DataFrame({"term": self._center.index,
                                                   "center": self._center.to_numpy(),
                                                   "scale": self._scale.to_numpy()})}
        values = {"horizon_days": int(self.horizon_days), "base_rate": float(self.base_rate),
                  "bands": {k: float(v) for k, v in self.bands.items()},
                  "brier": float(self.brier), "base_rate_brier": float(self.base_rate_brier),
                  "auc": float(self.auc), "n_train": int(self.n_train),
                  "n_test": int(self.n_test), "flags": list(self._flags)}
        return frames, values

    @classmethod
    def from_parts(cls, frames: dict[str, pd.DataFrame], values: dict,
                   config: HealthConfig) -> ChurnModel:
        """The model :meth:`parts` took apart, with the ``config`` it was fitted with."""
        terms = frames["standardisation"].set_index("term").rename_axis(None)
        return cls(config=config, horizon_days=values["horizon_days"],
                   coefficients=frames["coefficients"].set_index("term").rename_axis(None),
                   base_rate=values["base_rate"], bands=dict(values["bands"]),
                   calibration=frames["calibration"], risk_groups=frames["risk_groups"],
                   brier=values["brier"], base_rate_brier=values["base_rate_brier"],
                   auc=values["auc"], n_train=values["n_train"], n_test=values["n_test"],
                   held_out=frames["held_out"], _center=terms["center"].rename(None),
                   _scale=terms["scale"].rename(None), _flags=list(values["flags"]))

    def band(self, probability) -> np.ndarray:
        """Risk band of each probability: red ≥ ``bands['red']``, yellow ≥ ``bands['yellow']``."""
        p = np.asarray(probability, dtype="float64")
        out = np.where(p >= self.bands["red"], "red",
                       np.where(p >= self.bands["yellow"], "yellow", "green"))
        return np.where(np.isnan(p), None, out)

    def summary(self) -> str:
        """The validation figures as text."""
        worst = self.calibration["gap"].abs().max()
        red = self.risk_groups.set_index("band").reindex(["red"]).iloc[0]
        return "\n".join([
            f"Churn probability within {self.horizon_days} days: logistic regression on "
            f"{self.n_train:,} customer-dates, judged on {self.n_test:,} held-out ones",
            f"Held-out AUC {self.auc:.3f}; Brier {self.brier:.4f} against {self.base_rate_brier:.4f} "
            f"for the base rate {self.base_rate:.1%}",
            f"Calibration: largest gap between predicted and observed churn in a decile "
            f"{worst * 100:.1f} points",
            f"Red (probability >= {self.bands['red']:.1%}): {red['share_of_churners']:.0%} of "
            f"the held-out churners at {red['lift']:.1f}x the average churn rate",
        ])

    def __str__(self) -> str:
        return self.summary()


def fit_churn_model(dataset: Dataset, *, horizon_days: int = 90, as_of_dates=None,
                    config: HealthConfig | str | dict | None = None, test_size: float = 0.3,
                    seed: int = 0, history: pd.DataFrame | None = None) -> ChurnModel:
    """Fit the churn-probability model on the company's history and judge it on held-out customers.

    Parameters
    ----------
    dataset : the loaded tables; subscriptions is required (it says who churned).
    horizon_days, as_of_dates : as for :func:`~csm_kit.health.backtest.backtest` (default:
        the month ends 12 to 3 months before the data's last complete month, 90 days).
    config : the health configuration whose components are the inputs (None = packaged).
    test_size : share of customers held out (all their dates) to judge the model.
    seed : seed of the random customer split.
    history : the output of :func:`~csm_kit.health.backtest.churn_history`, to reuse it.

    Returns
    -------
    ChurnModel

    Raises
    ------
    ConfigError
        When the training customers hold fewer than 10 churned or 10 retained
        customer-dates: too few to fit odds on.

    Notes
    -----
    The model is the one fitted on the training customers only, so the held-out figures
    describe exactly the model that scores accounts.
    """
    config = _resolve(config, load_health_config)
    if history is None:
        history = churn_history(dataset, as_of_dates=as_of_dates, horizon_days=horizon_days,
                                config=config)
    horizon_days = history.attrs.get("horizon_days", horizon_days)
    split = _split(history["customer_id"], test_size, seed)
    train, test = history[split == "train"], history[split == "test"]
    y = train["churned"].to_numpy(dtype=float)
    if min(y.sum(), len(y) - y.sum()) < MIN_EVENTS:
        raise ConfigError(
            f"the training customers have {int(y.sum())} churned and {int(len(y) - y.sum())} "
            f"retained customer-dates; at least {MIN_EVENTS} of each are needed to fit a "
            "churn probability (add scoring days with as_of_dates= or more history)")
    center, scale, flags = _standardisation(train, config)
    x = _design(train, config, center, scale, flags)
    x = x.loc[:, x.std() > 0]
    coefficients = _fit(y, x)
    base = float(y.mean())
    model = ChurnModel(
        config=config, horizon_days=horizon_days, coefficients=coefficients, base_rate=base,
        bands={"red": RED_LIFT * base, "yellow": YELLOW_LIFT * base},
        calibration=pd.DataFrame(), risk_groups=pd.DataFrame(), brier=np.nan,
        base_rate_brier=np.nan, auc=np.nan, n_train=len(train), n_test=len(test),
        held_out=pd.DataFrame(), _center=center, _scale=scale, _flags=flags)
    return _judge(model, test)


def churn_probability(dataset: Dataset, *, as_of=None, model: ChurnModel | None = None,
                      horizon_days: int = 90, config: HealthConfig | str | dict | None = None,
                      signals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each active account's probability of churning within the horizon, and the MRR it puts at risk.

    Parameters
    ----------
    dataset : the loaded tables.
    as_of : the day to score at (its end); None = last day of the last complete month.
    model : a fitted :class:`ChurnModel`; None = fitted here with :func:`fit_churn_model`
        (``horizon_days`` and ``config``), which costs a backtest's worth of work.
    signals : the customers' signals when already computed: that day's, or several days'
        with an ``as_of`` column (see :func:`csm_kit.health.signals.signals_on`).

    Returns
    -------
    DataFrame customer_id, segment, probability (0–1), risk_band (red/yellow/green, see
    :attr:`ChurnModel.bands`), mrr (on the as-of day), expected_mrr_at_risk (probability ×
    mrr) — one row per active customer, largest expected loss first.
    """
    if model is None:
        model = fit_churn_model(dataset, horizon_days=horizon_days, config=config)
    day = scoring_day(dataset, as_of)
    signals = signals_on(dataset, day, custom=model.config.signals, signals=signals)
    p = model.predict(signals)
    out = pd.DataFrame({"customer_id": signals["customer_id"], "segment": signals["segment"],
                        "probability": p,
                        "risk_band": pd.array(model.band(p), dtype="str"),
                        "mrr": signals["mrr"]})
    out["expected_mrr_at_risk"] = out["probability"] * out["mrr"]
    return out.sort_values(["expected_mrr_at_risk", "customer_id"], ascending=[False, True],
                           ignore_index=True)


# --------------------------------------------------------------------------- the design matrix


def _risks(signals: pd.DataFrame, config: HealthConfig) -> pd.DataFrame:
    """100 − each main-profile component's score, for every row (whatever its profile)."""
    main = config.established()
    scored = score_signals(signals, config=main)
    risk = pd.DataFrame({f"risk_{c}": scored[f"{c}_score"].to_numpy() for c in main.names})
    return 100 - risk if config.kind == "health" else risk


def _standardisation(train: pd.DataFrame, config: HealthConfig):
    risk = _risks(train, config)
    center, scale = risk.mean(), risk.std().replace(0, np.nan)
    missing = risk.isna().mean()
    flags = [c for c in risk.columns if 0.01 <= missing[c] <= 0.99]
    return center, scale, flags


def _design(signals: pd.DataFrame, config: HealthConfig, center, scale, flags) -> pd.DataFrame:
    risk = _risks(signals, config)
    x = ((risk - center) / scale).fillna(0.0)
    for column in flags:
        x[column.replace("risk_", "missing_", 1)] = risk[column].isna().astype(float)
    if config.onboarding is not None and "tenure_days" in signals.columns:
        young = signals["tenure_days"].to_numpy() < config.onboarding_days
        x["onboarding"] = young.astype(float)
    return x


def _fit(y: np.ndarray, x: pd.DataFrame) -> pd.DataFrame:
    # imported when a model is fitted (~1 s); the two modules, not statsmodels.api (~0.7 s more)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.tools import add_constant

    model = Logit(y, add_constant(x, has_constant="add"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a bad fit shows in the checks
        try:
            result = model.fit(disp=0, maxiter=200)
        except np.linalg.LinAlgError:  # terms that move together: Newton cannot invert
            result = model.fit(disp=0, method="bfgs", maxiter=500)
        ci = result.conf_int()
        errors = result.bse
    if not np.isfinite(result.params).all():
        raise ConfigError("the churn model did not converge on this history (churn is "
                          "perfectly predicted by some component?); check the backtest")
    return pd.DataFrame({"coef": result.params, "std_err": errors, "ci_low": ci[0],
                         "ci_high": ci[1], "odds_ratio": np.exp(result.params)})


# --------------------------------------------------------------------------- held-out checks


def _judge(model: ChurnModel, test: pd.DataFrame) -> ChurnModel:
    p = model.predict(test) if len(test) else np.zeros(0)
    y = test["churned"].to_numpy(dtype=bool)
    held = pd.DataFrame({"as_of": test["as_of"].to_numpy(), "customer_id": test["customer_id"],
                         "probability": p, "churned": y}).reset_index(drop=True)
    model.held_out = held
    model.auc = auc(p, y)
    model.brier = float(np.mean((p - y) ** 2)) if len(y) else np.nan
    model.base_rate_brier = float(np.mean((model.base_rate - y) ** 2)) if len(y) else np.nan
    model.calibration = calibration_table(p, y)
    model.risk_groups = _risk_groups(held, model)
    return model


def calibration_table(probability, churned, *, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn by decile (or ``bins``) of predicted probability.

    Rows are sorted by probability and cut into ``bins`` groups of (nearly) equal size; ties
    are split by position, so every group has n ÷ bins rows (± 1).

    Returns
    -------
    DataFrame decile (1 = lowest probabilities), customers, churned, predicted (mean
    probability), observed (churn rate), gap (observed − predicted; +0.05 = five points more
    churn than predicted), ci_low, ci_high (95% Wilson interval of observed).

    Examples
    --------
    Four customer-dates in two bins: 0.1 and 0.2 (none churned), 0.6 and 0.8 (one churned).

    >>> t = calibration_table([0.1, 0.8, 0.2, 0.6], [False, True, False, False], bins=2)
    >>> print(t[["decile", "customers", "predicted", "observed", "gap"]].to_string(index=False))
     decile  customers  predicted  observed   gap
          1          2       0.15       0.0 -0.15
          2          2       0.70       0.5 -0.20
    """
    p = np.asarray(probability, dtype="float64")
    y = np.asarray(churned, dtype=bool)
    order = np.argsort(p, kind="stable")
    decile = np.empty(len(p), dtype=int)
    decile[order] = np.arange(len(p)) * bins // max(len(p), 1) + 1
    table = pd.DataFrame({"decile": decile, "p": p, "y": y}).groupby("decile").agg(
        customers=("y", "size"), churned=("y", "sum"), predicted=("p", "mean"),
        observed=("y", "mean")).reset_index()
    table["gap"] = table["observed"] - table["predicted"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["churned"], table["customers"])
    return table


def _risk_groups(held: pd.DataFrame, model: ChurnModel) -> pd.DataFrame:
    banded = held.assign(band=model.band(held["probability"]))
    overall = held["churned"].mean()
    table = banded.groupby("band").agg(customers=("churned", "size"),
                                       churned=("churned", "sum"),
                                       predicted=("probability", "mean"))
    table = table.reindex(list(BANDS), fill_value=0).reset_index()
    table["churn_rate"] = table["churned"] / table["customers"].replace(0, np.nan)
    table["lift"] = table["churn_rate"] / overall
    table["share_of_churners"] = table["churned"] / max(int(held["churned"].sum()), 1)
    return table[["band", "customers", "churned", "churn_rate", "lift", "share_of_churners",
                  "predicted"]]
