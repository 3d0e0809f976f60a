"""Revenue retention: NRR and GRR, net and gross MRR churn, quick ratio, expansion MRR.

NRR/GRR follow one group of customers — those active at the start of a window — and compare
their MRR at the window's end with their MRR at its start, so new business and reactivations
never count. The MRR-churn family and the quick ratio are ratios of the monthly MRR bridge
(:func:`csm_kit.revenue.mrr_bridge`). Same month-end, whole-cent and as_of rules
(:mod:`csm_kit.mrr_events`).

The MRR-churn family and the quick ratio take the definition rules where revenue tools
differ (:mod:`csm_kit.definitions`): ``timing`` and ``zero_mrr`` (how the bridge books
movements), whether reactivation counts (``include_reactivation``), or a whole
``definitions`` preset. NRR and GRR compare month-end MRR of one group of customers, which
none of these rules changes.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.definitions import resolve
from csm_kit.errors import ConfigError
from csm_kit.months import month_grid, month_starts, scatter_sum
from csm_kit.mrr_events import customer_month_frame, prepare_subscriptions
from csm_kit.revenue import bridge_table, share

__all__ = ["net_revenue_retention", "gross_revenue_retention", "net_mrr_churn", "gross_mrr_churn",
           "quick_ratio", "expansion_mrr"]


def _window_pairs(subscriptions, window_months, by, customers, as_of, engine):
    """Per window-end month (x group): customers, start MRR, end MRR, capped end MRR (cents)."""
    if not isinstance(window_months, int | np.integer) or window_months < 1:
        raise ConfigError(f"`window_months` must be a whole number >= 1, got {window_months!r}")
    frame, as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
    months = customer_month_frame(frame, as_of_index).select("customer_id", "month_index", "mrr")
    start = months.select(
        "customer_id", month_index=nw.col("month_index") + window_months,
        start_mrr=nw.col("mrr")).filter(nw.col("month_index") <= as_of_index)
    end = months.select("customer_id", "month_index", end_mrr=nw.col("mrr"))
    pairs = start.join(end, on=["customer_id", "month_index"], how="left").with_columns(
        nw.col("end_mrr").fill_null(0).cast(nw.Int64))
    pairs = eng.attach_group(pairs, customers, by).with_columns(
        capped_mrr=nw.min_horizontal("start_mrr", "end_mrr"))
    keys = ["month_index"] + ([by] if by else [])
    sums = pairs.group_by(keys, drop_null_keys=False).agg(
        nw.col("start_mrr").sum(), nw.col("end_mrr").sum(), nw.col("capped_mrr").sum(),
        customers=nw.len())
    return eng.to_pandas(sums), as_of_index


def _revenue_retention(subscriptions, *, capped, window_months, by, customers, as_of, engine):
    sums, as_of_index = _window_pairs(subscriptions, window_months, by, customers, as_of, engine)
    grid, positions = month_grid(sums, as_of_index, by)
    totals = {col: scatter_sum(len(grid), positions, sums[col])
              for col in ("customers", "start_mrr", "end_mrr", "capped_mrr")}
    retained = totals["capped_mrr" if capped else "end_mrr"]
    out = grid.drop(columns="month_index")
    out.insert(0, "month", month_starts(grid["month_index"].to_numpy()))
    out["customers"] = totals["customers"]
    out["start_mrr"] = totals["start_mrr"] / 100
    out["retained_mrr"] = retained / 100
    out["rate"] = share(retained, totals["start_mrr"]).to_numpy()
    return out


def net_revenue_retention(subscriptions, *, window_months: int = 1, by: str | None = None,
                          customers: pd.DataFrame | None = None, as_of=None,
                          engine: str | None = None) -> pd.DataFrame:
    r"""Compute net revenue retention (NRR) over a window ending each month.

    The MRR at the end of month m of the customers who were active at the end of m − w,
    divided by their MRR at the end of m − w. Expansion raises it, contraction and churn lower
    it; new customers and reactivations (not active at m − w) are excluded.

    .. math:: \mathrm{NRR}_m = \frac{\sum_{c \in A_{m-w}} \mathrm{MRR}_{c,m}}
                                    {\sum_{c \in A_{m-w}} \mathrm{MRR}_{c,m-w}}

    where :math:`A_{m-w}` = customers active at the end of month m − w.

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date (pandas,
        Polars or DuckDB).
    window_months : int >= 1. 1 = month over month; 12 = the annual view.
    by : None or a column of ``customers`` (segment, csm, plan, region); group membership is
        each customer's current value.
    customers : customers frame, required with ``by``.
    as_of : date or None (None = last complete month of the data).
    engine : None, "pandas", "polars" or "duckdb".

    Returns
    -------
    pandas DataFrame, one row per window-end month (x group): month (window end), [by],
    customers (active at the window start), start_mrr (their MRR at the window start,
    currency), retained_mrr (their MRR at the window end, currency), rate (ratio; NaN when
    start_mrr is 0).
    Notes
    -----
    Months run from the first month with customers w months earlier to as_of. A customer who
    churns and reactivates inside the window counts with its MRR at the window end.

    Examples
    --------
    a expands 100 → 150, b contracts 100 → 80, c churns (100 → 0), d is new (not counted):
    NRR = (150 + 80 + 0) / 300 = 0.7667.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01",
    ...                                   "2024-01-01", "2024-02-01"]),
    ...     "end_date": pd.to_datetime([None, None, "2024-02-01", None, "2024-02-01", None]),
    ...     "mrr": [100.0, 50.0, 100.0, 80.0, 100.0, 500.0],
    ... })
    >>> nrr = net_revenue_retention(subs, as_of="2024-02")
    >>> nrr[["customers", "start_mrr", "retained_mrr"]].values.tolist(), round(float(nrr["rate"].iloc[0]), 4)
    ([[3.0, 300.0, 230.0]], 0.7667)
    """
    return _revenue_retention(subscriptions, capped=False, window_months=window_months, by=by,
                              customers=customers, as_of=as_of, engine=engine)


def gross_revenue_retention(subscriptions, *, window_months: int = 1, by: str | None = None,
                            customers: pd.DataFrame | None = None, as_of=None,
                            engine: str | None = None) -> pd.DataFrame:
    r"""Compute gross revenue retention (GRR): NRR with each customer's expansion capped.

    As :func:`net_revenue_retention`, but each customer's end MRR counts at most its start
    MRR, so only contraction and churn move it: GRR ≤ 1 and GRR ≤ NRR always.

    .. math:: \mathrm{GRR}_m = \frac{\sum_{c \in A_{m-w}} \min(\mathrm{MRR}_{c,m},\,
                                      \mathrm{MRR}_{c,m-w})}{\sum_{c \in A_{m-w}} \mathrm{MRR}_{c,m-w}}

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date (pandas,
        Polars or DuckDB).
    window_months : int >= 1. 1 = month over month; 12 = the annual view.
    by : None or a column of ``customers`` (segment, csm, plan, region); group membership is
        each customer's current value.
    customers : customers frame, required with ``by``.
    as_of : date or None (None = last complete month of the data).
    engine : None, "pandas", "polars" or "duckdb".

    Returns
    -------
    pandas DataFrame, one row per window-end month (x group): month (window end), [by],
    customers (active at the window start), start_mrr (their MRR at the window start,
    currency), retained_mrr (their MRR at the window end, currency), rate (ratio; NaN when
    start_mrr is 0).
    Examples
    --------
    Same customers as in :func:`net_revenue_retention`: a's 150 is capped at 100, so
    GRR = (100 + 80 + 0) / 300 = 0.6.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01",
    ...                                   "2024-01-01", "2024-02-01"]),
    ...     "end_date": pd.to_datetime([None, None, "2024-02-01", None, "2024-02-01", None]),
    ...     "mrr": [100.0, 50.0, 100.0, 80.0, 100.0, 500.0],
    ... })
    >>> round(float(gross_revenue_retention(subs, as_of="2024-02")["rate"].iloc[0]), 4)
    0.6
    """
    return _revenue_retention(subscriptions, capped=True, window_months=window_months, by=by,
                              customers=customers, as_of=as_of, engine=engine)


def _bridge_ratio(subscriptions, columns, numerator, denominator, *, by, customers, as_of,
                  engine, rules=None) -> pd.DataFrame:
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine,
                         rules=rules)
    keys = ["month", *([by] if by else [])]
    out = table[keys].copy()
    for col in columns:
        out[col] = table[col].astype("float64") / 100
    out["rate"] = share(numerator(table), denominator(table)).to_numpy()
    return out


def gross_mrr_churn(subscriptions, *, by: str | None = None, customers: pd.DataFrame | None = None,
                    as_of=None, engine: str | None = None, definitions: str | None = None,
                    timing: str | None = None, zero_mrr: str | None = None) -> pd.DataFrame:
    r"""Compute gross MRR churn: MRR lost to churn and contraction ÷ MRR at the month's start.

    .. math:: \mathrm{gross\ MRR\ churn}_m = \frac{\mathrm{churn}_m + \mathrm{contraction}_m}
                                                 {\mathrm{start\ MRR}_m}

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    by, customers : optional grouping by a customers column (current value).
    as_of : date or None (None = last complete month of the data).
    engine : None, "pandas", "polars" or "duckdb".
    definitions, timing, zero_mrr : the definition rules of the bridge
        (:func:`csm_kit.revenue.mrr_bridge`); ``timing="events"`` also counts MRR lost by
        customers who joined during the month, ``zero_mrr="active"`` counts a move to a $0
        plan as contraction.

    Returns
    -------
    pandas DataFrame, one row per month (x group): month, [by], start_mrr, churn, contraction
    (currency) and rate (share of start MRR; NaN when start_mrr is 0).

    Notes
    -----
    Start MRR is the MRR at the end of the previous month; MRR of customers who join in the
    month is not in it, and the first month of the data (start 0) has no rate.

    Examples
    --------
    Start 300; c churns 100 and b contracts 20: (100 + 20) / 300 = 0.4.
    (ChartMogul's worked example, $100 start, $10 churn, $10 contraction, $10 expansion →
    20%, is in tests/test_presets.py.)

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-01"]),
    ...     "end_date": pd.to_datetime([None, "2024-02-01", None, "2024-02-01"]),
    ...     "mrr": [100.0, 100.0, 80.0, 100.0],
    ... })
    >>> gross_mrr_churn(subs, as_of="2024-02")["rate"].round(4).tolist()
    [nan, 0.4]
    """
    rules = resolve(definitions, timing=timing, zero_mrr=zero_mrr)
    return _bridge_ratio(
        subscriptions, ["start_mrr", "churn", "contraction"],
        lambda t: t["churn"] + t["contraction"], lambda t: t["start_mrr"],
        by=by, customers=customers, as_of=as_of, engine=engine, rules=rules)


def net_mrr_churn(subscriptions, *, include_reactivation: bool | None = None,
                  by: str | None = None, customers: pd.DataFrame | None = None, as_of=None,
                  engine: str | None = None, definitions: str | None = None,
                  timing: str | None = None, zero_mrr: str | None = None) -> pd.DataFrame:
    r"""Compute net MRR churn: MRR lost minus expansion ÷ MRR at the month's start.

    The source documents' formula; negative when expansion outweighs losses ("negative
    churn"). ``include_reactivation=True`` also subtracts reactivation MRR, as ChartMogul does.

    .. math:: \mathrm{net\ MRR\ churn}_m = \frac{\mathrm{churn}_m + \mathrm{contraction}_m
              - \mathrm{expansion}_m\;[- \mathrm{reactivation}_m]}{\mathrm{start\ MRR}_m}

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    by, customers : optional grouping by a customers column (current value).
    as_of : date or None (None = last complete month of the data).
    engine : None, "pandas", "polars" or "duckdb".
    include_reactivation : bool or None. Subtract reactivation MRR too (None = the preset's
        ``net_churn_reactivation``: False for csm-kit, True for chartmogul).
    definitions, timing, zero_mrr : the definition rules of the bridge, as in
        :func:`gross_mrr_churn`.

    Returns
    -------
    pandas DataFrame, one row per month (x group): month, [by], start_mrr, churn, contraction,
    expansion, reactivation (currency) and rate (share of start MRR, may be negative; NaN when
    start_mrr is 0).

    Notes
    -----
    New MRR never enters the formula; reactivation does only with ``include_reactivation``.

    Examples
    --------
    Start 300; c churns 100, b contracts 20, a expands 50: (100 + 20 − 50) / 300 = 0.2333.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01",
    ...                                   "2024-01-01"]),
    ...     "end_date": pd.to_datetime([None, None, "2024-02-01", None, "2024-02-01"]),
    ...     "mrr": [100.0, 50.0, 100.0, 80.0, 100.0],
    ... })
    >>> round(float(net_mrr_churn(subs, as_of="2024-02")["rate"].iloc[-1]), 4)
    0.2333
    """
    rules = resolve(definitions, timing=timing, zero_mrr=zero_mrr,
                    net_churn_reactivation=include_reactivation)
    sign = 1 if rules.net_churn_reactivation else 0
    return _bridge_ratio(
        subscriptions, ["start_mrr", "churn", "contraction", "expansion", "reactivation"],
        lambda t: t["churn"] + t["contraction"] - t["expansion"] - sign * t["reactivation"],
        lambda t: t["start_mrr"], by=by, customers=customers, as_of=as_of, engine=engine,
        rules=rules)


def quick_ratio(subscriptions, *, by: str | None = None, customers: pd.DataFrame | None = None,
                as_of=None, engine: str | None = None, include_reactivation: bool | None = None,
                definitions: str | None = None, timing: str | None = None,
                zero_mrr: str | None = None) -> pd.DataFrame:
    r"""Compute the SaaS quick ratio: MRR gained ÷ MRR lost each month.

    .. math:: \mathrm{quick\ ratio}_m = \frac{\mathrm{new}_m + \mathrm{expansion}_m
              + [\mathrm{reactivation}_m]}{\mathrm{churn}_m + \mathrm{contraction}_m}

    Reactivation is a gain by default; ``include_reactivation=False`` gives the original
    (Mamoon Hamid) ratio that Baremetrics and ChartMogul show: (new + expansion) ÷ (churn +
    contraction).

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    by, customers : optional grouping by a customers column (current value).
    as_of : date or None (None = last complete month of the data).
    engine : None, "pandas", "polars" or "duckdb".
    include_reactivation : bool or None. Count reactivation MRR as a gain (None = the
        preset's ``quick_ratio_reactivation``: True for csm-kit).
    definitions, timing, zero_mrr : the definition rules of the bridge, as in
        :func:`gross_mrr_churn`.

    Returns
    -------
    pandas DataFrame, one row per month (x group): month, [by], new, expansion, reactivation,
    contraction, churn (currency) and rate (NaN in a month that lost no MRR).

    Notes
    -----
    A month without losses has no finite ratio and gets NaN rather than infinity, so the
    column stays plottable.

    Examples
    --------
    February gains 50 (expansion) + 500 (new) and loses 100 + 20: 550 / 120 = 4.5833.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01",
    ...                                   "2024-01-01", "2024-02-01"]),
    ...     "end_date": pd.to_datetime([None, None, "2024-02-01", None, "2024-02-01", None]),
    ...     "mrr": [100.0, 50.0, 100.0, 80.0, 100.0, 500.0],
    ... })
    >>> round(float(quick_ratio(subs, as_of="2024-02")["rate"].iloc[-1]), 4)
    4.5833
    """
    rules = resolve(definitions, timing=timing, zero_mrr=zero_mrr,
                    quick_ratio_reactivation=include_reactivation)
    gain = 1 if rules.quick_ratio_reactivation else 0
    return _bridge_ratio(
        subscriptions, ["new", "expansion", "reactivation", "contraction", "churn"],
        lambda t: t["new"] + t["expansion"] + gain * t["reactivation"],
        lambda t: t["churn"] + t["contraction"], by=by, customers=customers, as_of=as_of,
        engine=engine, rules=rules)


def expansion_mrr(subscriptions, *, customers: pd.DataFrame | None, by: str | None = "csm",
                  as_of=None, engine: str | None = None) -> pd.DataFrame:
    r"""Sum expansion (upsell and cross-sell) MRR per group and month.

    .. math:: \mathrm{expansion}_{g,m} = \sum_{c \in g} \max(0,\ \mathrm{MRR}_{c,m}
              - \mathrm{MRR}_{c,m-1}) \quad [\mathrm{MRR}_{c,m-1} > 0]

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    customers : customers frame holding the ``by`` column (may be None when ``by`` is None).
    by : column of ``customers`` to group by (default "csm", the current owner); None = total.
    as_of : date or None (None = last complete month of the data).
    engine : None, "pandas", "polars" or "duckdb".

    Returns
    -------
    pandas DataFrame, one row per month x group: month, [by], expansion (currency per month),
    customers (customers who expanded).

    Notes
    -----
    Only existing customers expand: a new customer's first MRR and a reactivation are not
    expansion. Accounts are credited to their *current* owner in ``customers``.

    Examples
    --------
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-02-01"]),
    ...     "mrr": [100.0, 50.0, 100.0, 30.0],
    ... })
    >>> owners = pd.DataFrame({"customer_id": ["a", "b"], "csm": ["Ann", "Bob"]})
    >>> print(expansion_mrr(subs, customers=owners, as_of="2024-02").to_string())
           month  csm  expansion  customers
    0 2024-01-01  Ann        0.0          0
    1 2024-01-01  Bob        0.0          0
    2 2024-02-01  Ann       50.0          1
    3 2024-02-01  Bob       30.0          1
    """
    table = bridge_table(subscriptions, by=by, customers=customers, as_of=as_of, engine=engine)
    out = table[["month", *([by] if by else [])]].copy()
    out["expansion"] = table["expansion"].astype("float64") / 100
    out["customers"] = table["n_expansion"].astype("int64")
    return out.sort_values(["month", *([by] if by else [])], ignore_index=True)
