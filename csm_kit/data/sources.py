"""Where the tables come from: a folder of files, a DuckDB file, a database URL, or frames.

:func:`source_for` picks the source for ``--data``. A source is called with a canonical
table name and its mapping entry and returns the raw table (or ``None`` when the source has
no such table). :meth:`cannot_apply` says which mapping keys the source cannot honour
(``query:`` on a folder, CSV reading options on a database), so such an entry is refused
rather than silently ignored; every read problem is a
:class:`~csm_kit.errors.DataSourceError` naming the file or query.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from csm_kit.data.readers import ReadOptions, read_csv_file
from csm_kit.errors import DataSourceError, first_line
from csm_kit.privacy import mask_secrets

DUCKDB_SUFFIXES = {".duckdb", ".ddb", ".db"}
#: Reading options that only a CSV file has (``date_format`` and ``decimal`` apply to text
#: values from any source).
CSV_ONLY = ("encoding", "delimiter", "skip_rows", "header_rows")
#: File names tried in a folder for a table with no ``table:``, in order.
FOLDER_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def source_for(source):
    """The reader for ``--data``: a folder, a DuckDB file, a database URL (or frames)."""
    if isinstance(source, FrameSource):
        return source
    text = str(source)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+]*://", text):
        return SqlSource(text)
    path = Path(source)
    if path.is_dir():
        return FolderSource(path)
    if path.suffix.lower() in DUCKDB_SUFFIXES and path.is_file():
        return DuckDBSource(path)
    if not path.exists():
        raise DataSourceError(
            f"data source {path} does not exist; pass a folder of CSV/Parquet files, "
            "a DuckDB file or a database URL")
    raise DataSourceError(
        f"data source {path} is not a folder, a DuckDB file ({', '.join(sorted(DUCKDB_SUFFIXES))}) "
        "or a database URL")


class FrameSource(dict):
    """In-memory tables (e.g. the generated sample), read like any other source."""

    def __call__(self, name, table_map):
        df = self.get(table_map.get("table", name))
        return None if df is None else df.copy()

    def cannot_apply(self, name, table_map) -> str | None:
        return None

    def looked_for(self, name, table_map) -> str:
        return f"there is no table {table_map.get('table', name)!r}"


class FolderSource:
    """A folder of ``<table>.csv`` / ``.csv.gz`` / ``.parquet`` files (or files the mapping names)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def cannot_apply(self, name, table_map) -> str | None:
        if "query" in table_map:
            return (f"the mapping gives {name} a query:, which runs SQL on a database, but the "
                    f"data is the folder {self.folder}; name the file with table: instead "
                    f"(e.g. table: {name}.csv)")
        return None

    def looked_for(self, name, table_map) -> str:
        names = ", ".join(f"{name}{ext}" for ext in FOLDER_SUFFIXES)
        return f"{self.folder} has no {names}"

    def __call__(self, name, table_map):
        if "table" in table_map:
            candidates = [self.folder / str(table_map["table"])]
        elif table_map.get("headers"):
            candidates = self._by_headers(name, table_map["headers"])
        else:
            candidates = [self.folder / f"{name}{ext}" for ext in FOLDER_SUFFIXES]
        for path in candidates:
            if path.exists():
                frame = _read_or_say_why(path, name, table_map)
                frame.attrs["source"] = path.name
                return frame
        if "table" in table_map:
            raise DataSourceError(f"the mapping says {name} is in {candidates[0]}, which does "
                                  "not exist; fix table: in the mapping or add the file")
        return None

    def _by_headers(self, name, headers):
        """The one CSV file of the folder whose header has every column in ``headers``."""
        from csm_kit.data.recipes import files_with_headers

        found = files_with_headers(self.folder, headers)
        if len(found) > 1:
            raise DataSourceError(
                f"{len(found)} files in {self.folder} look like the {name} export "
                f"({', '.join(p.name for p in found)}); say which with table: in the mapping")
        return found


def _read_or_say_why(path: Path, name: str, table_map: dict) -> pd.DataFrame:
    try:
        return read_file(path, name, table_map)
    except DataSourceError:
        raise
    except OSError as exc:  # a folder under a file's name, no permission, an I/O error
        reason = exc.strerror or type(exc).__name__
        raise DataSourceError(f"{path} cannot be read ({reason}); check that it is a file "
                              "you may read") from exc


def read_file(path: Path, name: str = "", table_map: dict | None = None) -> pd.DataFrame:
    """Read one CSV (``.csv``, ``.csv.gz``, ``.txt``…) or Parquet file into a raw frame."""
    table_map = table_map or {}
    if path.suffix.lower() != ".parquet":
        return read_csv_file(path, ReadOptions.from_mapping(name, table_map))
    given = [key for key in CSV_ONLY if table_map.get(key) is not None]
    if given:
        raise DataSourceError(
            f"the mapping gives {name} {', '.join(k + ':' for k in given)} which only a CSV file "
            f"has, but {path.name} is Parquet; remove {'it' if len(given) == 1 else 'them'}")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return check_unique_columns(pq.read_table(path).to_pandas(date_as_object=False),
                                    where=str(path))
    except (pa.ArrowException, OSError) as exc:
        raise DataSourceError(f"{path} is not a readable Parquet file ({first_line(exc, limit=300)}); "
                              "write it again, or export the table as CSV") from exc


def check_unique_columns(frame: pd.DataFrame, *, where: str) -> pd.DataFrame:
    """Refuse a table (Parquet file, query result) that has two columns of one name."""
    names = [str(c) for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        detail = "; ".join(
            f"{n!r} in columns {', '.join(str(i + 1) for i, m in enumerate(names) if m == n)}"
            for n in twice)
        raise DataSourceError(f"{where} has more than one column named {detail}; rename or "
                              "drop the extra ones (the kit will not guess which one is right)")
    return frame


class DuckDBSource:
    """Tables (or ``query:`` results) of a DuckDB database file, opened read-only."""

    def __init__(self, path: Path):
        import duckdb

        self.path = path
        try:
            self.con = duckdb.connect(str(path), read_only=True)
            rows = self.con.sql("SELECT table_name FROM information_schema.tables").fetchall()
        except duckdb.Error as exc:
            raise DataSourceError(f"{path} cannot be opened as a DuckDB database "
                                  f"({first_line(exc, limit=300)}); pass a DuckDB file, or a folder of "
                                  "CSV/Parquet files") from exc
        self.names = {row[0] for row in rows}

    def cannot_apply(self, name, table_map) -> str | None:
        return _csv_options_on_database(name, table_map, self.path)

    def looked_for(self, name, table_map) -> str:
        return f"{self.path} has no table {table_map.get('table', name)!r}"

    def __call__(self, name, table_map):
        import duckdb

        if "query" in table_map:
            sql = table_map["query"]
        else:
            table = table_map.get("table", name)
            if table not in self.names:
                return None
            sql = f'SELECT * FROM "{table}"'
        try:
            frame = self.con.sql(sql).to_arrow_table().to_pandas(date_as_object=False)
        except duckdb.Error as exc:
            raise DataSourceError(f"{_what(name, table_map)} failed in {self.path}: "
                                  f"{first_line(exc, limit=300)}; fix it in the mapping") from exc
        return check_unique_columns(frame, where=_what(name, table_map))


class SqlSource:
    """Tables (or ``query:`` results) of a database reached through a SQLAlchemy URL."""

    def __init__(self, url: str):
        import sqlalchemy

        self.url = mask_secrets(url)
        try:
            self.engine = sqlalchemy.create_engine(_with_driver(url))
            self.inspector = sqlalchemy.inspect(self.engine)
        except Exception as exc:  # driver errors vary by database
            raise DataSourceError(f"cannot open database {self.url}: {exc}") from exc

    def cannot_apply(self, name, table_map) -> str | None:
        return _csv_options_on_database(name, table_map, self.url)

    def looked_for(self, name, table_map) -> str:
        return f"{self.url} has no table {table_map.get('table', name)!r}"

    def __call__(self, name, table_map):
        import sqlalchemy

        if "query" in table_map:
            sql = table_map["query"]
        else:
            table = table_map.get("table", name)
            if not self.inspector.has_table(table):
                return None
            sql = f'SELECT * FROM "{table}"'
        try:
            with self.engine.connect() as conn:
                frame = pd.read_sql(sqlalchemy.text(sql), conn)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise DataSourceError(f"{_what(name, table_map)} failed in {self.url}: "
                                  f"{mask_secrets(first_line(exc, limit=300))}; fix it in the mapping") from exc
        return check_unique_columns(frame, where=_what(name, table_map))


def _csv_options_on_database(name, table_map, where) -> str | None:
    given = [key for key in CSV_ONLY if table_map.get(key) is not None]
    if not given:
        return None
    return (f"the mapping gives {name} {', '.join(k + ':' for k in given)} which only a CSV "
            f"file has, but the data is the database {where}; remove "
            f"{'it' if len(given) == 1 else 'them'}")


def _what(name, table_map) -> str:
    if "query" in table_map:
        return f"the query: of {name}"
    return f"reading table {table_map.get('table', name)!r} ({name})"



def _with_driver(url: str) -> str:
    """``postgresql://`` means SQLAlchemy's default driver (psycopg2); use psycopg 3 (the
    ``postgres`` extra) when only that one is installed."""
    import importlib.util

    if (url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None
            and importlib.util.find_spec("psycopg") is not None):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url
