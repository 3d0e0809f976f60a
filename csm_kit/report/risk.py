"""What the company's own history supports, for the risk sections of the health report.

The backtest, the churn-probability model and the action-list backtest all learn from one
churn history (every customer on past month ends, labelled by churn within 90 days). A
young or small dataset may not have that history — fewer than four months of data, or too
few churners to fit odds on. :func:`risk_history` computes what it can once and says in
``note`` what it could not, so the report shows a one-line note instead of failing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.actions import action_backtest, action_list
from csm_kit.health.backtest import BacktestResult, backtest, churn_history
from csm_kit.health.probability import ChurnModel, fit_churn_model
from csm_kit.health.scores import load_distress_config


@dataclass
class RiskHistory:
    """The history and what was learnt from it; ``None`` where the data does not allow it.

    Attributes
    ----------
    history : :func:`~csm_kit.health.backtest.churn_history` of the default scoring days.
    backtest, distress : the health and distress backtests on it.
    model : the churn-probability model fitted on it.
    note : why a part is missing ('' when nothing is).
    """

    history: pd.DataFrame | None = None
    backtest: BacktestResult | None = None
    distress: BacktestResult | None = None
    model: ChurnModel | None = None
    note: str = ""

    def plays(self, dataset: Dataset) -> pd.DataFrame | None:
        """The action-list backtest on the held-out customers (None without a model)."""
        if self.model is None:
            return None
        return action_backtest(dataset, history=self.history, model=self.model)


def risk_history(dataset: Dataset, *, config=None, within_budget: bool = True,
                 backtests: bool = True, history: pd.DataFrame | None = None,
                 model: ChurnModel | None = None) -> RiskHistory:
    """Compute the churn history, the backtests and the churn model, as far as the data allows.

    Parameters
    ----------
    dataset : the loaded tables.
    config : the health configuration (None = packaged).
    within_budget : False when the history is too large for a report
        (:meth:`csm_kit.report.context.ReportContext.backtest_fits`): nothing is computed and
        ``note`` says so.
    backtests : False to fit the churn model only (``backtest`` and ``distress`` stay None),
        e.g. for the exported action list, which needs only the model.
    history : the churn history of ``dataset`` with ``config``, when already computed (a
        report run computes it once, :meth:`csm_kit.report.context.ReportContext.risk_history`);
        None = computed here.
    model : the churn model already fitted on that history with ``config`` (a report run
        fits it once, for the exported action list); None = fitted here.

    Returns
    -------
    RiskHistory
    """
    if not within_budget:
        return RiskHistory(note="No backtest or churn probability in this report: the history "
                                "is larger than the report's budget.")
    if dataset.subscriptions is None or dataset.subscriptions.empty:
        return RiskHistory(note="No subscriptions table, so there is no churn history to "
                                "backtest or learn churn probabilities from.")
    if history is None:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*scoring days dropped")
                history = churn_history(dataset, config=config)
        except ConfigError as exc:
            return RiskHistory(note=f"No backtest or churn probability: {exc}.")
    if history.empty:
        return RiskHistory(history=history, note="No customer was active on the past scoring "
                                                 "days, so there is nothing to backtest.")
    if history["churned"].nunique() < 2:
        return RiskHistory(history=history, note="The history has no churner (or nobody who "
                                                 "stayed), so there is nothing to backtest.")
    result = distress = None
    if backtests:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="too few customer-dates")
            warnings.filterwarnings("ignore", message="no component raises churn risk")
            result = backtest(dataset, history=history, config=config)
            distress = backtest(dataset, history=history, config=load_distress_config())
    try:
        if model is None:
            model = fit_churn_model(dataset, history=history, config=config)
    except ConfigError as exc:
        return RiskHistory(history, result, distress, note=f"No churn probability: {exc}.")
    return RiskHistory(history, result, distress, model)


def action_list_export(dataset: Dataset, *, as_of, within_budget: bool = True,
                       learnt: RiskHistory | None = None) -> pd.DataFrame:
    """The action list as ``csm-kit report`` exports it: the notebook's list, due dates as
    dates (``YYYY-MM-DD``), with the churn probability when the history allows a model and
    fitting it is ``within_budget`` (as in the health report; else probability is empty).
    ``learnt`` is :func:`risk_history` already computed for ``dataset`` (its model is used)."""
    if learnt is None:
        learnt = risk_history(dataset, backtests=False, within_budget=within_budget)
    model = learnt.model
    return exported(action_list(dataset, as_of=as_of, model=model if model is not None else False))


def exported(actions: pd.DataFrame) -> pd.DataFrame:
    """An action list as the report exports it: due dates as ``YYYY-MM-DD`` text."""
    return actions.assign(due_date=actions["due_date"].dt.strftime("%Y-%m-%d"))
