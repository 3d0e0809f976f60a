"""Loading a dataset: read the tables, map column names, parse types, check the contract.

``load_dataset(source)`` reads a folder of CSV or Parquet files named after the tables, a
DuckDB database file, or a SQLAlchemy database URL. A small YAML mapping renames a user's
tables and columns to the canonical ones once, here, so metric functions never take column
arguments. Every problem in every table is collected and raised together as one
:class:`~csm_kit.errors.DataContractError`; nothing is silently coerced or dropped.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.contract import (
    ACTIVITY_DATES,
    TABLES,
    check_table,
    failure_row,
    failures_frame,
)
from csm_kit.data.mapping import apply_mapping, read_mapping
from csm_kit.data.parsing import coerce_table
from csm_kit.data.sources import FrameSource, source_for
from csm_kit.data.survey_settings import (
    SurveySettings,
    settings_from_mapping,
    survey_settings,
)
from csm_kit.data.validator import check_dataset
from csm_kit.data.values import tidy_canonical
from csm_kit.errors import ConfigError, DataContractError, DataSourceError
from csm_kit.frames import row_hashes

__all__ = ["Dataset", "load_dataset", "load_sample", "read_mapping"]
from csm_kit.periods import last_complete_month
from csm_kit.privacy import mask_secrets
from csm_kit.safe_text import clean_labels

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
#: Entry keys that say where or how to read a table: an entry with any of them (and no
#: ``headers:``, which recipes use to find an export that may not be there) expects the table.
EXPECTING_KEYS = ("table", "query", "columns", "unpivot", "where", "encoding", "delimiter",
                  "skip_rows", "header_rows", "date_format", "decimal")


@dataclass
class Dataset:
    """The canonical tables of one company's data; an absent table is ``None``.

    Attributes are the eleven tables of the data contract (see ``data/README.md``), plus
    ``source`` (where it was read from, secrets masked), ``timezone`` (reporting zone) and
    ``survey_settings`` (survey scales, the satisfied threshold and CES direction, see
    :mod:`csm_kit.data.survey_settings`), which every satisfaction metric reads, and
    ``notes``: warnings found while reading (e.g. "never ends" end dates read as open-ended),
    failure records that :func:`csm_kit.data.quality.data_quality` reports with the rest.
    """

    customers: pd.DataFrame
    subscriptions: pd.DataFrame | None = None
    transactions: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    usage: pd.DataFrame | None = None
    renewals: pd.DataFrame | None = None
    trials: pd.DataFrame | None = None
    referrals: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    activities: pd.DataFrame | None = None
    source: str = ""
    timezone: str = "UTC"
    survey_settings: SurveySettings = field(default_factory=SurveySettings)
    notes: list[dict] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables that are present, by canonical name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name in TABLES and getattr(self, f.name) is not None}

    def latest_date(self) -> pd.Timestamp | None:
        """Return the most recent activity date in any table (usage months count to their end)."""
        latest = []
        for name, df in self.tables().items():
            for column in ACTIVITY_DATES.get(name, ()):
                if column in df.columns and df[column].notna().any():
                    value = df[column].max()
                    if name == "usage":
                        value = value + pd.offsets.MonthEnd(0)
                    latest.append(value)
        return max(latest) if latest else None

    def default_as_of(self) -> pd.Timestamp | None:
        """Return the first day of the last complete month in the data (the default as-of)."""
        latest = self.latest_date()
        return None if latest is None else last_complete_month(latest)

    def fingerprint(self) -> str:
        """Return a short SHA-256 of every table's content, to tell datasets apart in a manifest.

        Each table adds its name, columns, types, row count and the sum of its rows' 64-bit
        hashes (:func:`csm_kit.frames.row_hashes`, one DuckDB scan of the Arrow data: ~10x
        faster than hashing through pandas), so any changed value, added or removed row gives
        another fingerprint; the order of a table's rows does not.
        """
        import duckdb

        digest = hashlib.sha256()
        con = duckdb.connect()
        try:
            for name, df in sorted(self.tables().items()):
                digest.update(name.encode())
                digest.update(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
                digest.update(_content_key(df, con))
        finally:
            con.close()
        return digest.hexdigest()[:16]


def _content_key(df: pd.DataFrame, con) -> bytes:
    """Row count and row-hash sum of a table through DuckDB; a table Arrow or DuckDB cannot
    take (an extra column mixing numbers and text) is hashed by pandas instead."""
    import duckdb
    import pyarrow as pa

    if not len(df.columns):
        return repr(len(df)).encode()
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
        return repr(row_hashes(con.from_arrow(table))).encode()
    except (pa.ArrowException, duckdb.Error):
        return pd.util.hash_pandas_object(df, index=False).values.tobytes()


def load_dataset(
    source: str | Path | None = None,
    *,
    mapping: str | Path | dict | None = None,
    timezone: str = "UTC",
    scales: str | dict | None = None,
    satisfied: str | dict | None = None,
    ces_direction: str | None = None,
) -> Dataset:
    """Read, map, parse and validate a dataset; raise one error listing every problem.

    Parameters
    ----------
    source : folder of ``<table>.csv`` / ``<table>.parquet`` files, a DuckDB file
        (``.duckdb``/``.ddb``/``.db``), or a SQLAlchemy URL such as
        ``postgresql://user@host/db``. ``None`` means the bundled sample.
    mapping : YAML file (or the same structure as a dict) renaming tables and columns::

            customers:
              table: accounts.csv        # file or database table holding it
              columns:
                customer_id: account_id  # canonical name: your name
            subscriptions:
              query: SELECT * FROM billing.subscriptions   # databases only
            surveys:
              scales: {csat: 1-10}       # survey settings (csm_kit.data.survey_settings)
              ces_direction: high

    timezone : reporting time zone; timestamps with an offset are converted to it and made
        naive, timestamps without one are taken as already in it.
    scales : survey scales overriding the defaults and the mapping file, e.g.
        ``"csat=1-10,ces=1-5"`` or ``{"ces": (1, 5)}``; declares new survey types too.
    satisfied : the lowest satisfied score per survey type (default: the top two boxes),
        e.g. ``"csat=>=8"``.
    ces_direction : ``"low"`` (default: a low CES means little effort) or ``"high"``.

    Returns
    -------
    Dataset

    Raises
    ------
    DataContractError
        With ``failures`` holding every hard problem (a file that cannot be read — check
        ``unreadable_file``, one per file, naming its lines —, a header-only customers file,
        a mapping entry the source cannot apply, missing table or column, unparseable value,
        duplicate id, end before start, score off its scale, negative MRR).
    DataSourceError
        When the source itself cannot be found or opened (a missing folder, a file named
        ``.duckdb`` that is not a DuckDB database, a database that refuses the connection).
    ConfigError
        When the mapping file is malformed (the message names the file and the key).
    """
    _check_timezone(timezone)
    maps = read_mapping(mapping)
    settings = survey_settings(**settings_from_mapping(maps.get("surveys")))
    settings = survey_settings(scales=scales, satisfied=satisfied, ces_direction=ces_direction,
                               base=settings)
    reader = source_for(SAMPLE_DIR if source is None else source)
    tables: dict[str, pd.DataFrame | None] = {}
    failures: list[dict] = []

    def lookup(name: str) -> pd.DataFrame | None:
        if tables.get(name) is not None:
            return tables[name]
        return reader(name, {"table": name}) if name not in TABLES else None

    for name, spec in TABLES.items():
        entry = maps.get(name, {})
        parts, file_failures = read_parts(reader, name, entry)
        failures += file_failures
        if not parts:
            if name == "customers" and not file_failures:
                failures.append(failure_row(name, None, "missing_table", 0, [],
                                            "the required table is missing"))
            tables[name] = None
            continue
        if name == "customers" and all(raw.empty for raw, _ in parts):
            failures.append(file_failure(name, f"{_source_names(parts, name)} has a header but no rows: "
                                         "with no customers there is nothing to check or report; "
                                         "export the customer list again"))
            tables[name] = None
            continue
        df, table_failures = _prepare(parts, spec, timezone, dict(settings.scales), lookup)
        failures += table_failures
        tables[name] = df
    notes = [f for f in failures if f["severity"] != "error"]
    failures = [f for f in failures if f["severity"] == "error"]
    if not failures:
        tables, checked = check_dataset(tables, maps, reader=reader, timezone=timezone)
        failures += checked
    if failures:
        raise DataContractError(failures_frame(failures))
    tables = {name: clean_labels(df) for name, df in tables.items()}  # look-alikes group as one
    return Dataset(**tables, source=mask_secrets(str(source or SAMPLE_DIR)), timezone=timezone,
                   survey_settings=settings, notes=notes)


def load_sample(**survey_options) -> Dataset:
    """Return the bundled sample dataset (``data/sample/``): a B2B SaaS company, 36 months.

    Falls back to regenerating it from its seed when the package is installed without the
    repository's ``data/`` folder. ``survey_options`` (scales, satisfied, ces_direction) are
    passed to :func:`load_dataset`.
    """
    if (SAMPLE_DIR / "customers.csv").exists():
        return load_dataset(SAMPLE_DIR, **survey_options)
    from csm_kit.sample.generator import generate_sample  # only needed without the repository

    tables = generate_sample()
    return load_dataset(FrameSource(tables), mapping=None, **survey_options)


def _prepare(parts, spec, timezone, scales, lookup=None):
    """Map, tidy, parse and check one table read from one source or several (``parts``:
    ``(raw frame, mapping entry)`` pairs, stacked in order)."""
    failures, frames, reported = [], [], {}
    for raw, table_map in parts:
        df, part_failures = apply_mapping(raw, spec, table_map, where=_where(spec, table_map),
                                          lookup=lookup)
        failed = df.attrs.pop("mapping_failed", set())
        for column, mask in df.attrs.pop("mapping_reported", {}).items():
            reported[column] = reported.get(column, []) + [(sum(map(len, frames)), mask)]
        # An unquoted decimal comma cannot live in a comma-separated file: there (and in
        # databases) an amount like 1,200 or 1.200 that nothing else settles reads with a point.
        fallback = None if raw.attrs.get("csv_delimiter", ",") == ";" else "."
        df, value_failures = tidy_canonical(df, spec, decimal=table_map.get("decimal"),
                                            date_format=table_map.get("date_format"),
                                            fallback_decimal=fallback)
        failures += part_failures + value_failures
        failures += [
            failure_row(spec.name, column, "missing_column", len(df), [],
                        "the required column is missing (every row affected)"
                        + (f" in {_where(spec, table_map)}" if len(parts) > 1 else ""))
            for column in spec.required if column not in df.columns and column not in failed
        ]
        frames.append(df)
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    lines = _file_lines(parts, df)
    df, parse_failures, unparsed = coerce_table(df, spec, timezone=timezone, lines=lines)
    failures += parse_failures
    for column, pieces in reported.items():  # reported by the mapping: not again as missing
        mask = np.zeros(len(df), dtype=bool)
        for start, piece in pieces:
            mask[start:start + len(piece)] |= np.asarray(piece, dtype=bool)
        unparsed[column] = unparsed.get(column, np.zeros(len(df), dtype=bool)) | mask
    if "month" in df.columns and spec.name == "usage":
        df["month"] = df["month"].dt.to_period("M").dt.start_time.astype("datetime64[ns]")
    if "survey" in df.columns:
        df["survey"] = df["survey"].str.strip().str.lower()
    failures += check_table(df, spec, scales=scales, unparsed=unparsed, lines=lines)
    return df.reset_index(drop=True), failures


def _file_lines(parts, df) -> np.ndarray | None:
    """Each row's line in its file (header = line 1), when one file gives the rows one for one
    (a reader's ``first_line``; no ``where:`` or ``unpivot:``); otherwise None ('row N')."""
    if len(parts) != 1:
        return None
    raw, table_map = parts[0]
    first = raw.attrs.get("first_line")
    if first is None or len(raw) != len(df) or table_map.get("where") or table_map.get("unpivot"):
        return None
    return np.arange(first, first + len(df))


def read_parts(reader, name: str, entry) -> tuple[list[tuple[pd.DataFrame, dict]], list[dict]]:
    """Read one table's sources (one, or a list that is stacked): ``(raw frame, entry)``
    pairs, and a failure record for each source that cannot be read.

    A read problem is recorded, not raised, so that one run names every broken file. An
    entry the source cannot honour (``query:`` on a folder) is refused, and so is one that
    says where or how to read a table the source does not have.
    """
    parts, failures = [], []
    for part in entry if isinstance(entry, list) else [entry]:
        problem = reader.cannot_apply(name, part)
        if problem is None:
            try:
                raw = reader(name, part)
            except DataSourceError as exc:
                problem, raw = str(exc), None
            if raw is None and problem is None and _expects_table(part):
                problem = (f"the mapping has an entry for {name}, but {reader.looked_for(name, part)}; "
                           "add the table, fix table: in the mapping, or remove the entry")
        if problem is not None:
            failures.append(file_failure(name, problem))
        elif raw is not None:
            parts.append((raw, part))
    return parts, failures


def file_failure(table: str, detail: str) -> dict:
    """A failure record for a whole file or source (its message names the file and lines)."""
    return {"table": table, "column": None, "check": "unreadable_file", "severity": "error",
            "rows": 0, "examples": [], "message": f"{table}: {detail}"}


def _expects_table(entry: dict) -> bool:
    return not entry.get("headers") and any(key in entry for key in EXPECTING_KEYS)


def _source_names(parts, name: str) -> str:
    return " and ".join(str(raw.attrs.get("source") or part.get("table")
                            or ("the query" if "query" in part else f"the {name} table"))
                        for raw, part in parts)


def _where(spec, table_map) -> str:
    return str(table_map.get("table") or ("the query" if "query" in table_map else spec.name))


def _check_timezone(timezone: str) -> None:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone must be an IANA name such as 'UTC' or "
                          f"'Europe/Berlin', got {timezone!r}") from exc
