"""Renewals, free trials and referrals: did contracts renew, trials convert, customers refer?

Each function turns one event table into one row per period (and group) with the counts, the
rate and a 95% Wilson interval for the rate:

- ``renewals`` (contract_id, customer_id, due_date, arr_due[, renewed_on, arr_renewed]) →
  logo, gross and net dollar renewal by the period the contract was *due*;
- ``trials`` (trial_id, started_at[, converted_at]) → conversion by trial-start cohort;
- ``referrals`` (referral_id, referrer_customer_id, date[, referred_customer_id]) with
  ``subscriptions`` → the share of active customers who referred someone.

Outcomes are taken as recorded: a renewal signed or a trial converted after ``as_of`` still
counts for the period it belongs to. ``as_of`` only decides which contracts are due and which
trials have started.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.frames import isin
from csm_kit.grouping import group_keys, in_periods, with_group
from csm_kit.periods import last_complete_month, parse_as_of, period_start
from csm_kit.revenue import customer_months
from csm_kit.stats import ratio_interval, wilson_interval


def _renewal_outcomes(due: pd.DataFrame) -> pd.DataFrame:
    """Add ``renewed`` (bool) and ``arr_kept`` (arr_renewed capped at arr_due) to due contracts."""
    arr = due["arr_renewed"] if "arr_renewed" in due.columns else pd.Series(np.nan, due.index)
    signed = due.get("renewed_on", pd.Series(pd.NaT, index=due.index)).notna()
    unknown = arr.isna() & ~signed
    if "arr_renewed" in due.columns and unknown.any():
        warnings.warn(f"{int(unknown.sum())} contracts due by as_of have neither arr_renewed nor "
                      "renewed_on; they are counted as not renewed", stacklevel=3)
    renewed = (arr > 0) | (arr.isna() & signed)
    return due.assign(renewed=renewed, arr_renewed=arr,
                      arr_kept=np.minimum(arr, due["arr_due"]))


def renewal_rates(renewals: pd.DataFrame, *, freq: str = "M", by: str | None = None,
                  customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    r"""Logo, gross dollar and net dollar renewal of the contracts due in each period.

    .. math::

        \text{logo renewal} = \frac{\#\text{renewed}}{\#\text{due}},\quad
        \text{GDR} = \frac{\sum \min(\text{arr\_renewed}, \text{arr\_due})}{\sum \text{arr\_due}},
        \quad \text{NDR} = \frac{\sum \text{arr\_renewed}}{\sum \text{arr\_due}}

    NDR is the source documents' "(renewals + upgrades) ÷ renewal revenue" (they call it "net
    churn"; it is a retention ratio, higher is better): up-sell at renewal lifts it above 100%
    even when some contracts are lost. GDR caps each contract at its due ARR, so GDR ≤ 100%.

    Parameters
    ----------
    renewals : contracts due for renewal.
    freq : ``"M"``, ``"Q"`` or ``"Y"`` — the period of ``due_date``.
    by : optional column of renewals or of customers (segment, csm, plan).
    customers : the customers table; needed when ``by`` is not a column of renewals.
    as_of : count contracts due up to the end of this month (default: the last complete month of
        the latest renewed_on, or of due_date when no renewal date is recorded). Contracts due
        later are not yet decided and are left out.

    Returns
    -------
    DataFrame with period (first day), [by], contracts_due, renewed (counts),
    logo_renewal_rate (0–1), arr_due, arr_renewed (currency per year), gross_dollar_renewal,
    net_dollar_renewal (ratios, 1.0 = 100%), ci_low, ci_high (95% Wilson, logo rate),
    gdr_ci_low, gdr_ci_high, ndr_ci_low, ndr_ci_high (95% intervals of the dollar rates with
    contracts as the units, :func:`csm_kit.stats.ratio_interval`; NaN for one contract).

    Notes
    -----
    A contract is renewed when ``arr_renewed > 0``; where arr_renewed is empty (or absent), when
    ``renewed_on`` is set. ``arr_renewed == 0`` means not renewed even if renewed_on is set.
    Contracts due by as_of with neither are counted as not renewed, with a warning. Without an
    arr_renewed column the dollar columns are NaN.

    Examples
    --------
    Three contracts of 100 due in March: one grows to 200, one to 150, one is lost. Logo
    renewal 2 ÷ 3; GDR (100 + 100 + 0) ÷ 300; NDR (200 + 150 + 0) ÷ 300 = 117%.

    >>> r = pd.DataFrame({"customer_id": list("abc"), "arr_due": 100.0,
    ...                   "due_date": pd.to_datetime(["2024-03-05", "2024-03-20", "2024-03-31"]),
    ...                   "arr_renewed": [200.0, 150.0, 0.0]})
    >>> out = renewal_rates(r)[["logo_renewal_rate", "gross_dollar_renewal", "net_dollar_renewal"]]
    >>> print(out.round(3).to_string())
       logo_renewal_rate  gross_dollar_renewal  net_dollar_renewal
    0              0.667                 0.667               1.167
    """
    dates = renewals["renewed_on"] if "renewed_on" in renewals.columns else renewals["due_date"]
    if dates.isna().all():
        dates = renewals["due_date"]
    due = in_periods(renewals, "due_date", freq=freq, as_of=as_of, data_dates=dates)
    due = _renewal_outcomes(with_group(due, by, customers, table="renewals"))
    keys = group_keys(by)
    table = due.groupby(keys, dropna=False).agg(
        contracts_due=("renewed", "size"), renewed=("renewed", "sum"),
        arr_due=("arr_due", "sum"), arr_renewed=("arr_renewed", "sum"),
        arr_kept=("arr_kept", "sum"), arr_known=("arr_renewed", "count"))
    unknown_dollars = table["arr_known"] == 0  # no arr_renewed at all: dollars unknown, not 0
    table.loc[unknown_dollars, ["arr_renewed", "arr_kept"]] = np.nan
    table["logo_renewal_rate"] = table["renewed"] / table["contracts_due"]
    table["gross_dollar_renewal"] = table["arr_kept"] / table["arr_due"]
    table["net_dollar_renewal"] = table["arr_renewed"] / table["arr_due"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["renewed"], table["contracts_due"])
    for name, column, upper in (("gdr", "arr_kept", 1.0), ("ndr", "arr_renewed", None)):
        bounds = ratio_interval(due, numerator=column, denominator="arr_due", keys=keys,
                                upper=upper).reindex(table.index)
        known = ~unknown_dollars
        table[f"{name}_ci_low"] = bounds["ci_low"].where(known)
        table[f"{name}_ci_high"] = bounds["ci_high"].where(known)
    columns = ["contracts_due", "renewed", "logo_renewal_rate", "arr_due", "arr_renewed",
               "gross_dollar_renewal", "net_dollar_renewal", "ci_low", "ci_high",
               "gdr_ci_low", "gdr_ci_high", "ndr_ci_low", "ndr_ci_high"]
    return table.reset_index()[keys + columns]


def trailing_renewal_rates(renewals: pd.DataFrame, *, window_months: int = 12,
                           by: str | None = None, customers: pd.DataFrame | None = None,
                           as_of=None) -> pd.DataFrame:
    """Renewal rates of all contracts due in the trailing window, pooled into one figure per group.

    The contracts due in the ``window_months`` months ending with the as-of month are counted
    together (as in :func:`renewal_rates`), so a CSM or segment with few renewals a month still
    gets one figure with an honest interval.

    Returns
    -------
    The columns of :func:`renewal_rates`, one row per group (one row without ``by``); period
    is the first month of the window.

    Examples
    --------
    Two contracts due in January and one in March, window of three months to March:

    >>> r = pd.DataFrame({"customer_id": list("abc"), "arr_due": 100.0,
    ...                   "due_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-03-31"]),
    ...                   "arr_renewed": [100.0, 0.0, 120.0]})
    >>> out = trailing_renewal_rates(r, window_months=3, as_of="2024-03")
    >>> out[["period", "contracts_due", "renewed", "net_dollar_renewal"]].values.tolist()
    [[Timestamp('2024-01-01 00:00:00'), 3, 2, 0.7333333333333333]]
    """
    if isinstance(window_months, bool) or not isinstance(window_months, int | np.integer) \
            or window_months < 1:
        raise ConfigError(f"`window_months` must be a whole number >= 1, got {window_months!r}")
    month = parse_as_of(as_of)
    if month is None:
        dates = renewals["renewed_on"] if "renewed_on" in renewals.columns else renewals["due_date"]
        dates = renewals["due_date"] if dates.isna().all() else dates
        month = last_complete_month(dates.max())
    first = month - pd.DateOffset(months=window_months - 1)
    window = renewals[(renewals["due_date"] >= first)
                      & (renewals["due_date"] < month + pd.DateOffset(months=1))]
    pooled = window.assign(due_date=month)
    out = renewal_rates(pooled, by=by, customers=customers, as_of=month)
    return out.assign(period=first)


def trial_conversion(trials: pd.DataFrame, *, freq: str = "M", within_days: int | None = None,
                     as_of=None) -> pd.DataFrame:
    r"""Free-trial conversion: trials started in a period that became paying customers.

    .. math:: \text{conversion} = \frac{\#\{\text{trials started in the period that converted}\}}
                                       {\#\{\text{trials started in the period}\}}

    Parameters
    ----------
    trials : free trials with started_at and converted_at (empty = not converted).
    freq : ``"M"``, ``"Q"`` or ``"Y"`` — the cohort is the period of ``started_at``.
    within_days : count only conversions within this many days of the trial start (None = any
        time). Use it to compare recent cohorts with old ones on an equal footing.
    as_of : count trials started up to the end of this month (default: last complete month of
        started_at/converted_at).

    Returns
    -------
    DataFrame with period (trial-start cohort, first day), trials, converted (counts), rate
    (0–1), ci_low, ci_high (95% Wilson), and with ``within_days`` window_closed (True when
    the cohort's last possible start plus ``within_days`` lies on or before the as-of month's
    last day, so every trial of it has had its full window).

    Notes
    -----
    Recent cohorts have had less time to convert and look worse until their trials end: with
    ``within_days``, judge only cohorts whose ``window_closed`` is True.

    Examples
    --------
    Four January trials; two convert, one of them after 40 days.

    >>> t = pd.DataFrame({"started_at": pd.to_datetime(["2024-01-02", "2024-01-10",
    ...                                                 "2024-01-15", "2024-01-31"]),
    ...                   "converted_at": pd.to_datetime(["2024-01-12", None, "2024-02-24", None])})
    >>> print(trial_conversion(t, as_of="2024-01")[["trials", "converted", "rate"]].to_string())
       trials  converted  rate
    0       4          2   0.5
    >>> out = trial_conversion(t, within_days=30, as_of="2024-03")
    >>> float(out["rate"].iloc[0]), bool(out["window_closed"].iloc[0])
    (0.25, True)
    >>> bool(trial_conversion(t, within_days=30, as_of="2024-02")["window_closed"].iloc[0])
    False
    """
    if within_days is not None and (isinstance(within_days, bool) or
                                    not isinstance(within_days, (int, np.integer))
                                    or within_days < 0):
        raise ConfigError(f"`within_days` must be a whole number >= 0 or None, got {within_days!r}")
    converted_at = trials.get("converted_at", pd.Series(pd.NaT, index=trials.index))
    converted = converted_at.notna()
    if within_days is not None:
        converted &= converted_at - trials["started_at"] <= pd.Timedelta(days=within_days)
    dates = pd.concat([trials["started_at"], converted_at])
    started = in_periods(trials.assign(converted=converted), "started_at", freq=freq,
                         as_of=as_of, data_dates=dates)
    table = started.groupby("period").agg(trials=("converted", "size"),
                                          converted=("converted", "sum"))
    table["rate"] = table["converted"] / table["trials"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["converted"], table["trials"])
    table = table.reset_index()
    if within_days is not None:
        month = parse_as_of(as_of)
        if month is None and dates.notna().any():
            month = last_complete_month(dates.max())
        last_day = month + pd.offsets.MonthEnd(0) if month is not None else pd.NaT
        period_end = period_start(table["period"], freq) + _PERIOD_STEP[freq] - pd.Timedelta(days=1)
        table["window_closed"] = (period_end + pd.Timedelta(days=within_days)) <= last_day
    return table


_PERIOD_STEP = {"M": pd.DateOffset(months=1), "Q": pd.DateOffset(months=3),
                "Y": pd.DateOffset(years=1)}


def referral_rate(referrals: pd.DataFrame, subscriptions: pd.DataFrame, *, freq: str = "M",
                  as_of=None) -> pd.DataFrame:
    r"""Referral rate: the share of active customers who referred someone in the period.

    .. math:: \text{referral rate} = \frac{\#\{\text{customers active at period end who
              referred in the period}\}}{\#\{\text{customers active at period end}\}}

    Active customers come from :func:`csm_kit.revenue.customer_months` (MRR > 0 on the period's
    last day, or on the as-of month's last day for an unfinished period).

    Parameters
    ----------
    referrals : referrals with referrer_customer_id, date and optionally referred_customer_id.
    subscriptions : subscriptions, to know who is an active customer.
    freq : ``"M"``, ``"Q"`` or ``"Y"`` — the period of the referral date.
    as_of : last month (default: the last complete month of the subscriptions, as in
        customer_months).

    Returns
    -------
    DataFrame with period (first day), referrers (active referring customers), active_customers,
    rate (0–1), ci_low, ci_high (95% Wilson), referred_customers (distinct referred customer
    ids in the period, all referrals; <NA> without a referred_customer_id column).

    Notes
    -----
    A customer referring several times in a period counts once. A referrer no longer active at
    the period end is not counted in ``referrers``, so the rate stays a share. Every period with
    active customers has a row (rate 0 when nobody referred).

    Examples
    --------
    Customers a, b, c, d active in March; a referred twice, c once: 2 ÷ 4.

    >>> subs = pd.DataFrame({"customer_id": list("abcd"), "mrr": 10.0,
    ...                      "start_date": pd.to_datetime(["2024-03-01"] * 4)})
    >>> refs = pd.DataFrame({"referrer_customer_id": ["a", "a", "c"],
    ...                      "referred_customer_id": ["x", "y", "z"],
    ...                      "date": pd.to_datetime(["2024-03-02", "2024-03-09", "2024-03-30"])})
    >>> out = referral_rate(refs, subs, as_of="2024-03")
    >>> print(out[["referrers", "active_customers", "rate", "referred_customers"]].to_string())
       referrers  active_customers  rate  referred_customers
    0          2                 4   0.5                   3
    """
    months = customer_months(subscriptions, as_of=as_of)
    last = parse_as_of(as_of)
    if last is None and len(months):
        last = months["month"].max()
    period = period_start(months["month"], freq)
    is_end = (period != period_start(months["month"] + pd.DateOffset(months=1), freq)) | (
        months["month"] == last)
    active = months[is_end].assign(period=period[is_end])[["period", "customer_id"]]
    dated = referrals[referrals["date"] < last + pd.DateOffset(months=1)] if last is not None \
        else referrals.iloc[:0]
    dated = dated.assign(period=period_start(dated["date"], freq))
    referred = _referred_customers(dated)
    referrers = dated[["period", "referrer_customer_id"]].drop_duplicates().rename(
        columns={"referrer_customer_id": "customer_id"})
    customers = active.groupby("period").size()
    # only the few active rows of customers who ever referred are joined (not every one)
    ever = active[isin(active["customer_id"], referrers["customer_id"])]
    hits = ever if referrers.empty else ever.merge(referrers, on=["period", "customer_id"],
                                                   how="inner")
    table = pd.DataFrame({"referrers": hits.groupby("period").size().reindex(
        customers.index, fill_value=0), "active_customers": customers})
    table["rate"] = table["referrers"] / table["active_customers"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["referrers"],
                                                        table["active_customers"])
    table["referred_customers"] = referred.reindex(table.index).fillna(0).astype("Int64")
    if "referred_customer_id" not in referrals.columns:
        table["referred_customers"] = pd.array([pd.NA] * len(table), dtype="Int64")
    return table.reset_index()


def _referred_customers(dated: pd.DataFrame) -> pd.Series:
    if "referred_customer_id" not in dated.columns:
        return pd.Series(dtype="Int64")
    return dated.groupby("period")["referred_customer_id"].nunique()
