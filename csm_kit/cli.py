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
from typer.core import TyperGroup

from csm_kit.errors import ConfigError, CsmKitError, DataContractError
from csm_kit.safe_text import terminal_text


class _WholeDescriptions(TyperGroup):
    """``csm-kit --help`` lists each command with its whole one-line description (the first
    paragraph of its docstring), not Click's cut-off "Check a dataset against the data..."."""

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            first = (command.help or "").strip().split("\n\n", 1)[0]
            rows.append((name, " ".join(first.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_WholeDescriptions,
    help="Customer-success analytics: churn, cohorts, revenue retention, satisfaction, "
    "health and CSM scorecards from your own data (or the bundled sample).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("csm-kit")
        except PackageNotFoundError:  # running from a checkout that was never installed
            from csm_kit import __version__ as number
        typer.echo(f"csm-kit {number}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[bool, typer.Option(
        "--version", help="Print the csm-kit version and exit.", callback=_version,
        is_eager=True)] = False,
) -> None:
    """Customer-success analytics: churn, cohorts, revenue retention, satisfaction, health
    and CSM scorecards from your own data (or the bundled sample)."""
err = Console(stderr=True, highlight=False)
stdout = Console(highlight=False)


def _date_in_range(value: str | None) -> str | None:
    """Typer callback: a date option must lie in the range the data contract reads
    (``EARLIEST_DATE`` to before ``OPEN_ENDED_FROM``), so a typo (20224-01-31) or "never"
    (9999-12-31) is refused up front (exit 2) instead of failing deep inside a run."""
    import re

    year = re.match(r"\s*(\d+)-", value or "")
    if year is None:
        return value
    import pandas as pd

    from csm_kit.data.contract import EARLIEST_DATE, OPEN_ENDED_FROM

    last = OPEN_ENDED_FROM - pd.Timedelta(days=1)
    if not EARLIEST_DATE.year <= int(year.group(1)) <= last.year:
        raise typer.BadParameter(f"must be a date between {EARLIEST_DATE:%Y-%m-%d} and "
                                 f"{last:%Y-%m-%d}, got {value!r}")
    return value


DataOpt = Annotated[
    str | None,
    typer.Option("--data", help="Folder of CSV/Parquet files named after the tables, a DuckDB "
                 "file, or a database URL. Default: the bundled sample."),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML file mapping your table and column names to the "
                 "canonical ones (see data/README.md), or recipe name(s) such as stripe or "
                 "stripe,zendesk (csm-kit init drafts a mapping for you)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Reporting month, any date in it (e.g. 2026-10-31). Default: "
                 "the last complete month in the data.", callback=_date_in_range),
]
EngineOpt = Annotated[
    str,
    typer.Option("--engine", help="Where the heavy revenue transforms run: auto (pandas for "
                 "small data, embedded DuckDB from 5,000 subscription rows), pandas, duckdb or polars."),
]
TimezoneOpt = Annotated[
    str, typer.Option("--timezone", help="Reporting time zone for timestamps (IANA name).")
]
SurveyScalesOpt = Annotated[
    str | None,
    typer.Option("--survey-scales", help="Survey scales, e.g. csat=1-10,ces=1-5,review=1-5 "
                 "(defaults: nps 0-10, csat 1-5, ces 1-7; overrides the mapping file's "
                 "surveys: scales). Declares other survey types too."),
]
CesDirectionOpt = Annotated[
    str | None,
    typer.Option("--ces-direction", help="low (default: a low CES means little effort) or "
                 "high (a high CES means little effort)."),
]


def use_engine(engine: str) -> None:
    """Check the --engine choice and hand it to every transform (and notebook kernel) via
    the CSM_KIT_ENGINE environment variable, which ``engine=None`` reads. Commands that call
    it are decorated with :func:`engine_scoped`, which puts the variable back afterwards."""
    import os

    import pandas as pd

    from csm_kit.engine import ENGINE_VARIABLE, choose_engine

    choose_engine(pd.DataFrame(), engine)  # raises ConfigError for an unknown name
    os.environ[ENGINE_VARIABLE] = engine


def engine_scoped(func):
    """Put CSM_KIT_ENGINE back as it was when the command ends, so the --engine choice lasts
    one command (a caller running commands in-process, such as the tests, keeps its own)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import os

        from csm_kit.engine import ENGINE_VARIABLE

        previous = os.environ.get(ENGINE_VARIABLE)
        try:
            return func(*args, **kwargs)
        finally:
            if previous is None:
                os.environ.pop(ENGINE_VARIABLE, None)
            else:
                os.environ[ENGINE_VARIABLE] = previous

    return wrapper


def friendly_errors(func):
    """Turn kit errors and the machine's file errors into a short message and exit code 2
    (never a bare traceback); anything else is a bug in the kit: its traceback is shown with a
    line asking to report it (exit code 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import click

        try:
            return func(*args, **kwargs)
        except DataContractError as exc:
            print_findings(exc.failures, console=err, title="The data breaks the contract")
            err.print(f"[bold red]{len(exc.failures)} problem(s) must be fixed; nothing was written.")
            raise typer.Exit(2) from None
        except CsmKitError as exc:
            err.print(Text(f"error: {terminal_text(exc, markup=False)}", style="bold red"),
                      soft_wrap=True)
            raise typer.Exit(2) from None
        except (click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except OSError as exc:  # the machine, not the data: permissions, a full disk, a lost mount
            err.print(Text(f"error: {terminal_text(exc, markup=False)}; check that path, its "
                           "permissions and the free space, then run the command again",
                           style="bold red"), soft_wrap=True)
            raise typer.Exit(2) from None
        except Exception:
            err.print(Text(BUG_REPORT, style="bold red"), soft_wrap=True)
            raise

    return wrapper


#: Shown above the traceback of an error that is the kit's own fault, not the data's.
BUG_REPORT = ("csm-kit stopped on an error of its own (a bug, not a problem with your data): "
              "please report it on the project's issue tracker with the command you ran and "
              "the traceback below.")


def print_findings(findings, *, console: Console, title: str) -> None:
    """Print a failures/quality frame as a readable table (text is never read as markup, and
    control characters in quoted data values are shown escaped, never obeyed)."""
    table = Table(title=title, show_lines=False, expand=False)
    for name in ("severity", "rows", "problem (table.column: what, where, how to fix)"):
        table.add_column(name, overflow="fold")
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for row in findings.itertuples(index=False):
        table.add_row(Text(row.severity, style=colours.get(row.severity, "")),
                      Text(f"{row.rows:,}" if row.rows else "—"),  # a whole file or dataset, not rows
                      Text(terminal_text(row.message, markup=False)))
    console.print(table)


@app.command()
@friendly_errors
def validate(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
    timezone: TimezoneOpt = "UTC",
    survey_scales: SurveyScalesOpt = None,
    ces_direction: CesDirectionOpt = None,
) -> None:
    """Check a dataset against the data contract and print every problem; writes nothing.

    Exits 0 when there are no errors (warnings are printed), 2 when there are errors.
    """
    from csm_kit.data.loading import load_dataset
    from csm_kit.data.quality import data_quality

    dataset = load_dataset(data, mapping=mapping, timezone=timezone, scales=survey_scales,
                           ces_direction=ces_direction)
    findings = data_quality(dataset, as_of=as_of)
    counts = {name: len(df) for name, df in dataset.tables().items()}
    stdout.print(f"Loaded {dataset.source}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    month = dataset.default_as_of() if as_of is None else as_of
    if month is None:  # the report would stop here too
        from csm_kit.errors import ConfigError

        raise ConfigError("the data has no dates to take an as-of month from; pass --as-of")
    stdout.print(f"As-of month: {month:%Y-%m}" if hasattr(month, "strftime") else f"As-of: {month}")
    if dataset.surveys is not None:
        stdout.print(Text(dataset.survey_settings.describe()))
    if findings.empty:
        stdout.print("[green]No problems found.")
    else:
        print_findings(findings, console=stdout, title="Data quality (not blocking)")
    stdout.print("[green]The data meets the contract.")


@app.command()
@friendly_errors
def sample(
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder to write the tables into (required, so the bundled sample is "
        "never overwritten by accident).")],
    customers: Annotated[int, typer.Option(help="Number of customers.", min=1,
                                           max=10_000_000)] = 2000,
    months: Annotated[int, typer.Option(help="Months of history.", min=1, max=600)] = 36,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    end: Annotated[str, typer.Option(help="Last day of the data.",
                                     callback=_date_in_range)] = "2026-10-31",
    tables: Annotated[str | None, typer.Option(
        help="Comma-separated subset of tables, e.g. customers,subscriptions.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Generate a realistic synthetic B2B SaaS dataset of any size (for demos and benchmarks)."""
    from csm_kit.errors import ConfigError
    from csm_kit.report.paths import check_output_folder, writing
    from csm_kit.sample.generator import write_sample

    if file_format not in ("csv", "parquet"):
        raise ConfigError(f"--format must be one of ['csv', 'parquet'], got {file_format!r}")
    check_output_folder(out_dir, option="--out")
    chosen = None if tables is None else [t.strip() for t in tables.split(",") if t.strip()]
    with writing(out_dir, fix="free some disk space or choose another --out folder"):
        paths = write_sample(out_dir, customers=customers, months=months, seed=seed, end=end,
                             tables=chosen, file_format=file_format,
                             progress=lambda line: err.print(line))
    stdout.print(f"Wrote {len(paths)} tables to {out_dir}")


@app.command()
@friendly_errors
@engine_scoped
def metrics(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
    by: Annotated[str | None, typer.Option(
        help="Also break metrics down by a customers column: segment, csm, plan, region.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="csv, json or xlsx.")] = "csv",
    output: Annotated[Path | None, typer.Option(
        "--output", help="File to write; default prints to the terminal.")] = None,
    engine: EngineOpt = "auto",
    timezone: TimezoneOpt = "UTC",
    survey_scales: SurveyScalesOpt = None,
    ces_direction: CesDirectionOpt = None,
    all_months: Annotated[bool, typer.Option(
        "--all-months", help="Keep subscription metrics from months before the first "
        "subscription end in the data.")] = False,
    definitions: Annotated[str | None, typer.Option(
        "--definitions", help="Compute the revenue metrics under a vendor's definitions: "
        "csm-kit, chartmogul, baremetrics, profitwell, stripe, or all (every preset, stacked); "
        "adds a `definitions` column. See docs/presets.md.")] = None,
) -> None:
    """Write every headline metric as one long table: metric, period, group, value, n, ci_low, ci_high.

    Shares are fractions (0.031 = 3.1%), money is in the reporting currency, NPS in points.
    The metric names are listed in the README. Printed to the terminal, values are rounded
    for reading; a file written with --output keeps full precision. Subscription metrics
    start at the month of the first subscription end in the data (before it, churn is 0 by
    construction); --all-months keeps those months.
    """
    from csm_kit.data.loading import load_dataset
    from csm_kit.headlines import rounded_for_display
    from csm_kit.kpis import history_start, kpi_table, within_history
    from csm_kit.periods import parse_as_of
    from csm_kit.report.exports import write_table
    from csm_kit.report.paths import check_output_file, replaced_atomically, writing

    use_engine(engine)
    presets = _chosen_definitions(definitions)
    if output is not None:
        check_output_file(output, option="--output")
    dataset = load_dataset(data, mapping=mapping, timezone=timezone, scales=survey_scales,
                           ces_direction=ces_direction)
    table = _kpis_under(presets, lambda: kpi_table(dataset, as_of=parse_as_of(as_of), by=by))
    start, before = history_start(dataset), len(table)
    if not all_months:
        table = within_history(table, dataset)
    if output is not None:
        with (writing(output, fix="free some disk space or choose another --output file"),
              replaced_atomically(output) as temporary):
            write_table(table, temporary, file_format=file_format)
    text = None if output is not None else write_table(rounded_for_display(table), None,
                                                       file_format=file_format)
    if text is not None:
        sys.stdout.write(text)
    else:
        err.print(f"Wrote {len(table):,} rows to {output}")
    if len(table) < before:  # after the table, so its header stays the first line
        err.print(f"Left out {before - len(table):,} rows of subscription metrics before "
                  f"{start:%B %Y}, the first subscription end in the data (before it, churn "
                  "is 0 by construction); --all-months keeps them.")


@app.command()
@friendly_errors
def init(
    exports_dir: Annotated[Path, typer.Argument(help="Folder holding your exports (CSV).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the mapping. Default: mapping.yaml in EXPORTS_DIR.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Recognise the exports in a folder (Stripe, Zendesk, SurveyMonkey, HubSpot, Google
    Forms and more) and write a commented mapping.yaml saying what was recognised, what was
    guessed and what you must decide; then print the commands to run next."""
    from csm_kit.data.drafting import draft_mapping
    from csm_kit.errors import ConfigError, DataSourceError

    if not exports_dir.is_dir():
        raise DataSourceError(f"{exports_dir} is not a folder; pass the folder holding your exports")
    target = out or exports_dir / "mapping.yaml"
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists; pass --force to overwrite it, or --out "
                          "to write the draft elsewhere")
    draft = draft_mapping(exports_dir)
    target.write_text(draft.to_yaml(), encoding="utf-8")
    stdout.print(Text(f"Wrote {target}"))
    for title, notes in (("Recognised", draft.recognised), ("Guessed", draft.guessed),
                         ("You must decide", draft.decide), ("Not used", draft.ignored)):
        if notes:
            stdout.print(Text(f"{title}:", style="bold"))
            for note in notes:
                stdout.print(Text(f"  - {note}"), soft_wrap=True)
    stdout.print(Text("Next:", style="bold"))
    stdout.print(Text(f"  csm-kit validate --data {exports_dir} --mapping {target}"), soft_wrap=True)
    stdout.print(Text(f"  csm-kit report --data {exports_dir} --mapping {target}"), soft_wrap=True)


def _chosen_definitions(definitions: str | None) -> list[str] | None:
    """The presets ``--definitions`` names (None: the option was not given)."""
    from csm_kit.definitions import PRESET_NAMES
    from csm_kit.errors import ConfigError

    if definitions is None:
        return None
    if definitions == "all":
        return list(PRESET_NAMES)
    if definitions not in PRESET_NAMES:
        raise ConfigError(f"--definitions must be one of {[*PRESET_NAMES, 'all']}, "
                          f"got {definitions!r}")
    return [definitions]


def _kpis_under(presets: list[str] | None, compute):
    """The KPI table under each preset, with a ``definitions`` column (stacked for several)."""
    import pandas as pd

    from csm_kit.definitions import using

    if presets is None:
        return compute()
    parts = []
    for name in presets:
        with using(name):
            parts.append(compute().assign(definitions=name))
    return pd.concat(parts, ignore_index=True)


NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"


@app.command()
@friendly_errors
@engine_scoped
def report(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Folder that receives the dated report folder.")] = Path("reports"),
    notebooks: Annotated[str | None, typer.Option(
        "--notebooks", help="Comma-separated subset, e.g. 00_overview,03 (name or number prefix).")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", min=1, max=256,
        help="Notebooks run at the same time. Default: the number of CPUs.")] = None,
    include_code: Annotated[bool, typer.Option(
        "--include-code", help="Show the code cells in the HTML reports.")] = False,
    segment: Annotated[str | None, typer.Option(
        "--segment", help="Only customers of this segment (e.g. SMB).")] = None,
    months: Annotated[int, typer.Option("--months", min=1, max=600,
                                        help="Months of history in charts.")] = 24,
    targets: Annotated[Path | None, typer.Option(
        "--targets", help="Targets YAML (default: logo churn <= 5%, CSAT >= 80%).")] = None,
    notebooks_dir: Annotated[Path, typer.Option(
        "--notebooks-dir", help="Where the report notebooks are.")] = NOTEBOOKS_DIR,
    engine: EngineOpt = "auto",
    timezone: TimezoneOpt = "UTC",
    privacy: Annotated[str, typer.Option(
        "--privacy", help="off; pseudonymised (customer names as keyed hashes, key in "
        "CSM_KIT_PRIVACY_KEY; e-mails and phones in comments redacted); aggregate (no "
        "customer-level tables, groups smaller than --min-group-size hidden).")] = "off",
    min_group_size: Annotated[int, typer.Option(
        "--min-group-size", min=1, help="With --privacy aggregate: hide smaller groups.")] = 5,
    survey_scales: SurveyScalesOpt = None,
    ces_direction: CesDirectionOpt = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=1, max=86_400, help="Seconds one notebook may run; a notebook still "
        "running then is stopped and recorded as failed.")] = 1800,
) -> None:
    """Execute every notebook and write reports/<as-of>/: HTML reports, index.html, manifest.json,
    and the at-risk list and CSM scorecard as CSV (and XLSX when openpyxl is installed).

    Options, the --out folder, the notebooks and the data are checked first (errors: exit 2,
    nothing written). A notebook that fails or runs past --timeout makes the run exit 1; the
    others are still written and a good earlier report of the same month is kept. The folder
    is swapped into place in one step; a second run of the same month waits for the first. The data is loaded and validated once; every notebook reads that
    snapshot (see csm_kit.report.snapshot), so index, pages and exports show the same data.
    """
    import logging
    import tempfile

    _without_iri_grammars()
    from csm_kit.headlines import headline
    from csm_kit.kpis import within_history
    from csm_kit.report.context import open_report
    from csm_kit.report.parameters import check_parameters
    from csm_kit.report.paths import check_notebooks, check_output_folder, writing
    from csm_kit.report.runner import run_reports
    from csm_kit.report.snapshot import read_meta, write_snapshot

    use_engine(engine)
    logging.getLogger("papermill").setLevel(logging.ERROR)
    # after a --timeout, nbclient leaves a poll task that asyncio reports at exit ("Task was
    # destroyed but it is pending!"): noise beside the run's own "ran longer than" line
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    paths = select_notebooks(notebooks_dir, notebooks)
    check_notebooks(paths)
    check_output_folder(out, option="--out")
    mapping = _mapping_argument(mapping)
    parameters = {"data": _absolute(data), "mapping": mapping, "as_of": as_of,
                  "months": months, "segment": segment, "targets": _absolute(targets),
                  "include_code": include_code, "privacy": privacy,
                  "min_group_size": min_group_size, "timezone": timezone, "snapshot": None}
    # passed only when set, so a notebook folder of your own without these parameters still runs
    parameters |= {k: v for k, v in (("survey_scales", survey_scales),
                                     ("ces_direction", ces_direction)) if v is not None}
    check_parameters(parameters, paths)
    ctx = open_report(_absolute(data), mapping=mapping, as_of=as_of, months=months,
                      segment=segment, targets=_absolute(targets), timezone=timezone,
                      privacy=privacy, min_group_size=min_group_size,
                      survey_scales=survey_scales, ces_direction=ces_direction)
    err.print(Text(f"Data: {ctx.dataset.source} ({ctx.scope}); as-of month {ctx.as_of:%Y-%m}"))
    paths, skipped = reports_the_data_supports(paths, ctx)
    health = ctx.health if ctx.has("subscriptions") else None
    kpis = within_history(ctx.kpis, ctx.dataset)
    parameters["as_of"] = day = f"{ctx.as_of_end:%Y-%m-%d}"
    exports, quality = report_exports(ctx, health), ctx.quality
    summary = headline(kpis, targets=ctx.targets, as_of=ctx.as_of, currency=ctx.currency,
                       directions=ctx.directions)
    story = ctx.story(kpis=kpis)
    room = "free some disk space, or set TMPDIR to a folder with room"
    with tempfile.TemporaryDirectory(prefix="csm-kit-run-") as run_folder:
        with writing(run_folder, fix=room):
            snapshot = write_snapshot(ctx, Path(run_folder), options={
                "data": parameters["data"], "mapping": parameters["mapping"],
                "targets": parameters["targets"], "survey_scales": survey_scales,
                "ces_direction": ces_direction})
        parameters["snapshot"] = str(snapshot)
        del ctx, health  # the notebooks read the snapshot: free this process's copy meanwhile
        _hand_back_memory()
        run = run_reports(paths, out_dir=out, as_of=day, parameters=parameters, jobs=jobs,
                          include_code=include_code, headline=summary, quality=quality,
                          data_fingerprint=read_meta(snapshot)["fingerprint"], exports=exports,
                          skipped=skipped, narrative=story, timeout=timeout)
    index = Path(run.folder) / "index.html"
    if run.ok:
        stdout.print(f"[green]Reports written:[/green] {index}  ({run.seconds:.0f} s)")
        return
    failed = ", ".join(r.name for r in run.failed)
    err.print(Text(f"{len(run.failed)} report(s) failed: {failed}. "
                   f"{getattr(run, 'note', '') or ''} See {index}", style="bold red"), soft_wrap=True)
    raise typer.Exit(1)


@app.command()
@friendly_errors
def digest(
    data: DataOpt = None,
    mapping: MappingOpt = None,
    as_of: AsOfOpt = None,
    file_format: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
    output: Annotated[Path | None, typer.Option(
        "--output", help="File to write; default prints to the terminal.")] = None,
    webhook: Annotated[str | None, typer.Option(
        "--webhook", help="Also POST the digest as Slack-compatible JSON to this incoming-"
        "webhook URL.")] = None,
    targets: Annotated[Path | None, typer.Option(
        "--targets", help="Targets YAML for the KPI verdicts (default: the packaged one).")] = None,
    privacy: Annotated[str, typer.Option(
        "--privacy", help="off; pseudonymised (names hashed with CSM_KIT_PRIVACY_KEY, contacts "
        "in comments redacted); aggregate (counts only: no customer named).")] = "off",
    min_group_size: Annotated[int, typer.Option(
        "--min-group-size", min=1, help="With --privacy aggregate: hide smaller groups.")] = 5,
    timezone: TimezoneOpt = "UTC",
) -> None:
    """What changed since the previous month: KPIs whose verdict changed or that moved beyond
    their interval, accounts newly red (with the reason), new detractors, renewals due in 90
    days with their health, and data-quality findings.

    Exit codes, for cron: 0 the digest was written (and posted); 1 the webhook could not be
    reached or refused it (the digest is still written); 2 the data or an option is wrong
    (nothing written or posted).
    """
    from csm_kit.errors import ReportError
    from csm_kit.report.context import open_report
    from csm_kit.report.delivery import check_webhook_url, post_webhook, write_text_atomically
    from csm_kit.report.digest import FORMATS, monthly_digest, render_digest

    if file_format not in FORMATS:
        raise ConfigError(f"--format must be one of {list(FORMATS)}, got {file_format!r}")
    if webhook is not None:
        check_webhook_url(webhook)
    ctx = open_report(_absolute(data), mapping=_absolute(mapping), as_of=as_of,
                      targets=_absolute(targets), timezone=timezone, privacy=privacy,
                      min_group_size=min_group_size)
    found = monthly_digest(ctx.dataset, as_of=ctx.as_of, targets=ctx.targets,
                           privacy=privacy, min_group_size=min_group_size)
    text = render_digest(found, file_format=file_format)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        write_text_atomically(text, output)
        err.print(Text(f"Wrote the digest for {found.month:%Y-%m} to {output}"))
    if webhook is not None:
        try:
            post_webhook(webhook, found.to_slack())
        except ReportError as exc:
            err.print(Text(f"error: {exc}", style="bold red"), soft_wrap=True)
            raise typer.Exit(1) from None
        err.print("Posted the digest to the webhook.")


def reports_the_data_supports(paths: list[Path], ctx) -> tuple[list[Path], list[dict]]:
    """Split the notebooks into those to run and those left out because the dataset lacks
    the tables they are about (their metadata ``csm_kit.requires``); each left-out report
    gets one line on stderr and one on the index."""
    from csm_kit.errors import ConfigError
    from csm_kit.report.parameters import required_tables

    kept, skipped = [], []
    for path in paths:
        # absent from the data, not merely empty for the chosen segment
        missing = [t for t in required_tables(path) if getattr(ctx.dataset, t, None) is None]
        if missing:
            reason = f"the dataset has no {' or '.join(missing)} table"
            skipped.append({"name": path.stem, "reason": reason})
            err.print(Text(f"Left out {path.stem}: {reason}."))
        else:
            kept.append(path)
    if not kept:
        raise ConfigError("none of the chosen reports can run on this dataset: "
                          + "; ".join(f"{s['name']} ({s['reason']})" for s in skipped))
    return kept, skipped


def _without_iri_grammars() -> None:
    """Keep jsonschema (imported by nbformat for the report run) from loading ``rfc3987_syntax``.

    When that package is installed (Jupyter's event schemas ask for it), jsonschema imports it
    to check IRI formats, and its import compiles 39 grammars: ~1.8 s of every report run. No
    notebook schema uses those formats; with the package marked absent jsonschema leaves them
    unchecked. Only for this process, and only when jsonschema has not been imported yet.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def _hand_back_memory() -> None:
    """Give the data's memory back to the system before the notebooks run: the results the
    engine keeps for reuse (:func:`csm_kit.engine.forget_reused`), unreachable frames, and
    the pages Arrow's allocator still holds. The notebooks read the snapshot, so this process
    needs none of it until the index is written."""
    import gc

    import pyarrow as pa

    from csm_kit.engine import forget_reused

    forget_reused()
    gc.collect()
    pa.default_memory_pool().release_unused()


def report_exports(ctx, health) -> dict:
    """The tables ``report`` writes for spreadsheets: the at-risk list, the action list and
    the CSM scorecard.

    ``health`` is the health scores at the as-of month end (None without subscriptions).
    With privacy "aggregate" the at-risk and action lists (customer-level) are left out and
    books smaller than the minimum group size are dropped from the scorecard. Beyond the
    report's budget (customers × 10 scoring days, as for the health backtest) the action list
    has no churn probabilities, and a line on stderr says so.
    """
    from csm_kit.report.context import BACKTEST_BUDGET
    from csm_kit.report.risk import exported
    from csm_kit.team import at_risk_accounts, csm_scorecard

    if health is None:
        return {}
    tables = {}
    if ctx.privacy != "aggregate":
        tables["at_risk_accounts"] = at_risk_accounts(health, ctx.dataset, as_of=ctx.as_of,
                                                      top=len(health) or 1)
        if not ctx.fits_budget():
            err.print(Text(f"Note: the exported action list has no churn probabilities: "
                           f"{len(health):,} customers × 10 scoring days are more than the "
                           f"report's budget of {BACKTEST_BUDGET:,} customer-dates (the health "
                           "report skips its backtest and model for the same reason)."),
                      soft_wrap=True)
        tables["action_list"] = exported(ctx.actions)
    if ctx.has_column("csm"):
        card = csm_scorecard(ctx.dataset, as_of=ctx.as_of, health=health)
        tables["csm_scorecard"] = ctx.small_groups_hidden(card, n="accounts")
    return tables


def select_notebooks(folder: Path, subset: str | None) -> list[Path]:
    """List the report notebooks in reading order, optionally a comma-separated subset."""
    from csm_kit.errors import ConfigError

    available = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not available:
        raise ConfigError(f"no report notebooks in {folder}; run from a csm-kit checkout "
                          "or pass --notebooks-dir")
    if subset is None:
        return available
    chosen = []
    for item in (part.strip().removesuffix(".ipynb") for part in subset.split(",") if part.strip()):
        matches = [p for p in available if p.stem == item or p.stem.startswith(item + "_")]
        if not matches:
            names = [p.stem for p in available]
            raise ConfigError(f"--notebooks must name notebooks among {names}, got {item!r}")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def _absolute(value) -> str | None:
    """Paths become absolute (notebooks run in their own folder); URLs stay as they are."""
    if value is None:
        return None
    text = str(value)
    if "://" in text:
        return text
    return str(Path(text).resolve())


def _mapping_argument(mapping) -> str | None:
    """A mapping file becomes an absolute path; recipe names (``stripe,zendesk``) stay names."""
    from csm_kit.data.recipes import is_recipe_name

    if mapping is not None and not Path(mapping).exists() and is_recipe_name(str(mapping)):
        return str(mapping)
    return _absolute(mapping)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
