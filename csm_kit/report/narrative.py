"""The ten-second narrative: three to five generated sentences on what changed since last month.

At the top of the index and of each report, in this order:

1. **MRR**: where it ended the month, its change on the month before, and the movements
   behind the change (new, expansion, reactivation; churn, contraction).
2. **The largest moves**: the headline figures whose change on the month before was largest
   against their own usual month-to-month swing, with "better" or "worse" in the metric's
   direction. Figures from too few answers are left out.
3. **Who moved most**: the segment and the CSM book whose MRR changed most.
4. **Which accounts**: the largest account lost and the largest expansion, by name.

Privacy holds: with ``privacy="aggregate"`` no customer is named or singled out (counts and
totals only) and groups smaller than ``min_group_size`` are not named; with
``"pseudonymised"`` the dataset already carries pseudonyms, so they are what is written.
Names from the data are cleaned (no control or invisible characters) and cut to 60
characters; the sentences are still plain text: :func:`narrative_html` escapes them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.formatting import format_change, format_money, format_value
from csm_kit.kpis import KPI_BY_NAME, kpi_directions, kpi_table
from csm_kit.revenue import customer_months, mrr_movements
from csm_kit.safe_text import clean_text

#: Figures already told by the MRR sentence, or measured once only: never "largest moves".
NOT_MOVES = ("mrr", "arr", "active_customers", "arpa", "red_health_share", "arr_at_risk")
#: Names from the data (customers, segments, CSMs) are cleaned and cut to this length.
NAME_CHARS = 60
#: A move counts as large from this many times the metric's usual month-to-month swing.
LARGE_MOVE = 1.0
GROUPS = (("segment", "By segment, {name} moved most"), ("csm", "among CSM books, {name}'s moved most"))


def narrative(
    dataset: Dataset,
    *,
    as_of,
    kpis: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    privacy: str = "off",
    min_group_size: int = 5,
    currency: str | None = None,
    directions: dict[str, str] | None = None,
    revenue: Sequence[str] | None = None,
) -> list[str]:
    """Write what changed in the ``as_of`` month against the month before, in a few sentences.

    Parameters
    ----------
    dataset : the loaded (and, for a pseudonymised report, pseudonymised) dataset.
    as_of : the report's month (any date in it).
    kpis : the long KPI table when the caller has it (:func:`csm_kit.kpis.kpi_table`);
        None = computed here for ``metrics``.
    metrics : the KPI names whose moves may be told (default: every KPI in ``kpis``, or the
        registry's when ``kpis`` is None).
    privacy : "off", "pseudonymised" or "aggregate" (no customer named or singled out).
    min_group_size : with "aggregate", segments and books with fewer customers are not named.
    currency : the reporting currency's ISO code for amounts; None = no sign.
    directions : which way is good per metric (:func:`csm_kit.kpis.kpi_directions`).
    revenue : the sentences that do not depend on ``metrics`` (:func:`revenue_sentences`) when
        the caller has them for the same dataset, month, privacy and currency; None = written
        here. A report run writes them once for every page.

    Returns
    -------
    list of str : plain-text sentences (customer names as they are in the data; escape them
    with :func:`narrative_html` before they reach a page).

    Notes
    -----
    A move's size is its change on the month before divided by the standard deviation of
    the metric's month-to-month changes over the 12 months before; a move of at least
    :data:`LARGE_MOVE` of those is told, the two largest first.
    """
    month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    directions = kpi_directions() if directions is None else directions
    if revenue is None:
        revenue = revenue_sentences(dataset, as_of=month, privacy=privacy,
                                    min_group_size=min_group_size, currency=currency)
    mrr, movers, accounts = revenue
    if kpis is None:
        kpis = kpi_table(dataset, as_of=month, metrics=list(metrics) if metrics else None)
    moves = _moves_sentence(kpis, month, metrics, directions, currency)
    return [s for s in (mrr, moves, movers, accounts) if s]


def revenue_sentences(
    dataset: Dataset,
    *,
    as_of,
    privacy: str = "off",
    min_group_size: int = 5,
    currency: str | None = None,
) -> tuple[str, str, str]:
    """The narrative's sentences that every page shares: the MRR sentence, who moved most
    and which accounts (each "" when there is nothing to tell, all three without
    subscriptions). Parameters as for :func:`narrative`; the KPI moves sentence, which
    depends on the page's metrics, is written there."""
    month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    if dataset.subscriptions is None or not len(dataset.subscriptions):
        return "", "", ""
    months = customer_months(dataset.subscriptions, as_of=month)
    moves = mrr_movements(dataset.subscriptions, as_of=month)
    moves = moves.loc[moves["month"] == month]
    return (_mrr_sentence(months, moves, month, currency),
            _movers_sentence(months, dataset.customers, month, privacy, min_group_size,
                             currency),
            _accounts_sentence(moves, dataset.customers, privacy, currency))


def narrative_html(sentences: Sequence[str]) -> str:
    """The sentences as one escaped HTML paragraph (``<p class="csm-narrative">``).

    >>> narrative_html(["Acme <b>Corp</b> churned.", "MRR rose."])
    '<p class="csm-narrative">Acme &lt;b&gt;Corp&lt;/b&gt; churned. MRR rose.</p>'
    """
    text = " ".join(clean_text(s, max_len=2000) for s in sentences)
    return f'<p class="csm-narrative">{html.escape(text)}</p>'


def show_narrative(sentences: Sequence[str]):
    """Display :func:`narrative_html` in a notebook."""
    from IPython.display import HTML

    return HTML(narrative_html(sentences))


def _mrr_sentence(months: pd.DataFrame, moves: pd.DataFrame, month: pd.Timestamp,
                  currency: str | None) -> str:
    before_month = month - pd.DateOffset(months=1)
    end = float(months.loc[months["month"] == month, "mrr"].sum())
    start = float(months.loc[months["month"] == before_month, "mrr"].sum())
    totals = moves.groupby("movement")["mrr_change"].sum()
    gains = [(name, float(totals.get(name, 0.0))) for name in ("new", "expansion", "reactivation")]
    losses = [(name, -float(totals.get(name, 0.0))) for name in ("churn", "contraction")]
    money = lambda v: format_money(v, currency)  # noqa: E731
    change = _up_or_down(end - start, start, currency)
    gained = ", ".join(f"{label(name)} {money(v)}" for name, v in gains if v > 0) or "nothing"
    lost = ", ".join(f"{label(name)} {money(v)}" for name, v in losses if v > 0) or "nothing"
    return (f"MRR ended {month:%B %Y} at {money(end)}, {change} on {before_month:%B}: "
            f"gains were {gained}; losses were {lost}.")


def _up_or_down(change: float, before: float, currency: str | None) -> str:
    """"up $48.4K (+0.8%)" or "down $2K (−1.0%)"."""
    text = format_change(change, "money", currency=currency, before=before)
    return ("up " if change >= 0 else "down ") + text[1:]


def label(movement: str) -> str:
    """How a movement reads in a sentence ("new" → "new business")."""
    return {"new": "new business"}.get(movement, movement)


def _moves_sentence(kpis: pd.DataFrame, month: pd.Timestamp, metrics, directions: dict,
                    currency: str | None) -> str:
    company = kpis[(kpis["group"].isna() | (kpis["group"] == ""))].dropna(subset=["value"])
    wanted = set(metrics) if metrics else set(company["metric"])
    period = f"{month:%Y-%m}"
    found = []
    for metric, rows in company.groupby("metric"):
        if metric in NOT_MOVES or metric not in wanted or metric not in KPI_BY_NAME:
            continue
        rows = rows.sort_values("period")
        if rows["period"].iloc[-1] != period or len(rows) < 4:
            continue
        kpi = KPI_BY_NAME[metric]
        latest = rows.iloc[-1]
        if kpi.min_n and pd.notna(latest.get("n")) and latest["n"] < kpi.min_n:
            continue
        steps = rows["value"].diff().dropna()
        swing = float(steps.iloc[:-1].tail(12).std())
        if not np.isfinite(swing) or swing == 0:
            continue
        found.append((abs(steps.iloc[-1]) / swing, kpi, rows))
    large = sorted([f for f in found if f[0] >= LARGE_MOVE], key=lambda f: -f[0])[:2]
    if not large:
        return (f"No other headline figure moved more than its usual month-to-month swing in "
                f"{month:%B}.")
    parts = [_move(kpi, rows, size, directions.get(kpi.metric, kpi.direction), currency)
             for size, kpi, rows in large]
    return "The largest moves against their usual swing: " + "; ".join(parts) + "."


def _move(kpi, rows: pd.DataFrame, size: float, direction: str, currency: str | None) -> str:
    before, now = float(rows["value"].iloc[-2]), float(rows["value"].iloc[-1])
    rose = now > before
    better = rose == (direction == "higher_is_better")
    value = lambda v: format_value(v, kpi.unit, currency=currency)  # noqa: E731
    return (f"{kpi.label} {'rose' if rose else 'fell'} from {value(before)} to {value(now)} "
            f"({'better' if better else 'worse'}, {size:.1f}× its usual swing)")


def _movers_sentence(months: pd.DataFrame, customers: pd.DataFrame, month: pd.Timestamp,
                     privacy: str, min_group_size: int, currency: str | None) -> str:
    before_month = month - pd.DateOffset(months=1)
    parts = []
    for column, template in GROUPS:
        if column not in customers.columns or customers[column].notna().sum() == 0:
            continue
        mover = _mover(months, customers, column, month, before_month,
                       min_group_size if privacy == "aggregate" else 1)
        if mover is None:
            continue
        name, start, end = mover
        change = _up_or_down(end - start, start, currency)
        parts.append(f"{template.format(name=name)}: MRR {change} to {format_money(end, currency)}")
    if not parts:
        return ""
    return "; ".join(parts) + "."


def _mover(months, customers, column, month, before_month, smallest) -> tuple | None:
    """The group whose MRR changed most from ``before_month`` to ``month``, with enough customers."""
    recent = months.loc[months["month"].isin([month, before_month])].merge(
        customers[["customer_id", column]], on="customer_id", how="left")
    recent = recent.dropna(subset=[column])
    if recent[column].nunique() < 2:  # one segment (a segment report) has no "most"
        return None
    mrr = recent.pivot_table(index=column, columns="month", values="mrr", aggfunc="sum",
                             fill_value=0.0, observed=True)
    mrr = mrr.reindex(columns=[before_month, month], fill_value=0.0)
    size = recent.groupby(column, observed=True)["customer_id"].nunique()
    mrr = mrr.loc[size.reindex(mrr.index).fillna(0) >= smallest]
    if mrr.empty:
        return None
    change = (mrr[month] - mrr[before_month]).abs()
    if change.max() == 0:
        return None
    name = change.idxmax()
    return (clean_text(str(name), max_len=NAME_CHARS), float(mrr.loc[name, before_month]),
            float(mrr.loc[name, month]))


def _accounts_sentence(moves: pd.DataFrame, customers: pd.DataFrame, privacy: str,
                       currency: str | None) -> str:
    churned = moves.loc[moves["movement"] == "churn"]
    expanded = moves.loc[moves["movement"] == "expansion"]
    if churned.empty and expanded.empty:
        return ""
    money = lambda v: format_money(abs(v), currency)  # noqa: E731
    if privacy == "aggregate":
        return (f"{len(churned):,} account(s) churned ({money(churned['mrr_change'].sum())} MRR in "
                f"total) and {len(expanded):,} expanded (+{money(expanded['mrr_change'].sum())}).")
    lost = None if churned.empty else churned.loc[churned["mrr_change"].idxmin()]
    grew = None if expanded.empty else expanded.loc[expanded["mrr_change"].idxmax()]
    names = _names(customers, [row["customer_id"] for row in (lost, grew) if row is not None])
    parts = []
    if lost is not None:
        parts.append(f"the largest account lost was {_name(names, lost['customer_id'])} "
                     f"({money(lost['mrr_change'])} MRR)")
    if grew is not None:
        parts.append(f"the largest expansion was {_name(names, grew['customer_id'])} "
                     f"(+{money(grew['mrr_change'])} MRR)")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _name(names: dict, customer_id) -> str:
    return names.get(customer_id) or clean_text(str(customer_id), max_len=NAME_CHARS)


def _names(customers: pd.DataFrame, ids: list) -> dict:
    """The cleaned names of the customers ``ids`` (only those: the table may be large)."""
    if "name" not in customers.columns:
        return {}
    named = customers.loc[customers["customer_id"].isin(ids)].dropna(subset=["name"])
    return {customer: clean_text(str(name), max_len=NAME_CHARS)
            for customer, name in zip(named["customer_id"], named["name"], strict=True)}
