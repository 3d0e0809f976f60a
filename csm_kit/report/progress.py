"""Progress of a report run: a rich bar on a terminal, one plain line per notebook elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from csm_kit.safe_text import terminal_text


@contextmanager
def progress_reporter(
    total: int, *, interactive: bool | None = None
) -> Iterator[Callable[[str, str, float, str | None], None]]:
    """Yield ``report(name, status, seconds, error)``, called once per finished notebook.

    Interactive (default: when stderr is a terminal) draws a rich progress bar on stderr
    and prints failures above it; otherwise each call writes one plain line to stderr,
    e.g. "[2/7] 01_churn_cohorts ok 4.1 s", fit for cron and CI logs.
    """
    if interactive is None:
        interactive = sys.stderr.isatty()
    done = 0

    def line(name: str, status: str, seconds: float, error: str | None) -> str:
        # an error may quote data values: control characters are shown, never obeyed
        text = f"[{done}/{total}] {terminal_text(name, markup=False)} {status} {seconds:.1f} s"
        if error is None:
            return text
        return f"{text}: {terminal_text(error.splitlines()[0], markup=False) if error else ''}"

    if not interactive:

        def plain(name: str, status: str, seconds: float, error: str | None) -> None:
            nonlocal done
            done += 1
            print(line(name, status, seconds, error), file=sys.stderr, flush=True)

        yield plain
        return

    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("reports", total=total)

        def fancy(name: str, status: str, seconds: float, error: str | None) -> None:
            nonlocal done
            done += 1
            if error is not None:
                console.print(
                    line(name, status, seconds, error), style="red", markup=False, highlight=False
                )
            bar.update(task, advance=1, description=f"{terminal_text(name)} {status}")

        yield fancy
