"""A realistic, seeded sample dataset: a B2B SaaS company with a story in its data.

The generator simulates customers in three segments (SMB, Mid-Market, Enterprise) with their
CSMs, subscriptions (monthly and annual plans, expansion, contraction, churn of roughly 3.5% /
2% / 1% a month, reactivation, add-ons), invoices, NPS/CSAT/CES responses with comments,
support tickets, monthly usage against seats, annual renewals, free trials, referrals,
dated events and the CSMs' touches (calls, e-mails, QBRs). It builds in what a
customer-success team looks for: detractors, falling adoption, long-open tickets and accounts
going silent precede churn, and some CSMs expand their books more than others. ``data/README.md`` is the data dictionary; the simulation lives in the other modules of :mod:`csm_kit.sample`.

Everything is vectorised with numpy over a customer x month grid, so a million customers over
three years takes seconds to minutes rather than hours, and the same seed always gives the
same frames (each table draws from its own random stream, so asking for fewer tables does not
change the ones you get).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from csm_kit.errors import ConfigError
from csm_kit.sample.activity import ticket_arrays, tickets_frame, usage_frame
from csm_kit.sample.billing import (
    customers_frame,
    renewals_frame,
    subscriptions_frame,
    transactions_frame,
)
from csm_kit.sample.columns import iso_timestamps
from csm_kit.sample.funnel import events_frame, referrals_frame, trials_frame
from csm_kit.sample.revenue import add_revenue, subscription_rows
from csm_kit.sample.surveys import surveys_frame
from csm_kit.sample.touches import activities_frame
from csm_kit.sample.world import build_world

TABLES = ("customers", "subscriptions", "transactions", "surveys", "tickets", "usage",
          "renewals", "trials", "referrals", "events", "activities")
#: Columns written as ISO 8601 UTC timestamps ("2025-03-04T09:15:00Z"); other datetimes are dates.
TIMESTAMPS = {"tickets": ("opened_at", "closed_at"), "trials": ("started_at", "converted_at")}
FILE_FORMATS = ("csv", "parquet")
_NEEDS_REVENUE = {"subscriptions", "transactions", "renewals", "usage"}


def generate_sample(*, customers: int = 2000, months: int = 36, seed: int = 7,
                    end: str = "2026-10-31", tables: list[str] | None = None,
                    ) -> dict[str, pd.DataFrame]:
    """Generate the sample dataset as data-contract frames, one per table.

    The data covers ``months`` calendar months ending on ``end`` (the last day of a month,
    which is the data's last complete month). About 40% of the customers signed up before
    that window (the initial base); the rest sign up during it, more towards the end.

    Parameters
    ----------
    customers : int
        Number of customers (rows of ``customers``), including those who later churn.
    months : int
        Length of the window in calendar months.
    seed : int
        Random seed; the same seed and options give identical frames.
    end : str
        Last day of the window, e.g. ``"2026-10-31"``.
    tables : list of str, optional
        Which of ``TABLES`` to build (``None`` = all eleven). Fewer tables is faster; the ones
        built are identical to those of a full run.

    Returns
    -------
    dict of str to DataFrame
        In ``TABLES`` order. Columns follow the data contract (data/README.md) with the
        loader's types: ids and texts ``str``, dates and timestamps ``datetime64[ns]``
        (timestamps in UTC, dates at midnight, missing = NaT), money and scores ``float64``, counts ``int64``,
        ``first_contact_resolved`` nullable ``boolean``. ``subscriptions.end_date`` is
        exclusive (NaT = still active) and ``mrr`` is monthly-normalised (annual price / 12).

    Examples
    --------
    >>> data = generate_sample(customers=50, months=6, seed=1)
    >>> list(data)[:4]
    ['customers', 'subscriptions', 'transactions', 'surveys']
    >>> data["customers"]["customer_id"].iloc[0], len(data["customers"])
    ('C000001', 50)
    >>> subs = data["subscriptions"]
    >>> bool((subs["end_date"].isna() | (subs["end_date"] > subs["start_date"])).all())
    True
    """
    wanted = _check(customers, months, tables)
    frames = dict(_iter_tables(customers=customers, months=months, seed=seed, end=end,
                               tables=wanted))
    return {name: frames[name] for name in TABLES if name in frames}


def write_sample(out_dir: str | Path, *, customers: int = 2000, months: int = 36, seed: int = 7,
                 end: str = "2026-10-31", tables: list[str] | None = None,
                 file_format: str = "csv", progress: Callable[[str], None] | None = None,
                 ) -> dict[str, Path]:
    """Generate the sample and write one file per table into ``out_dir``.

    Tables are built and written one at a time, so memory holds the simulation plus one
    table. CSV files carry ISO dates (``2025-01-31``), timestamps as ISO 8601 UTC with ``Z``,
    empty fields for missing values and ``true``/``false``; Parquet files keep dates as
    ``date32`` and timestamps as UTC ``timestamp[s]``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing); files are named ``<table>.csv`` or
        ``<table>.parquet`` and overwrite what is there.
    customers, months, seed, end, tables
        As for :func:`generate_sample`.
    file_format : {"csv", "parquet"}
    progress : callable, optional
        Called with a short status line after each table (e.g. for a CLI).

    Returns
    -------
    dict of str to Path
        The file written for each table.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_sample(folder, customers=20, months=3, tables=["customers"])
    ...     print(paths["customers"].name, paths["customers"].read_text().splitlines()[0])
    customers.csv customer_id,signup_date,name,segment,plan,region,csm,industry
    """
    wanted = _check(customers, months, tables)
    if file_format not in FILE_FORMATS:
        raise ConfigError(f"`file_format` must be one of {list(FILE_FORMATS)}, got {file_format!r}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in _iter_tables(customers=customers, months=months, seed=seed, end=end,
                                    tables=wanted):
        path = folder / f"{name}.{file_format}"
        _write(_to_arrow(name, frame, file_format), path, file_format)
        written[name] = path
        if progress is not None:
            progress(f"{name}: {len(frame):,} rows -> {path}")
    return {name: written[name] for name in TABLES if name in written}


def _check(customers: int, months: int, tables: list[str] | None) -> set[str]:
    if not isinstance(customers, int | np.integer) or customers < 1:
        raise ConfigError(f"`customers` must be a whole number >= 1, got {customers!r}")
    if not isinstance(months, int | np.integer) or months < 1:
        raise ConfigError(f"`months` must be a whole number >= 1, got {months!r}")
    if tables is None:
        return set(TABLES)
    if isinstance(tables, str):
        tables = [tables]
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ConfigError(f"`tables` must be among {list(TABLES)}, got {unknown[0]!r}")
    return set(tables)


def _iter_tables(*, customers: int, months: int, seed: int, end: str,
                 tables: set[str]) -> Iterator[tuple[str, pd.DataFrame]]:
    """Build the requested tables one by one, sharing the simulation between them."""
    world = build_world(customers=customers, months=months, seed=seed, end=end)
    if tables & _NEEDS_REVENUE:
        add_revenue(world)
    if "customers" in tables:
        yield "customers", customers_frame(world)
    if tables & {"subscriptions", "transactions"}:
        rows = subscription_rows(world)
        if "subscriptions" in tables:
            yield "subscriptions", subscriptions_frame(world, rows)
        if "transactions" in tables:
            yield "transactions", transactions_frame(world, rows)
        del rows
    if "renewals" in tables:
        yield "renewals", renewals_frame(world)
    if "usage" in tables:
        yield "usage", usage_frame(world)
    world.S = world.B = None  # seats and MRR grids are not needed any more
    if tables & {"tickets", "surveys"}:
        tickets = ticket_arrays(world)
        if "tickets" in tables:
            yield "tickets", tickets_frame(world, tickets)
        if "surveys" in tables:
            yield "surveys", surveys_frame(world, tickets)
        del tickets
    builders = {"trials": trials_frame, "referrals": referrals_frame, "events": events_frame,
                "activities": activities_frame}
    for name, build in builders.items():
        if name in tables:
            yield name, build(world)


def _to_arrow(name: str, frame: pd.DataFrame, file_format: str) -> pa.Table:
    """The frame as an Arrow table with file types: dates as dates, timestamps in UTC."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stamps = TIMESTAMPS.get(name, ())
    for i, field in enumerate(table.schema):
        if not pa.types.is_timestamp(field.type):
            continue
        column = table.column(i)
        if field.name not in stamps:
            column = column.cast(pa.date32())
        elif file_format == "csv":
            column = iso_timestamps(frame[field.name].to_numpy())
        else:
            column = column.cast(pa.timestamp("s", tz="UTC"))
        table = table.set_column(i, field.name, column)
    return table


def _write(table: pa.Table, path: Path, file_format: str) -> None:
    if file_format == "parquet":
        pq.write_table(table, path)
        return
    # Arrow's "needed" style quotes every string, so use it only when a value needs quotes.
    style = "needed" if _needs_quotes(table) else "none"
    with path.open("wb") as out:
        out.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False,
                                                       quoting_style=style))


def _needs_quotes(table: pa.Table) -> bool:
    """True when some text value holds a comma, quote or line break (only free text does)."""
    for field in table.schema:
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            if pc.any(pc.match_substring_regex(table[field.name], r'[,"\r\n]')).as_py():
                return True
    return False
