"""Signals a company declares itself: any numeric column of a customer-level or customer-month table.

A health configuration may name extra signals under ``signals:``::

    signals:
      employees: {table: customers, column: employees}          # one value per customer
      logins: {table: usage, column: logins, how: mean_3m}      # one value per customer-month

and its components read them like the built-in ones (``signal: logins``). Columns outside the
data contract are kept by the loader as they were read (often text), so the values are parsed
here; a value that is not a number is an error naming the table, column and rows, never a
silent NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csm_kit.errors import ConfigError

#: Tables a declared signal may read: one row per customer, or per customer and month.
CUSTOMER_LEVEL_TABLES = ("customers",)
CUSTOMER_MONTH_TABLES = {"usage": "month"}
#: How a customer-month column becomes one value per customer.
HOWS = ("latest", "mean_3m")


@dataclass(frozen=True)
class CustomSignal:
    """A numeric column of a customer-level or customer-month table, declared as a signal.

    ``table`` is ``customers`` (the value as the table holds it now, like ``segment``: the
    kit keeps no history of it) or ``usage`` (``how``: ``latest`` = the customer's latest
    complete month on or before the as-of day, ``mean_3m`` = the mean of its values in the
    three calendar months ending with the latest complete month).
    """

    table: str
    column: str
    how: str = "latest"
    description: str = ""

    def __post_init__(self):
        tables = [*CUSTOMER_LEVEL_TABLES, *CUSTOMER_MONTH_TABLES]
        if self.table not in tables:
            raise ConfigError(f"a declared signal's `table` must be one of {tables}, "
                              f"got {self.table!r}")
        if self.how not in HOWS:
            raise ConfigError(f"a declared signal's `how` must be one of {list(HOWS)}, "
                              f"got {self.how!r}")
        if self.table in CUSTOMER_LEVEL_TABLES and self.how != "latest":
            raise ConfigError(f"`how: {self.how}` needs a customer-month table; "
                              f"{self.table} has one row per customer")


def declared_signals(dataset, day: pd.Timestamp,
                     custom: Mapping[str, CustomSignal]) -> dict[str, pd.Series | None]:
    """One Series (index customer_id) per declared signal; None when its table is absent.

    Examples
    --------
    >>> from csm_kit.data.loading import Dataset
    >>> ds = Dataset(customers=pd.DataFrame({"customer_id": ["a", "b"], "seats": ["12", ""]}))
    >>> out = declared_signals(ds, pd.Timestamp("2024-03-31"),
    ...                        {"seats": CustomSignal("customers", "seats")})
    >>> out["seats"].to_dict()
    {'a': 12.0, 'b': nan}
    """
    out = {}
    for name, spec in custom.items():
        table = getattr(dataset, spec.table)
        if table is None:
            out[name] = None
            continue
        if spec.column not in table.columns:
            raise ConfigError(f"signal {name!r} reads {spec.table}.{spec.column}, but "
                              f"{spec.table} has no {spec.column!r} column; columns are "
                              f"{list(table.columns)}")
        values = _numbers(table, spec, name)
        if spec.table in CUSTOMER_LEVEL_TABLES:
            out[name] = values.groupby(table["customer_id"]).first()
        else:
            out[name] = _per_customer(table.assign(_value=values), spec, day)
    return out


def _numbers(table: pd.DataFrame, spec: CustomSignal, name: str) -> pd.Series:
    raw = table[spec.column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype("float64")
    text = raw.astype("str").str.strip().where(raw.notna())
    text = text.where(text != "")
    values = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & values.isna()
    if bad.any():
        examples = ", ".join(f"customer {c}: {v!r}" for c, v in zip(
            table.loc[bad, "customer_id"].head(3), text[bad].head(3), strict=True))
        raise ConfigError(
            f"signal {name!r}: {spec.table}.{spec.column} has {int(bad.sum())} values that are "
            f"not numbers (e.g. {examples}); fix the export (plain numbers such as 1250.5) or "
            "drop the signal from the health configuration")
    return values.astype("float64")


def _per_customer(table: pd.DataFrame, spec: CustomSignal, day: pd.Timestamp) -> pd.Series:
    month = CUSTOMER_MONTH_TABLES[spec.table]
    complete = table[(table[month] + pd.offsets.MonthEnd(0) <= day) & table["_value"].notna()]
    if spec.how == "latest":
        latest = complete.sort_values(month, kind="stable").drop_duplicates(
            "customer_id", keep="last")
        return latest.set_index("customer_id")["_value"]
    last = complete.groupby("customer_id")[month].transform("max")
    recent = complete[complete[month] > last - pd.DateOffset(months=3)]
    return recent.groupby("customer_id")["_value"].mean().astype(np.float64)
