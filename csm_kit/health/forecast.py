r"""Renewal forecast: how much of the ARR coming up for renewal is likely to renew.

For the contracts due in the next 30, 60 and 90 days (windows ending on the as-of day + N),

.. math:: \text{expected renewed ARR} = \sum_{c} \text{arr\_due}_c \times P(\text{renew}_c)

where :math:`P(\text{renew}_c)` is 1 for a contract already signed on the as-of day
(``renewed_on`` on or before it; it counts at its ``arr_due``) and otherwise the renewal rate
of past contracts in the same **health band** and **lead time** (due within 30, 31–60 or
61–92 days), measured as

.. math:: P(\text{renew} \mid \text{band}, \text{lead}) =
          \frac{\text{renewed} + 1}{\text{contracts} + 2}

Each contract due in the ``lookback_months`` before the as-of day counts once for every month
end in the 92 days before its due date on which it was still unsigned, with the band its
account had that day and the lead time from that day (Laplace's rule keeps a small group away
from 0 and 1). An account not scored on the as-of day takes the rate of all bands at its lead
time.

The interval comes from simulation: each draw takes every band's rate from its Beta
posterior, :math:`\text{Beta}(\text{renewed} + 1, \text{due} − \text{renewed} + 1)`, then
renews each unsigned contract with that probability; the 2.5th and 97.5th percentiles of the
drawn totals are the 95% interval. Outcomes are as recorded: a contract is renewed when
``arr_renewed > 0`` (or, without arr_renewed, when ``renewed_on`` is set); a contract due by
the as-of day with neither is taken as not renewed.

:func:`renewal_forecast_backtest` runs the forecast at the end of past quarters and compares
it with the ARR that actually renewed; :func:`renewal_forecast_and_backtest` gives both,
scoring the days they share once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.scores import BANDS, _resolve, load_health_config, score_signals
from csm_kit.health.signals import customer_signals, scoring_day, signals_by_day

WINDOWS = (30, 60, 90)
_UNSCORED = "not scored"


@dataclass
class RenewalForecast:
    """A renewal forecast at one day.

    Attributes
    ----------
    summary : one row per window: window_days, contracts, arr_due, signed_arr (ARR due of
        the contracts already signed), expected_arr, low, high (95% interval), all in ARR.
    contracts : every contract due in the longest window: contract_id, customer_id,
        due_date, days_to_due, arr_due, band (the account's health band on the as-of day;
        "not scored" for an account not active then), signed (renewed on or before it), lead
        (30, 60 or 92: its lead-time group), p_renew, expected_arr (arr_due × p_renew).
    rates : band (red, yellow, green, or all), lead, contracts, renewed, p_renew — the past
        renewals behind the probabilities.
    as_of : the day forecast from.
    """

    summary: pd.DataFrame
    contracts: pd.DataFrame
    rates: pd.DataFrame
    as_of: pd.Timestamp


def renewal_forecast(dataset: Dataset, *, as_of=None, windows=WINDOWS, config=None,
                     lookback_months: int = 12, draws: int = 10_000, seed: int = 0,
                     _bands: dict | None = None) -> RenewalForecast:
    """Forecast the ARR renewing in the next 30/60/90 days from the health of the accounts due.

    Parameters
    ----------
    dataset : the loaded tables; renewals is required.
    as_of : the day to forecast from (its end); None = last day of the last complete month.
    windows : the horizons in days.
    config : the health configuration giving the bands (None = packaged).
    lookback_months : months of past renewals the band rates are measured on.
    draws : simulations behind the interval; seed : their random seed.

    Returns
    -------
    RenewalForecast

    Examples
    --------
    Last year four contracts of green accounts were due and three renewed: p = (3 + 1) ÷
    (4 + 2) = 2/3. Two green accounts are due next month, 1,200 and 600 of ARR: expected
    (1,200 + 600) × 2/3 = 1,200.

    >>> ids = ["a", "b", "c", "d"]
    >>> ds = Dataset(
    ...     customers=pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2022-01-01")}),
    ...     renewals=pd.DataFrame({"contract_id": ["1", "2", "3", "4", "5", "6"],
    ...         "customer_id": ["a", "b", "c", "d", "a", "b"],
    ...         "due_date": pd.to_datetime(["2023-06-10"] * 4 + ["2024-04-15", "2024-04-20"]),
    ...         "arr_due": [100.0, 100.0, 100.0, 100.0, 1200.0, 600.0],
    ...         "arr_renewed": [100.0, 100.0, 100.0, 0.0, None, None]}))
    >>> cfg = {"components": {"t": {"signal": "tenure_days", "method": "linear", "low": 0,
    ...        "high": 1, "direction": "higher_is_better", "weight": 1}}}
    >>> f = renewal_forecast(ds, as_of="2024-03-31", config=cfg)
    >>> print(f.summary[["window_days", "contracts", "arr_due", "expected_arr"]].to_string(index=False))
     window_days  contracts  arr_due  expected_arr
              30          2   1800.0        1200.0
              60          2   1800.0        1200.0
              90          2   1800.0        1200.0
    """
    if dataset.renewals is None:
        raise ConfigError("a renewal forecast needs the renewals table")
    windows = _check_windows(windows)
    config = _resolve(config, load_health_config)
    day = scoring_day(dataset, as_of)
    bands = {} if _bands is None else _bands
    renewals = _outcomes(dataset.renewals, day)
    rates = _band_rates(dataset, renewals, day, lookback_months, config, bands)
    due = renewals[(renewals["due_date"] > day)
                   & (renewals["due_date"] <= day + pd.Timedelta(days=max(windows)))].copy()
    band_now = _bands_on(dataset, day, config, bands)
    due["band"] = due["customer_id"].map(band_now).fillna(_UNSCORED)
    due["signed"] = due["renewed_on"] <= day if "renewed_on" in due.columns else False
    due["days_to_due"] = (due["due_date"] - day).dt.days
    due["lead"] = _lead(due["days_to_due"])
    due["cell"] = _cells(due)
    p = rates.set_index(["band", "lead"])["p_renew"]
    due["p_renew"] = np.where(due["signed"], 1.0, p.reindex(due["cell"]).to_numpy())
    due["expected_arr"] = due["arr_due"] * due["p_renew"]
    sims = _simulate(due, rates, draws, seed)
    rows = []
    for window in windows:
        inside = (due["days_to_due"] <= window).to_numpy()
        totals = sims[:, inside].sum(axis=1)
        low, high = np.percentile(totals, [2.5, 97.5]) if len(totals) else (0.0, 0.0)
        rows.append({"window_days": window, "contracts": int(inside.sum()),
                     "arr_due": float(due.loc[inside, "arr_due"].sum()),
                     "signed_arr": float(due.loc[inside & due["signed"].to_numpy(), "arr_due"].sum()),
                     "expected_arr": float(due.loc[inside, "expected_arr"].sum()),
                     "low": float(low), "high": float(high)})
    columns = ["contract_id", "customer_id", "due_date", "days_to_due", "arr_due", "band",
               "signed", "lead", "p_renew", "expected_arr"]
    contracts = due.sort_values(["due_date", "contract_id"], kind="stable")[columns]
    return RenewalForecast(pd.DataFrame(rows), contracts.reset_index(drop=True), rates, day)


def renewal_forecast_and_backtest(dataset: Dataset, *, as_of=None, quarters: int = 4,
                                  windows=WINDOWS, config=None, lookback_months: int = 12,
                                  draws: int = 10_000, seed: int = 0
                                  ) -> tuple[RenewalForecast, pd.DataFrame]:
    """Return ``renewal_forecast(dataset, as_of=...)`` and ``renewal_forecast_backtest(dataset)``.

    The same two results as the separate calls with these options, but the health bands of
    the month ends both look back on are scored once, not twice (on the bundled sample 12 of
    the 39 days: about a third of the work), and all the days together
    (:func:`~csm_kit.health.signals.signals_by_day`).
    """
    if dataset.renewals is None:
        raise ConfigError("a renewal forecast needs the renewals table")
    config = _resolve(config, load_health_config)
    options = {"windows": windows, "config": config, "lookback_months": lookback_months,
               "draws": draws, "seed": seed}
    days = scoring_days(dataset, as_of=as_of, quarters=quarters, windows=windows,
                        lookback_months=lookback_months)
    signals = signals_by_day(dataset, days, custom=config.signals)
    bands = {day: _bands_of(scored, config) for day, scored in zip(days, signals, strict=True)}
    forecast = renewal_forecast(dataset, as_of=as_of, _bands=bands, **options)
    return forecast, renewal_forecast_backtest(dataset, quarters=quarters, _bands=bands,
                                               **options)


def renewal_forecast_backtest(dataset: Dataset, *, quarters: int = 4, windows=WINDOWS,
                              config=None, lookback_months: int = 12, draws: int = 10_000,
                              seed: int = 0, _bands: dict | None = None) -> pd.DataFrame:
    """Run the forecast at the end of past quarters and compare it with what renewed.

    The forecast days are the last days of the ``quarters`` latest quarters whose longest
    window ends inside the data (on or before the last complete month's end); each uses
    only the renewals due before it for its rates and the health bands of its own day.

    Returns
    -------
    DataFrame as_of, window_days, contracts, arr_due, expected_arr, low, high, actual_arr
    (ARR due of the contracts that renewed: what the forecast estimates), arr_renewed (what
    they renewed at, up- and down-sell included), error (expected_arr − actual_arr),
    inside (whether actual_arr lies in the 95% interval).
    """
    if dataset.renewals is None:
        raise ConfigError("a renewal forecast needs the renewals table")
    windows = _check_windows(windows)
    config = _resolve(config, load_health_config)
    end = scoring_day(dataset, None)
    days = _backtest_days(end, quarters, windows)
    bands = {} if _bands is None else _bands  # health bands by day, shared by the forecasts
    rows = []
    for day in days:
        forecast = renewal_forecast(dataset, as_of=day, windows=windows, config=config,
                                    lookback_months=lookback_months, draws=draws, seed=seed,
                                    _bands=bands)
        outcome = _outcomes(dataset.renewals, end).set_index("contract_id")
        for row in forecast.summary.itertuples(index=False):
            ids = forecast.contracts.loc[forecast.contracts["days_to_due"] <= row.window_days,
                                         "contract_id"]
            done = outcome.loc[ids]
            rows.append({"as_of": day, **row._asdict(),
                         "actual_arr": float(done.loc[done["renewed"], "arr_due"].sum()),
                         "arr_renewed": float(done["arr_renewed"].fillna(0).sum())})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["error"] = table["expected_arr"] - table["actual_arr"]
    table["inside"] = (table["actual_arr"] >= table["low"]) & (table["actual_arr"] <= table["high"])
    return table.drop(columns="signed_arr")


# --------------------------------------------------------------------------- helpers


def _check_windows(windows) -> tuple[int, ...]:
    ok = isinstance(windows, list | tuple) and windows and all(
        isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in windows)
    if not ok:
        raise ConfigError(f"`windows` must be whole numbers of days >= 1, e.g. (30, 60, 90), "
                          f"got {windows!r}")
    return tuple(sorted(set(windows)))


def _outcomes(renewals: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Add ``renewed``: decided by ``day``'s data as recorded (see the module notes)."""
    arr = renewals["arr_renewed"] if "arr_renewed" in renewals.columns else pd.Series(
        np.nan, index=renewals.index)
    signed = renewals["renewed_on"].notna() if "renewed_on" in renewals.columns else pd.Series(
        False, index=renewals.index)
    renewed = (arr > 0) | (arr.isna() & signed)
    return renewals.assign(renewed=renewed.to_numpy(), arr_renewed=arr.to_numpy())


def _bands_on(dataset: Dataset, day: pd.Timestamp, config, cache: dict) -> pd.Series:
    """Health band of every customer active at the end of ``day`` (cached by day)."""
    if day not in cache:
        cache[day] = _bands_of(customer_signals(dataset, as_of=day, custom=config.signals), config)
    return cache[day]


def _bands_of(signals: pd.DataFrame, config) -> pd.Series:
    return score_signals(signals, config=config).set_index("customer_id")["band"]


LEADS = (30, 60, 92)  # lead-time groups: due within 30, 31-60 and 61-92 days
_ALL = "all"


def _lead(days) -> np.ndarray:
    """Lead-time group (30, 60 or 92) of days to the due date (1–92)."""
    return np.array(LEADS)[np.searchsorted(LEADS, np.asarray(days), side="left")]


def _past(renewals: pd.DataFrame, day: pd.Timestamp, lookback_months: int) -> pd.DataFrame:
    """The contracts due in the ``lookback_months`` months up to ``day``."""
    start = day - pd.DateOffset(months=lookback_months)
    return renewals[(renewals["due_date"] > start) & (renewals["due_date"] <= day)]


def _cases(past: pd.DataFrame) -> pd.DataFrame:
    """Each past contract on each month end 1–92 days before its due date (``scored_on``),
    unless it was signed by then: the forecasts history could have made."""
    cases = []
    for k in range(4):  # the month ends within 92 days before each due date
        scored_on = past["due_date"].dt.to_period("M").dt.start_time - pd.Timedelta(days=1)
        scored_on = scored_on - pd.offsets.MonthEnd(k)
        cases.append(past.assign(scored_on=scored_on.to_numpy()))
    cases = pd.concat(cases, ignore_index=True)
    lead = (cases["due_date"] - cases["scored_on"]).dt.days
    cases = cases[(lead >= 1) & (lead <= LEADS[-1])]
    if "renewed_on" in cases.columns:  # already signed then: not a forecast case
        cases = cases[~(cases["renewed_on"] <= cases["scored_on"])]
    return cases


def _backtest_days(end: pd.Timestamp, quarters: int, windows) -> list[pd.Timestamp]:
    """The quarter ends the backtest forecasts from: the ``quarters`` latest whose longest
    window ends by ``end``."""
    last = (end - pd.Timedelta(days=max(windows))).to_period("Q").start_time - pd.Timedelta(days=1)
    days = [last - pd.offsets.QuarterEnd(k) for k in range(quarters - 1, -1, -1)] \
        if quarters > 0 else []
    return [pd.Timestamp(d) for d in days]


def scoring_days(dataset: Dataset, *, as_of=None, quarters: int = 4, windows=WINDOWS,
                 lookback_months: int = 12) -> list[pd.Timestamp]:
    """The days :func:`renewal_forecast_and_backtest` (same options) scores every customer on.

    Each costs one :func:`~csm_kit.health.signals.customer_signals` over the whole dataset, so
    their number times the customers is the work the forecast and its backtest take (the report
    checks it against its budget before running them). Sorted, without repeats.
    """
    if dataset.renewals is None:
        raise ConfigError("a renewal forecast needs the renewals table")
    windows = _check_windows(windows)
    renewals = dataset.renewals
    forecast_days = [scoring_day(dataset, as_of), *_backtest_days(scoring_day(dataset, None),
                                                                  quarters, windows)]
    days = set(forecast_days)
    for day in forecast_days:
        days.update(_cases(_past(renewals, day, lookback_months))["scored_on"])
    return sorted(pd.Timestamp(d) for d in days)


def _band_rates(dataset, renewals, day, lookback_months, config, cache) -> pd.DataFrame:
    past = _past(renewals, day, lookback_months)
    undecided = past["arr_renewed"].isna() & ~past["renewed"]
    if "renewed_on" in past.columns:
        undecided &= past["renewed_on"].isna()
    if undecided.any():
        warnings.warn(f"{int(undecided.sum())} contracts due by {day:%Y-%m-%d} have neither "
                      "arr_renewed nor renewed_on; the forecast counts them as not renewed",
                      stacklevel=3)
    cases = _cases(past)
    cases = cases.assign(lead=_lead((cases["due_date"] - cases["scored_on"]).dt.days),
                         band=_UNSCORED)
    for scored_on, group in cases.groupby("scored_on"):
        band = _bands_on(dataset, scored_on, config, cache)
        cases.loc[group.index, "band"] = group["customer_id"].map(band).fillna(_UNSCORED)
    everyone = cases.assign(band=_ALL)
    grid = pd.MultiIndex.from_product([[*BANDS, _ALL], LEADS], names=["band", "lead"])
    table = pd.concat([cases[cases["band"] != _UNSCORED], everyone]).groupby(
        ["band", "lead"])["renewed"].agg(contracts="size", renewed="sum")
    table = table.reindex(grid, fill_value=0).reset_index()
    table["p_renew"] = (table["renewed"] + 1) / (table["contracts"] + 2)
    return table


def _cells(due: pd.DataFrame) -> list[tuple[str, int]]:
    """(band, lead) of each contract; an account not scored takes the ``all`` band."""
    band = due["band"].where(due["band"] != _UNSCORED, _ALL)
    return list(zip(band, due["lead"].astype(int), strict=True))


def _simulate(due: pd.DataFrame, rates: pd.DataFrame, draws: int, seed: int) -> np.ndarray:
    """draws × contracts matrix of renewed ARR (signed contracts always renew)."""
    rng = np.random.default_rng(seed)
    cells = {(r.band, int(r.lead)): rng.beta(r.renewed + 1, r.contracts - r.renewed + 1, draws)
             for r in rates.itertuples(index=False)}
    probs = np.column_stack([cells[c] for c in due["cell"]]) if len(due) else np.zeros((draws, 0))
    probs = np.where(due["signed"].to_numpy(), 1.0, probs)
    renewed = rng.random(probs.shape) < probs
    return renewed * due["arr_due"].to_numpy()
