"""Renewals coming up: the contracts due in the next 30, 60 and 90 days, with their ARR and health.

``renewals`` (contract_id, customer_id, due_date, arr_due[, renewed_on, arr_renewed]) →
one row per contract due after the as-of day and within the horizon, with the days left, its
ARR and — when health scores are given — the account's score and band; then a summary per
window ("next 30 days", "next 60 days", "next 90 days", cumulative).

Many exports hold only past renewals. With ``project=True`` the next term of every renewed
contract is projected — due ``term_months`` after the last due date, for the ARR it was
renewed at — unless the table already has a later contract of that customer; projected rows
say so in ``source``. A projection is an expectation, not a booked renewal: only a term that
is running on the as-of day is projected (a renewal whose next term has already passed without
a row is not guessed at), and a customer's first term, or a change of contract length, is
not seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.periods import parse_date

WINDOWS = (30, 60, 90)
BANDS = ("red", "yellow", "green")


def upcoming_renewals(renewals: pd.DataFrame, *, as_of, days: int = 90,
                      health: pd.DataFrame | None = None, project: bool = False,
                      term_months: int = 12) -> pd.DataFrame:
    r"""List the contracts falling due in the ``days`` after the as-of day.

    A contract is upcoming when :math:`\text{as\_of} < \text{due\_date} \le \text{as\_of} +
    \text{days}`; contracts already signed early (``renewed_on`` on or before the as-of day)
    stay in the list, flagged ``renewed_early``.

    Parameters
    ----------
    renewals : contracts due for renewal.
    as_of : the day the horizon starts from (e.g. the reporting month's last day).
    days : the horizon in days.
    health : optional health scores (customer_id, score, band), e.g.
        :func:`csm_kit.health.scores.health_scores` at the as-of day.
    project : also project the next term of renewed contracts (module docstring).
    term_months : the contract length used by ``project``.

    Returns
    -------
    DataFrame sorted by due date: contract_id, customer_id, due_date, days_to_due, arr_due
    (currency per year), renewed_early (bool), source ("renewals" or "projected"), and score,
    band when ``health`` is given (NaN / missing for customers without a score).

    Examples
    --------
    On 31 March: k2 is due in 10 days, k3 in 75; k1 is past and k4 beyond 90 days.

    >>> r = pd.DataFrame({"contract_id": ["k1", "k2", "k3", "k4"], "customer_id": list("abcd"),
    ...                   "due_date": pd.to_datetime(["2024-03-20", "2024-04-10", "2024-06-14",
    ...                                               "2024-08-01"]),
    ...                   "arr_due": [100.0, 200.0, 300.0, 400.0]})
    >>> upcoming_renewals(r, as_of="2024-03-31")[["contract_id", "days_to_due"]].values.tolist()
    [['k2', 10], ['k3', 75]]
    """
    day = parse_date(as_of).normalize()
    for name, value in (("days", days), ("term_months", term_months)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"`{name}` must be a whole number >= 1, got {value!r}")
    contracts = renewals.assign(source="renewals")
    if project:
        contracts = pd.concat([contracts, _projected(renewals, day, term_months)],
                              ignore_index=True)
    due = contracts[(contracts["due_date"] > day)
                    & (contracts["due_date"] <= day + pd.Timedelta(days=days))]
    signed = due["renewed_on"] if "renewed_on" in due.columns else pd.Series(pd.NaT, due.index)
    out = pd.DataFrame({
        "contract_id": due["contract_id"] if "contract_id" in due.columns else due.index.astype(str),
        "customer_id": due["customer_id"], "due_date": due["due_date"],
        "days_to_due": (due["due_date"] - day).dt.days.astype("int64"),
        "arr_due": due["arr_due"].astype("float64"),
        "renewed_early": (signed <= day).fillna(False).astype(bool),
        "source": due["source"]})
    if health is not None:
        scores = health[["customer_id", *[c for c in ("score", "band") if c in health.columns]]]
        out = out.merge(scores.drop_duplicates("customer_id"), on="customer_id", how="left")
    return out.sort_values(["due_date", "contract_id"], kind="stable").reset_index(drop=True)


def renewals_due_summary(upcoming: pd.DataFrame, *,
                         windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """Contracts and ARR due within each window, and how much of it sits with red accounts.

    Windows are cumulative: "next 60 days" includes the first 30.

    Parameters
    ----------
    upcoming : the output of :func:`upcoming_renewals` (with ``band`` when health was given).
    windows : window lengths in days.

    Returns
    -------
    DataFrame, one row per window: window ("next 30 days"), days, contracts, arr_due,
    renewed_early (contracts already signed), and with a ``band`` column red, yellow, green,
    unscored (contracts per band) and arr_red (ARR due from red accounts).

    Examples
    --------
    >>> up = pd.DataFrame({"days_to_due": [10, 45, 80], "arr_due": [100.0, 200.0, 300.0],
    ...                    "renewed_early": [False, True, False], "band": ["red", "green", None]})
    >>> renewals_due_summary(up)[["window", "contracts", "arr_due", "red", "arr_red"]].values.tolist()
    [['next 30 days', 1, 100.0, 1, 100.0], ['next 60 days', 2, 300.0, 1, 100.0], ['next 90 days', 3, 600.0, 1, 100.0]]
    """
    rows = []
    for days in windows:
        inside = upcoming[upcoming["days_to_due"] <= days]
        row = {"window": f"next {days} days", "days": days, "contracts": len(inside),
               "arr_due": float(inside["arr_due"].sum()),
               "renewed_early": int(inside["renewed_early"].sum())}
        if "band" in upcoming.columns:
            for band in BANDS:
                row[band] = int((inside["band"] == band).sum())
            row["unscored"] = int(inside["band"].isna().sum())
            row["arr_red"] = float(inside.loc[inside["band"] == "red", "arr_due"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _projected(renewals: pd.DataFrame, day: pd.Timestamp, term_months: int) -> pd.DataFrame:
    """The next term of each customer's latest contract, when it was renewed and none is later."""
    latest = renewals.sort_values("due_date", kind="stable").drop_duplicates("customer_id",
                                                                             keep="last")
    latest = latest[latest["due_date"] <= day]
    if "arr_renewed" in latest.columns:
        renewed = latest["arr_renewed"] > 0
        arr = latest["arr_renewed"]
    else:
        renewed = latest.get("renewed_on", pd.Series(pd.NaT, latest.index)).notna()
        arr = latest["arr_due"]
    latest, arr = latest[renewed], arr[renewed]
    next_due = latest["due_date"] + pd.DateOffset(months=term_months)
    current = next_due > day  # a next term already past with no row in the table: not guessed
    latest, arr, next_due = latest[current], arr[current], next_due[current]
    ids = latest["contract_id"] if "contract_id" in latest.columns else latest["customer_id"]
    return pd.DataFrame({"contract_id": ids.astype(str) + "+next", "customer_id":
                         latest["customer_id"], "due_date": next_due, "arr_due": arr,
                         "source": "projected"})
