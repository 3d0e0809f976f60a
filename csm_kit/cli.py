"""The ``csm-kit`` command line: validate data, write the sample, export metrics, build reports.

Exit codes: 0 success; 1 a report or command failed; 2 the data or an option is wrong
(nothing written).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from csm_kit.errors import CsmKitError, DataContractError

app = typer.Typer(
    help="Customer-success analytics: churn, cohorts, revenue retention, satisfaction, "
    "health and CSM scorecards from your own data (or the bundled sample).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

DataOpt = Annotated[
    str | None,
    typer.Option("--data", help="Folder of CSV/Parquet files named after the tables, a DuckDB "
                 "file, or a database URL. Default: the bundled sample."),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML file mapping your table and column names to the "
                 "canonical ones (see data/README.md)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Reporting month, any date in it (e.g. 2026-10-31). Default: "
                 "the last complete month in the data."),
]
TimezoneOpt = Annotated[
    str, typer.Option("--timezone", help="Reporting time zone for timestamps (IANA name).")
]


def friendly_errors(func):
    """Turn kit errors into a short message and exit code 2 (never a bare traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DataContractError as exc:
            print_findings(exc.failures, console=err, title="The data breaks the contract")
            err.print(f"[bold red]{len(exc.failures)} problem(s) must be fixed; nothing was written.")
            raise typer.Exit(2) from None
        except CsmKitError as exc:
            err.print(Text(f"error: {exc}", style="bold red"), soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def print_findings(findings, *, console: Console, title: str) -> None:
    """Print a failures/quality frame as a readable table (text is never read as markup)."""
    table = Table(title=title, show_lines=False, expand=False)
    for name in ("severity", "rows", "problem (table.column: what, where, how to fix)"):
        table.add_column(name, overflow="fold")
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for row in findings.itertuples(index=False):
        table.add_row(Text(row.severity, style=colours.get(row.severity, "")),
                      Text(f"{row.rows:,}"), Text(row.message))
    console.print(table)


@app.command()
@friendly_errors
def validate(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
    timezone: TimezoneOpt = "UTC",
) -> None:
    """Check a dataset against the data contract and print every problem; writes nothing.

    Exits 0 when there are no errors (warnings are printed), 2 when there are errors.
    """
    from csm_kit.loading import load_dataset
    from csm_kit.quality import data_quality

    dataset = load_dataset(data, mapping=mapping, timezone=timezone)
    findings = data_quality(dataset, as_of=as_of)
    counts = {name: len(df) for name, df in dataset.tables().items()}
    out.print(f"Loaded {dataset.source}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    month = dataset.default_as_of() if as_of is None else as_of
    out.print(f"As-of month: {month:%Y-%m}" if hasattr(month, "strftime") else f"As-of: {month}")
    if findings.empty:
        out.print("[green]No problems found.")
    else:
        print_findings(findings, console=out, title="Data quality (not blocking)")
    out.print("[green]The data meets the contract.")


@app.command()
@friendly_errors
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the tables into.")] = Path(
        "data/sample"),
    customers: Annotated[int, typer.Option(help="Number of customers.", min=1)] = 2000,
    months: Annotated[int, typer.Option(help="Months of history.", min=1)] = 36,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    end: Annotated[str, typer.Option(help="Last day of the data.")] = "2026-10-31",
    tables: Annotated[str | None, typer.Option(
        help="Comma-separated subset of tables, e.g. customers,subscriptions.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Generate a realistic synthetic B2B SaaS dataset of any size (for demos and benchmarks)."""
    from csm_kit.errors import ConfigError
    from csm_kit.sample import write_sample

    if file_format not in ("csv", "parquet"):
        raise ConfigError(f"--format must be one of ['csv', 'parquet'], got {file_format!r}")
    chosen = None if tables is None else [t.strip() for t in tables.split(",") if t.strip()]
    paths = write_sample(out_dir, customers=customers, months=months, seed=seed, end=end,
                         tables=chosen, file_format=file_format,
                         progress=lambda line: err.print(line))
    out.print(f"Wrote {len(paths)} tables to {out_dir}")


@app.command()
@friendly_errors
def metrics(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Write every headline metric as one long table (metric, period, group, value, n, ci)."""
    err.print("csm-kit metrics is not built yet (issue #3).")
    raise typer.Exit(1)


@app.command()
@friendly_errors
def report(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Execute every notebook and write a dated folder of HTML reports."""
    err.print("csm-kit report is not built yet (issue #5).")
    raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
