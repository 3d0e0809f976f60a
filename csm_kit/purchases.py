"""Purchase behaviour for transaction businesses: repeat purchase, frequency, order values.

Input is the ``transactions`` table (``transaction_id, customer_id, date, amount``); output is
one row per period (``freq`` = ``"M"``, ``"Q"`` or ``"Y"``), from the first to the last period
with a transaction, in a ``period`` column holding the period's first day.

What is counted, everywhere in this module:

* **order** — a transaction row with ``amount >= 0``. Same-day orders of one customer are
  separate orders; zero-amount orders (free samples, 100% coupons) are orders.
* **refund** — a row with ``amount < 0``. It is *not* an order (a refund does not make a
  customer a repeat buyer) but it reduces **revenue** (the sum of all amounts) of the
  period it is dated in.
* **customer** — a customer with at least one order in the period (refund-only customers are
  not counted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError
from csm_kit.periods import parse_as_of, period_start
from csm_kit.revenue import customer_months
from csm_kit.stats import wilson_interval

VARIANTS = ("within", "returning")
DENOMINATORS = ("buying", "active")


def repeat_purchase_rate(transactions: pd.DataFrame, *, freq: str = "M",
                         variant: str = "within") -> pd.DataFrame:
    r"""Share of a period's buyers who bought repeatedly, with a Wilson interval.

    .. math::

        \text{rate}(p) = \frac{\text{repeat customers in } p}{\text{customers with} \ge 1
        \text{ order in } p}

    ``variant="within"``: a repeat customer has at least 2 orders *in* the period (the
    source documents' definition: 10 of 100 customers → 10%). ``variant="returning"``: a
    repeat customer also ordered in any *earlier* period (their first order is dated before
    the period starts).

    Parameters
    ----------
    transactions : DataFrame
        ``customer_id``, ``date``, ``amount`` (module docstring: orders vs refunds).
    freq : {"M", "Q", "Y"}
    variant : {"within", "returning"}

    Returns
    -------
    DataFrame
        ``period`` (first day), ``customers`` (with ≥ 1 order), ``repeat_customers``,
        ``rate`` (share 0–1), ``ci_low``, ``ci_high`` (Wilson, 95%). Periods without orders
        have 0 customers and NaN rate.

    Notes
    -----
    ``within`` counts orders, not distinct days: two orders on the same day make a repeat
    customer. For ``returning`` the first period of the data has no earlier periods, so its
    rate is 0 by construction; read it from the second period on.

    Examples
    --------
    In January A orders twice (same day), B once: 1 of 2 customers repeated. In February only
    A orders, and A had bought before, so the ``returning`` rate is 1 of 1:

    >>> tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3", "t4"],
    ...                    "customer_id": ["A", "A", "B", "A"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-09",
    ...                                            "2024-02-02"]),
    ...                    "amount": [10.0, 5.0, 20.0, 8.0]})
    >>> print(repeat_purchase_rate(tx)[["period", "customers", "repeat_customers", "rate"]]
    ...       .to_string(index=False))
        period  customers  repeat_customers  rate
    2024-01-01          2                 1   0.5
    2024-02-01          1                 0   0.0
    >>> repeat_purchase_rate(tx, variant="returning")["rate"].tolist()
    [0.0, 1.0]
    """
    if variant not in VARIANTS:
        raise ConfigError(f"`variant` must be one of {list(VARIANTS)}, got {variant!r}")
    orders = _orders(transactions, freq)
    per_customer = orders.groupby(["period", "customer_id"], sort=True).size().rename("orders")
    per_customer = per_customer.reset_index()
    if variant == "within":
        per_customer["repeat"] = per_customer["orders"] >= 2
    else:
        first = per_customer.groupby("customer_id")["period"].transform("min")
        per_customer["repeat"] = first < per_customer["period"]
    counts = per_customer.groupby("period").agg(
        customers=("customer_id", "size"), repeat_customers=("repeat", "sum"))
    counts = _all_periods(counts, transactions, freq).astype("int64")
    low, high = wilson_interval(counts["repeat_customers"], counts["customers"])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = counts["repeat_customers"] / counts["customers"].where(counts["customers"] > 0)
    return counts.assign(rate=rate, ci_low=low, ci_high=high).reset_index()


def purchase_frequency(transactions: pd.DataFrame, *, freq: str = "M") -> pd.DataFrame:
    r"""Orders per buying customer in each period.

    .. math:: \text{value}(p) = \frac{\text{orders in } p}{\text{customers with} \ge 1
              \text{ order in } p}

    Counts every order, the first included (this is *not* lifetimes' ``frequency``, which
    counts repeat purchases only). See the module docstring for orders vs refunds.

    Returns
    -------
    DataFrame
        ``period``, ``orders``, ``customers``, ``value`` (orders per customer; NaN without
        orders).

    Examples
    --------
    Three orders by two customers in March: 1.5 orders per customer.

    >>> tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["A", "A", "B"],
    ...                    "date": pd.to_datetime(["2024-03-01", "2024-03-20", "2024-03-05"]),
    ...                    "amount": [10.0, 0.0, 20.0]})
    >>> purchase_frequency(tx)[["orders", "customers", "value"]].values.tolist()
    [[3.0, 2.0, 1.5]]
    """
    table = _period_totals(transactions, freq)
    return table.assign(value=table["orders"] / table["customers"].where(table["customers"] > 0))[
        ["period", "orders", "customers", "value"]]


def average_order_value(transactions: pd.DataFrame, *, freq: str = "M") -> pd.DataFrame:
    r"""Revenue per order in each period (AOV), net of refunds.

    .. math:: \text{value}(p) = \frac{\sum \text{amount in } p \text{ (refunds negative)}}
              {\text{orders in } p}

    Returns
    -------
    DataFrame
        ``period``, ``revenue`` (currency, net of refunds), ``orders``, ``value``
        (currency per order; NaN without orders).

    Examples
    --------
    Orders of $10 and $30 and a $-10 refund in March: (10 + 30 − 10) ÷ 2 orders = $15.

    >>> tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["A", "B", "B"],
    ...                    "date": pd.to_datetime(["2024-03-01", "2024-03-05", "2024-03-09"]),
    ...                    "amount": [10.0, 30.0, -10.0]})
    >>> average_order_value(tx)[["revenue", "orders", "value"]].values.tolist()
    [[30.0, 2.0, 15.0]]
    """
    table = _period_totals(transactions, freq)
    return table.assign(value=table["revenue"] / table["orders"].where(table["orders"] > 0))[
        ["period", "revenue", "orders", "value"]]


def average_customer_value(transactions: pd.DataFrame, *, freq: str = "M",
                           denominator: str = "buying",
                           subscriptions: pd.DataFrame | None = None,
                           as_of=None) -> pd.DataFrame:
    r"""Revenue per customer in each period, net of refunds; the denominator is stated.

    .. math:: \text{value}(p) = \frac{\sum \text{amount in } p}{\text{customers in } p}

    ``denominator="buying"`` (default): customers with at least one order in the period — then
    it equals average order value × purchase frequency for the same period.
    ``denominator="active"``: customers active (MRR > 0) at the period's end, from
    ``subscriptions`` (:func:`csm_kit.revenue.customer_months`), whether or not they bought —
    the subscription business's view; it is lower when some active customers were not invoiced.

    Parameters
    ----------
    transactions : DataFrame
        ``customer_id``, ``date``, ``amount`` (module docstring: orders vs refunds).
    freq : {"M", "Q", "Y"}
    denominator : {"buying", "active"}
    subscriptions : DataFrame, required with ``denominator="active"``.
    as_of : with ``"active"``, the last month whose end counts active customers (default: the
        month of the latest transaction).

    Returns
    -------
    DataFrame
        ``period``, ``revenue`` (currency, net of refunds), ``customers`` (the denominator's
        count), ``value`` (currency per customer; NaN without customers).

    Notes
    -----
    With ``"active"``, a period that has not ended by ``as_of`` counts the customers active at
    the end of the ``as_of`` month; periods after it have no active customers and a NaN value.

    Examples
    --------
    $10 + $30 from A and $20 from B in March: $60 ÷ 2 buying customers = $30.

    >>> tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["A", "A", "B"],
    ...                    "date": pd.to_datetime(["2024-03-01", "2024-03-05", "2024-03-09"]),
    ...                    "amount": [10.0, 30.0, 20.0]})
    >>> average_customer_value(tx)[["revenue", "customers", "value"]].values.tolist()
    [[60.0, 2.0, 30.0]]

    If C was also active at the end of March but bought nothing: $60 ÷ 3 active = $20.

    >>> subs = pd.DataFrame({"customer_id": list("ABC"), "mrr": 10.0,
    ...                      "start_date": pd.to_datetime(["2024-01-01"] * 3)})
    >>> out = average_customer_value(tx, denominator="active", subscriptions=subs)
    >>> out[["customers", "value"]].values.tolist()
    [[3.0, 20.0]]
    """
    if denominator not in DENOMINATORS:
        raise ConfigError(f"`denominator` must be one of {list(DENOMINATORS)}, got {denominator!r}")
    table = _period_totals(transactions, freq)
    if denominator == "active":
        if subscriptions is None:
            raise ConfigError("denominator='active' needs subscriptions= (who is active at each "
                              "period end); without them use denominator='buying'")
        if as_of is None:
            latest = transactions["date"].max()  # NaT without a transaction: no period to count
            as_of = None if pd.isna(latest) else latest
        last = parse_as_of(as_of)
        active = _active_at_period_end(subscriptions, freq, last)
        table["customers"] = table["period"].map(active).fillna(0).astype("int64")
    return table.assign(
        value=table["revenue"] / table["customers"].where(table["customers"] > 0))[
        ["period", "revenue", "customers", "value"]]


def _active_at_period_end(subscriptions: pd.DataFrame, freq: str, last) -> pd.Series:
    """Customers active at the end of each period (or of the ``last`` month, for its period)."""
    if last is None:
        return pd.Series(dtype="int64")
    months = customer_months(subscriptions, as_of=last)
    period = period_start(months["month"], freq)
    is_end = (period != period_start(months["month"] + pd.DateOffset(months=1), freq)) | (
        months["month"] == last)
    return months[is_end].groupby(period[is_end])["customer_id"].nunique()


def _orders(transactions: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Order rows (amount >= 0 or missing) with their period."""
    is_order = ~(transactions["amount"] < 0)
    rows = transactions.loc[is_order, ["customer_id", "date"]]
    return rows.assign(period=period_start(rows["date"], freq))


def _period_totals(transactions: pd.DataFrame, freq: str) -> pd.DataFrame:
    """period, revenue (all rows), orders and customers (order rows) for every period."""
    periods = period_start(transactions["date"], freq).rename("period")
    revenue = transactions["amount"].groupby(periods).sum().rename("revenue")
    orders = _orders(transactions, freq)
    counts = orders.groupby("period").agg(orders=("customer_id", "size"),
                                          customers=("customer_id", "nunique"))
    table = _all_periods(counts.join(revenue, how="outer"), transactions, freq)
    return table.astype({"orders": "int64", "customers": "int64", "revenue": "float64"}
                        ).reset_index()


def _all_periods(counts: pd.DataFrame, transactions: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Reindex to every period from the first to the last transaction; empty periods are 0."""
    periods = period_start(transactions["date"], freq).dropna()
    if len(periods) == 0:
        full = pd.DatetimeIndex([], dtype="datetime64[ns]", name="period")
    else:
        step = {"M": "MS", "Q": "QS", "Y": "YS"}[freq]
        full = pd.date_range(periods.min(), periods.max(), freq=step, name="period")
        full = full.astype("datetime64[ns]")
    return counts.reindex(full).fillna(0)
