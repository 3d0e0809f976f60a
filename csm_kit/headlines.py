"""The headline figures: each KPI's latest value with its change, trend and verdicts, ready to show.

:func:`headline` turns the long KPI table (:func:`csm_kit.kpis.kpi_table`) into one row per
metric: the value in its unit and currency, the change since the month before, the target
and the noise-aware verdicts of :func:`csm_kit.targets.target_status`, n, a note when the
value is older than the report's month, and the last 12 values for a sparkline.
:func:`headline_cards` picks the index page's cards; :func:`rounded_for_display` rounds the
long table for a terminal (files keep full precision).
"""

from __future__ import annotations

import pandas as pd

from csm_kit.formatting import format_change, format_value
from csm_kit.kpis import KPI_BY_NAME, KPIS, Kpi, kpi_rules
from csm_kit.targets import target_status

#: The headline cards of the index page, in order: the first 8 the dataset supports.
CARDS = ("mrr", "net_revenue_retention", "gross_revenue_retention", "logo_churn_rate", "nps",
         "csat", "arr_at_risk", "net_dollar_renewal", "repeat_purchase_rate",
         "average_order_value", "first_contact_resolution_rate", "active_customers")

#: Metrics that only restate another one (monthly logo retention is 1 − logo churn when nobody
#: returns): never used to top the cards up while the metric they restate is present.
RESTATES = {"logo_retention_rate": "logo_churn_rate"}

HEADLINE_COLUMNS = [
    "metric", "label", "area", "unit", "period", "value", "n", "ci_low", "ci_high", "target",
    "direction", "status", "trailing_median", "vs_history", "noise", "previous_period",
    "previous_value", "change", "value_display", "target_display", "change_display",
    "history_display", "n_display", "period_note", "trend",
]


def headline(
    kpis: pd.DataFrame,
    *,
    targets: dict | None = None,
    as_of=None,
    directions: dict[str, str] | None = None,
    currency: str | None = None,
    trend_months: int = 12,
) -> pd.DataFrame:
    """Return the latest company-wide value of each metric with its verdicts, ready to show.

    Parameters
    ----------
    kpis : the output of :func:`kpi_table`.
    targets : from :func:`csm_kit.targets.load_targets`; None = the packaged defaults.
    as_of : the report's month; a metric whose latest value is older says which month it is
        from (``period_note``). None = the latest period in ``kpis``.
    directions : which way is good per metric (:func:`kpi_directions`; None = the registry).
    currency : ISO code of the reporting currency for money values; None = no sign.
    trend_months : values kept in ``trend`` (the latest last), for a sparkline.

    Returns
    -------
    DataFrame, one row per metric in registry order, with the columns of
    :func:`csm_kit.targets.target_status` (status, vs_history, noise, change, ...) plus label,
    area, unit, value_display, target_display, change_display ("+0.5 pp vs Sep 2026"),
    history_display ("worse than the 12-month median of 1.2%, within noise"), n_display,
    period_note ("" or "value from August 2026") and trend (a list of floats).
    """
    status = target_status(kpis, targets=targets, rules=kpi_rules(directions))
    if status.empty:
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    kpi = status["metric"].map(KPI_BY_NAME.get)
    status["label"] = [k.label if k else m for k, m in zip(kpi, status["metric"], strict=True)]
    status["area"] = [k.area if k else "other" for k in kpi]
    status["unit"] = [k.unit if k else "ratio" for k in kpi]
    latest = pd.Period(max(status["period"]) if as_of is None else pd.Timestamp(as_of), "M")
    rows = status.to_dict("records")
    for row, k in zip(rows, kpi, strict=True):
        row.update(_displayed(row, k, currency, latest))
    shown = pd.DataFrame(rows)
    shown["trend"] = _trends(kpis, shown["metric"], trend_months)
    order = {k.metric: i for i, k in enumerate(KPIS)}
    shown = shown.sort_values("metric", key=lambda s: s.map(order).fillna(len(order)), kind="stable")
    return shown.reset_index(drop=True)[HEADLINE_COLUMNS]


def headline_cards(head: pd.DataFrame, *, most: int = 8, fewest: int = 6) -> pd.DataFrame:
    """The rows of :func:`headline` for the index's cards: :data:`CARDS` in order, up to
    ``most``; topped up from the other metrics in registry order to ``fewest``, skipping a
    metric that restates one already present (:data:`RESTATES`)."""
    present = list(head["metric"])
    chosen = [m for m in CARDS if m in present][:most]
    spare = [m for m in present if m not in chosen and RESTATES.get(m) not in present]
    chosen += spare[: max(0, fewest - len(chosen))]
    return head.set_index("metric").loc[chosen].reset_index()


def _displayed(row: dict, kpi: Kpi | None, currency: str | None, latest: pd.Period) -> dict:
    unit = row["unit"]
    period = pd.Period(row["period"][:7], "M")
    previous = row["previous_period"]
    lower = row["direction"] == "lower_is_better"
    median = format_value(row["trailing_median"], unit, currency=currency)
    history = "" if not row["vs_history"] else (
        f"{row['vs_history']} than the 12-month median of {median}"
        if row["vs_history"] != "same" else f"same as the 12-month median of {median}")
    if history and row["noise"]:
        history = row["noise"] if row["noise"] != "within noise" else f"{history}, within noise"
    return {
        "value_display": format_value(row["value"], unit, currency=currency),
        "target_display": "" if pd.isna(row["target"]) else
        ("≤ " if lower else "≥ ") + format_value(row["target"], unit, currency=currency),
        "change_display": "" if previous is None or pd.isna(row["change"]) else
        f"{format_change(row['change'], unit, currency=currency, before=row['previous_value'])}"
        f" vs {pd.Period(previous[:7], 'M'):%b %Y}",
        "history_display": history,
        "n_display": "" if pd.isna(row["n"]) else
        f"n = {row['n']:,.0f} {_noun(kpi.n_noun if kpi else '', row['n'])}".rstrip(),
        "period_note": "" if period >= latest else f"value from {period:%B %Y}",
    }


def _noun(noun: str, n: float) -> str:
    """'customers' for any n but 1 ('customer'); 'contracts due' -> 'contract due'."""
    if n != 1 or not noun:
        return noun
    first, *rest = noun.split(" ")
    return " ".join([first.removesuffix("s"), *rest])


def _trends(kpis: pd.DataFrame, metrics: pd.Series, months: int) -> list[list[float]]:
    company = kpis[kpis["group"].isna() | (kpis["group"] == "")].dropna(subset=["value"])
    series = {m: rows.sort_values("period")["value"].tail(months).astype(float).tolist()
              for m, rows in company.groupby("metric")}
    return [series.get(m, []) for m in metrics]


#: Decimals each unit keeps when the KPI table is printed (n always whole).
DISPLAY_DECIMALS = {"share": 4, "money": 2, "ratio": 2, "points": 1, "score": 2, "count": 0,
                    "hours": 1}


def rounded_for_display(kpis: pd.DataFrame) -> pd.DataFrame:
    """Round the long KPI table for reading on a terminal: value and interval to the decimals
    of each metric's unit (:data:`DISPLAY_DECIMALS`: shares to 0.01 percentage point, money
    to cents), n to whole numbers. Exported files keep full precision.

    >>> table = pd.DataFrame({"metric": ["logo_churn_rate", "mrr"], "value": [0.022298462, 5798178.456],
    ...                       "n": [1166.0, 1191.0], "ci_low": [0.0152619, None], "ci_high": [0.03247, None]})
    >>> rounded_for_display(table)[["value", "n", "ci_low"]].values.tolist()
    [[0.0223, 1166, 0.0153], [5798178.46, 1191, nan]]
    """
    units = kpis["metric"].map(lambda m: KPI_BY_NAME[m].unit if m in KPI_BY_NAME else "ratio")
    decimals = units.map(DISPLAY_DECIMALS)
    out = kpis.copy()
    for column in ("value", "ci_low", "ci_high"):
        if column in out.columns:
            out[column] = [round(v, d) if pd.notna(v) else v
                           for v, d in zip(out[column], decimals, strict=True)]
    if "n" in out.columns:
        out["n"] = out["n"].round(0).astype("Int64")
    return out
