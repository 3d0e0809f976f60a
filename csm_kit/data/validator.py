"""Checks across tables that catch wrong money and wrong joins before any figure is computed.

Each is a hard error unless the mapping's ``accept:`` list names it:

- ``mixed_currencies`` — subscriptions or transactions in more than one currency and no
  ``fx:`` rate table to convert them (with ``fx:`` they are converted here, by month);
- ``undivided_annual`` — subscriptions billed every 12 (or N) months whose MRR is about 12
  (N) times that of monthly subscriptions of the same plan: the amount was not divided;
- ``not_counted_status`` — subscriptions whose ``status`` says trialing, unpaid, incomplete
  or paused but whose MRR is above 0, and canceled/ended ones without an end date;
- ``unmatched_customer_ids`` — half or more of a table's rows name customers that are not in
  ``customers``: the mapping almost certainly took the wrong column (a few such rows are only
  a warning, in :func:`csm_kit.data.quality.orphan_customer_ids`).
"""

from __future__ import annotations

import pandas as pd

from csm_kit.data.contract import MAX_EXAMPLES, TABLES, failure_row, row_labels
from csm_kit.data.mapping import ACCEPTABLE
from csm_kit.frames import isin

__all__ = ["ACCEPTABLE", "check_dataset", "convert_currencies"]
#: Subscription statuses that bring in no recurring revenue (Stripe, Chargebee, Recurly words).
NOT_COUNTED = {"trialing", "in_trial", "trial", "unpaid", "incomplete", "incomplete_expired",
               "paused", "future", "pending"}
#: Statuses of a subscription that has stopped.
STOPPED = {"canceled", "cancelled", "ended", "expired", "non_renewing_ended"}
#: Tables whose rows must belong to a known customer; ``trials`` and ``referrals`` may name
#: customers that do not exist yet.
JOINED = ("subscriptions", "transactions", "surveys", "tickets", "usage", "renewals", "activities")
#: The share of unmatched rows from which it is a mapping mistake, not a few stray ids.
MOSTLY_UNMATCHED = 0.5
#: MRR of an N-monthly plan at or above this share of N × the monthly plan's is "not divided".
UNDIVIDED_RATIO = 0.6


def check_dataset(tables: dict, mapping: dict, *, reader=None, timezone: str = "UTC"
                  ) -> tuple[dict, list[dict]]:
    """Convert currencies when ``fx:`` is given and run the money and join checks.

    Returns the (possibly converted) tables and the hard failures.
    """
    accept = set(mapping.get("accept") or [])
    failures: list[dict] = []
    if mapping.get("fx"):
        tables, fx_failures = convert_currencies(tables, mapping["fx"], reader=reader,
                                                 timezone=timezone)
        failures += fx_failures
    checks = {
        "mixed_currencies": mixed_currencies,
        "undivided_annual": undivided_annual,
        "not_counted_status": not_counted_status,
        "unmatched_customer_ids": unmatched_customer_ids,
    }
    for name, check in checks.items():
        if name not in accept:
            failures += check(tables)
    return tables, failures


def mixed_currencies(tables: dict) -> list[dict]:
    """Tables whose money is in more than one currency (with no ``fx:`` to convert it).

    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S2"], "mrr": [10.0, 20.0],
    ...                      "currency": ["USD", "eur"]})
    >>> mixed_currencies({"subscriptions": subs})[0]["check"]
    'mixed_currencies'
    """
    out = []
    for name in ("subscriptions", "transactions"):
        df = tables.get(name)
        if df is None or "currency" not in df.columns:
            continue
        codes = df["currency"].dropna().str.strip().str.upper()
        counts = codes.value_counts()
        if len(counts) > 1:
            minority = codes.isin(counts.index[1:]).reindex(df.index, fill_value=False)
            out.append(failure_row(
                name, "currency", "mixed_currencies", int(minority.sum()),
                row_labels(df, TABLES[name], minority),
                f"amounts in {len(counts)} currencies ({', '.join(counts.index)}) that would be "
                "added up as if they were one, no fx: rates given"))
    return out


def undivided_annual(tables: dict) -> list[dict]:
    """Subscriptions billed every N > 1 months whose MRR looks like the whole N-month amount.

    Compared per plan with the monthly subscriptions of the same plan (or all monthly ones
    when no plan is shared): a median at or above 0.6 × N times the monthly median is taken
    as "not divided by N".

    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S2", "S3"], "plan": ["Pro"] * 3,
    ...                      "mrr": [100.0, 100.0, 1100.0], "billing_interval_months": [1, 1, 12]})
    >>> undivided_annual({"subscriptions": subs})[0]["rows"]
    1
    """
    subs = tables.get("subscriptions")
    if subs is None or "billing_interval_months" not in subs.columns:
        return []
    interval = subs["billing_interval_months"].astype("Float64")
    paying = subs["mrr"] > 0
    monthly = paying & (interval == 1)
    long = paying & (interval > 1)
    if not monthly.any() or not long.any():
        return []
    flagged = pd.Series(False, index=subs.index)
    groups = subs["plan"] if "plan" in subs.columns else pd.Series("", index=subs.index)
    shared = set(groups[monthly]) & set(groups[long])
    pairs = [(groups == g) for g in shared] or [pd.Series(True, index=subs.index)]
    for in_group in pairs:
        base = subs.loc[monthly & in_group, "mrr"].median()
        rows = long & in_group
        ratio = subs.loc[rows, "mrr"].median() / base
        if ratio >= UNDIVIDED_RATIO * float(interval[rows].median()):
            flagged |= rows.fillna(False).astype(bool)
    if not flagged.any():
        return []
    return [failure_row(
        "subscriptions", "mrr", "undivided_annual", int(flagged.sum()),
        row_labels(subs, TABLES["subscriptions"], flagged),
        "MRR of subscriptions billed every 12 (or N) months that is about N times that of the "
        "same plan billed monthly: the amount was not divided by the interval")]


def not_counted_status(tables: dict) -> list[dict]:
    """Subscriptions counted as MRR although their status says they bring none in.

    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S2"], "mrr": [50.0, 0.0],
    ...                      "status": ["trialing", "trialing"]})
    >>> not_counted_status({"subscriptions": subs})[0]["rows"]
    1
    """
    subs = tables.get("subscriptions")
    if subs is None or "status" not in subs.columns:
        return []
    status = subs["status"].fillna("").str.strip().str.lower()
    out = []
    counted = status.isin(NOT_COUNTED) & (subs["mrr"] > 0)
    if counted.any():
        seen = sorted(status[counted].unique())
        out.append(failure_row(
            "subscriptions", "mrr", "not_counted_status", int(counted.sum()),
            row_labels(subs, TABLES["subscriptions"], counted),
            f"subscriptions with status {', '.join(seen)} counted as MRR"))
    end = subs["end_date"] if "end_date" in subs.columns else pd.Series(pd.NaT, index=subs.index)
    open_ended = status.isin(STOPPED) & end.isna() & (subs["mrr"] > 0)
    if open_ended.any():
        out.append(failure_row(
            "subscriptions", "end_date", "not_counted_status", int(open_ended.sum()),
            row_labels(subs, TABLES["subscriptions"], open_ended),
            "canceled or ended subscriptions without an end date (they would count as active "
            "forever)"))
    return out


def unmatched_customer_ids(tables: dict) -> list[dict]:
    """Tables where half or more of the rows name a customer that is not in ``customers``.

    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2"]})
    >>> tickets = pd.DataFrame({"ticket_id": ["T1", "T2"], "customer_id": ["acme.com", "C1"]})
    >>> unmatched_customer_ids({"customers": customers, "tickets": tickets})[0]["check"]
    'unmatched_customer_ids'
    """
    customers = tables.get("customers")
    if customers is None:
        return []
    known = customers["customer_id"].dropna()
    sample = known.head(MAX_EXAMPLES).tolist()
    out = []
    for name in JOINED:
        df = tables.get(name)
        if df is None or df.empty or "customer_id" not in df.columns:
            continue
        given = df["customer_id"].notna()
        unmatched = given & ~pd.Series(isin(df["customer_id"], known), index=df.index)
        if given.sum() == 0 or unmatched.sum() / given.sum() < MOSTLY_UNMATCHED:
            continue
        share = unmatched.sum() / given.sum()
        ids = df.loc[unmatched, "customer_id"].drop_duplicates().head(MAX_EXAMPLES).tolist()
        out.append(failure_row(
            name, "customer_id", "unmatched_customer_ids", int(unmatched.sum()),
            [repr(i) for i in ids],
            f"{share:.0%} of the rows name customers that are not in the customers table, whose "
            f"ids look like {', '.join(repr(s) for s in sample)}: the mapping probably takes "
            f"{name}.customer_id from the wrong column"))
    return out


# --------------------------------------------------------------------------- exchange rates


def convert_currencies(tables: dict, fx: dict, *, reader=None, timezone: str = "UTC"
                       ) -> tuple[dict, list[dict]]:
    """Convert subscriptions.mrr and transactions.amount into the reporting currency.

    ``fx`` names a table of rates with columns ``month``, ``currency`` and ``rate`` (units of
    the reporting currency for one unit of ``currency``). Each row uses the latest rate at or
    before its month (subscriptions: the month of ``start_date``; transactions: of ``date``).
    Rows without a currency are taken to be in the reporting currency. The original values
    stay in ``original_currency`` and ``original_mrr`` / ``original_amount``.

    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S2"], "mrr": [100.0, 100.0],
    ...                      "currency": ["USD", "EUR"],
    ...                      "start_date": pd.to_datetime(["2024-01-05", "2024-02-10"])})
    >>> rates = pd.DataFrame({"month": ["2024-01-01", "2024-02-01"], "currency": ["EUR", "EUR"],
    ...                       "rate": ["1.10", "1.08"]})
    >>> out, _ = convert_currencies({"subscriptions": subs}, {"reporting_currency": "usd"},
    ...                             reader=lambda name, entry: rates)
    >>> out["subscriptions"]["mrr"].tolist(), out["subscriptions"]["currency"].tolist()
    ([100.0, 108.0], ['USD', 'USD'])
    """
    from csm_kit.data.contract import TableSpec
    from csm_kit.data.mapping import apply_mapping
    from csm_kit.data.parsing import coerce_table
    from csm_kit.data.values import tidy_canonical

    target = str(fx["reporting_currency"]).strip().upper()
    raw = reader("fx", fx) if reader is not None else None
    if raw is None:
        return tables, [failure_row("fx", None, "missing_table", 0, [],
                                    "the mapping's fx: rate table is missing")]
    spec = TableSpec("fx", None, ("month", "currency", "rate"), dates=("month",),
                     numbers=("rate",), texts=("currency",))
    rates, failures = apply_mapping(raw, spec, fx, where=str(fx.get("table", "fx")))
    rates, more = tidy_canonical(rates, spec, decimal=fx.get("decimal"), date_format=fx.get("date_format"))
    failures += more
    failures += [failure_row("fx", c, "missing_column", len(rates), [], "the required column is missing")
                 for c in spec.required if c not in rates.columns]
    if failures:
        return tables, failures
    rates, parse_failures, _ = coerce_table(rates, spec, timezone=timezone)
    if parse_failures:
        return tables, parse_failures
    rates = rates.assign(currency=rates["currency"].str.strip().str.upper(),
                         month=rates["month"].dt.to_period("M").dt.start_time)
    out = dict(tables)
    for name, money, when in (("subscriptions", "mrr", "start_date"), ("transactions", "amount", "date")):
        df = tables.get(name)
        if df is None or "currency" not in df.columns:
            continue
        converted, problem = _convert(df, money, when, rates, target, name)
        out[name] = converted
        failures += problem
    return out, failures


def _convert(df, money, when, rates, target, name):
    currency = df["currency"].fillna(target).str.strip().str.upper()
    month = df[when].dt.to_period("M").dt.start_time
    rows = pd.DataFrame({"currency": currency, "month": month, "_row": range(len(df))})
    foreign = rows["currency"] != target
    merged = pd.merge_asof(rows.loc[foreign].sort_values("month"), rates.sort_values("month"),
                           on="month", by="currency", direction="backward")
    rate = pd.Series(1.0, index=range(len(df)))
    rate[merged["_row"].to_numpy()] = merged["rate"].to_numpy()
    out = df.copy()
    missing = rate.isna().to_numpy()
    failures = []
    if missing.any():
        pairs = (currency[missing] + " " + month[missing].dt.strftime("%Y-%m")).unique()[:MAX_EXAMPLES]
        failures.append(failure_row(
            name, "currency", "missing_fx_rate", int(missing.sum()), list(pairs),
            f"no exchange rate to {target} in the fx table for that currency at or before that "
            "month"))
    out[f"original_{money}"] = df[money]
    out["original_currency"] = df["currency"]
    out[money] = df[money] * rate.to_numpy()
    out["currency"] = target
    return out, failures
