"""Run the report notebooks with papermill and publish a dated folder of HTML reports.

``run_reports`` executes every notebook (``jobs`` at a time; each worker runs its notebooks
one after another in one kernel, reset in between: :mod:`csm_kit.report.kernels`), exports
each one to a self-contained HTML page beside the executed ``.ipynb``, writes ``index.html``
and ``manifest.json``, and publishes the folder atomically:
everything is written to a hidden sibling ``.tmp-<as_of>-*`` folder first and then moved
to ``<out_dir>/<as_of>`` in one step (:mod:`csm_kit.report.publish`), holding the month's lock.
A run with a failed notebook never replaces a previous good report: it is kept beside it in
``<as_of>.failed-<timestamp>``.

Validating the data and computing the headline KPIs are the caller's job (the CLI).
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill as pm
from papermill.exceptions import PapermillExecutionError

from csm_kit.errors import ConfigError, CsmKitError, ReportError
from csm_kit.privacy import mask_secrets
from csm_kit.report.exports import write_table
from csm_kit.report.html import notebook_to_html
from csm_kit.report.kernels import KernelSlot, ReportKernelManager
from csm_kit.report.manifest import mask_notebook_secrets, now_iso, write_run_summary
from csm_kit.report.parameters import check_parameters, kernel_parameters
from csm_kit.report.paths import check_notebooks
from csm_kit.report.progress import progress_reporter
from csm_kit.report.publish import (
    LOCK_WAIT,
    check_target,
    clean_stale,
    destination,
    month_lock,
    publish,
    recover,
    staging_folder,
)
from csm_kit.report.results import NotebookResult, ReportRun


def run_reports(
    notebooks: Sequence[Path],
    *,
    out_dir: Path,
    as_of: str,
    parameters: dict[str, Any],
    jobs: int | None = None,
    include_code: bool = False,
    headline: pd.DataFrame | None = None,
    quality: pd.DataFrame | None = None,
    data_fingerprint: str | None = None,
    progress: bool | None = None,
    kernel_name: str = "python3",
    timeout: float | None = None,
    exports: Mapping[str, pd.DataFrame] | None = None,
    narrative: Sequence[str] = (),
    skipped: Sequence[Mapping[str, str]] = (),
    lock_wait: float = LOCK_WAIT,
) -> ReportRun:
    """Execute the notebooks and publish ``<out_dir>/<as_of>/`` with one HTML page each.

    The folder holds ``<name>.html`` and the executed ``<name>.ipynb`` per notebook,
    ``index.html`` (headline KPIs, links, status and errors, data quality, run time) and
    ``manifest.json`` (parameters with secrets masked, data fingerprint, package versions,
    per-notebook status and timings).

    Parameters
    ----------
    notebooks : sequence of Path
        The notebooks to run; their file names (without ``.ipynb``) must be unique.
    out_dir : Path
        The reports root, e.g. ``reports/``; created if missing.
    as_of : str
        The reports' as-of date, "YYYY-MM-DD"; names the folder.
    parameters : dict
        Injected into every notebook by papermill (data, mapping, as_of, segment, ...).
        ``Path`` values are passed as absolute path strings; each notebook runs in its
        own folder, as in JupyterLab.
    jobs : int, optional
        Notebooks executed at a time; default the number of CPUs.
    include_code : bool, default False
        Show code cells in the HTML pages.
    headline, quality : DataFrame, optional
        Tables for the index page (see ``csm_kit.report.html.render_index``).
    data_fingerprint : str, optional
        Recorded in the manifest and shown on the index page.
    progress : bool, optional
        True for a rich progress bar, False for one plain line per finished notebook on
        stderr; None picks the bar when stderr is a terminal.
    kernel_name : str, default "python3"
        The Jupyter kernel to run the notebooks in.
    timeout : float, optional
        Seconds a notebook may run (all its cells together); when they are up, the running
        cell is stopped and the notebook recorded as failed ("ran longer than ..."), the
        others go on. Default no limit (``csm-kit report --timeout``: 1800).
    exports : mapping of name to DataFrame, optional
        Tables written beside the reports as ``<name>.csv`` (and ``<name>.xlsx`` when
        openpyxl is installed), with spreadsheet formulas neutralised; linked from the index.
    narrative : sequence of str
        The sentences the index opens with (see ``csm_kit.report.narrative``).
    skipped : sequence of mappings
        Reports left out because the data lacks their tables (``name``, ``reason``); the
        index says so once per report.
    lock_wait : float, default 600
        Seconds to wait while another run of the same month holds its lock (see
        :func:`csm_kit.report.publish.month_lock`), before a ``ReportError``.

    Returns
    -------
    ReportRun
        ``folder``, ``results`` (one ``NotebookResult`` per notebook, in input order),
        ``seconds``, ``kept_previous``, ``note`` and ``ok``.

    Raises
    ------
    ConfigError
        Bad ``as_of``, ``jobs``, ``timeout``, a missing or corrupt notebook, duplicate
        notebook names, or ``parameters`` the notebooks do not take or of the wrong type
        (nothing is run).
    ReportError
        ``<out_dir>/<as_of>`` exists but is not a csm-kit report folder (nothing is run);
        another run of the month held the lock for ``lock_wait`` seconds; a file could not
        be written (a full disk, no permission: nothing is published).

    Notes
    -----
    A notebook that fails does not stop the others; its page opens with a red banner and
    the index lists its error. The published folder is replaced only by a fully
    successful run, or by a failed one when no good report was there before. The run holds
    the month's lock from start to publish; under it, a report a killed run had moved aside
    is put back and killed runs' staging folders are deleted (:mod:`csm_kit.report.publish`).
    """
    notebooks = _checked_notebooks(notebooks)
    check_parameters(parameters, notebooks)
    _check_as_of(as_of)
    jobs = _checked_jobs(jobs, len(notebooks))
    _check_timeout(timeout)
    target = Path(out_dir).resolve() / as_of
    check_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(exc, target) from None
    with month_lock(target, wait=lock_wait):
        recover(target)
        clean_stale(target)
        check_target(target)  # again: what recover() put back
        started, t0 = now_iso(), time.perf_counter()
        staging = staging_folder(target)
        try:
            staging.mkdir()  # not tempfile.mkdtemp: its 0700 mode would be published
            run_parameters = kernel_parameters(parameters)
            options = {"jobs": jobs, "include_code": include_code, "kernel_name": kernel_name,
                       "timeout": timeout}
            results = _execute_all(notebooks, staging, parameters=run_parameters,
                                   progress=progress, **options)
            written = write_exports(staging, exports or {})
            seconds = time.perf_counter() - t0
            folder, note = destination(target, ok=all(r.ok for r in results))
            manifest = write_run_summary(
                staging, as_of=as_of, results=results, parameters=run_parameters,
                started=started, seconds=seconds, options=options, headline=headline,
                quality=quality, data_fingerprint=data_fingerprint, note=note,
                exports=written, narrative=narrative, skipped=skipped,
            )
            publish(staging, folder)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError) and not isinstance(exc, CsmKitError):
                raise _write_error(exc, target) from None
            raise
    return ReportRun(
        folder=folder,
        as_of=as_of,
        results=[_moved(r, folder) for r in results],
        seconds=round(seconds, 2),
        kept_previous=folder != target,
        note=note,
        manifest=manifest,
    )


def write_exports(folder: Path, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Write each table as ``<name>.csv`` (and ``.xlsx`` with openpyxl); return the file names."""
    try:
        import openpyxl  # noqa: F401
        formats = ("csv", "xlsx")
    except ImportError:
        formats = ("csv",)
    written = []
    for name, frame in tables.items():
        if not name.replace("_", "").isalnum():
            raise ConfigError(f"export names must be letters, digits and _, got {name!r}")
        for file_format in formats:
            write_table(frame, folder / f"{name}.{file_format}", file_format=file_format)
            written.append(f"{name}.{file_format}")
    return written


def _execute_all(
    notebooks: list[Path], staging: Path, *, jobs: int, progress: bool | None, **options: Any
) -> list[NotebookResult]:
    """Run the notebooks ``jobs`` at a time; results in input order.

    Each of the ``jobs`` worker threads keeps one kernel and runs the notebooks it takes in it,
    one after another (:mod:`csm_kit.report.kernels`); progress is reported from this thread.
    """
    waiting = queue.SimpleQueue()
    for item in enumerate(notebooks):
        waiting.put(item)
    finished: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        with KernelSlot(options["kernel_name"]) as slot:
            while not stop.is_set():
                try:
                    i, notebook = waiting.get_nowait()
                except queue.Empty:
                    return
                try:
                    finished.put((i, _execute_one(notebook, staging, slot=slot, **options)))
                except BaseException as exc:  # e.g. a page that cannot be written (full disk):
                    finished.put((i, exc))    # raised again in the caller's thread
                    return

    workers = [threading.Thread(target=work, name=f"csm-report-{k}") for k in range(jobs)]
    results: list[NotebookResult | None] = [None] * len(notebooks)
    with progress_reporter(len(notebooks), interactive=progress) as report:
        for worker in workers:
            worker.start()
        try:
            for _ in notebooks:
                i, result = _next_result(finished, workers)
                if isinstance(result, BaseException):
                    raise result
                results[i] = result
                report(result.name, result.status, result.seconds, result.error)
        except BaseException:  # e.g. Ctrl-C: do not start the notebooks still queued
            stop.set()
            raise
        finally:
            for worker in workers:
                worker.join()
    return [r for r in results if r is not None]


def _next_result(finished: queue.SimpleQueue, workers: list[threading.Thread]):
    """The next finished notebook, waiting in short steps (so Ctrl-C is heard)."""
    while True:
        try:
            return finished.get(timeout=0.2)
        except queue.Empty:
            if not any(w.is_alive() for w in workers) and finished.empty():
                raise ReportError("the report workers stopped before every notebook had run; "
                                  "this is a bug in csm-kit, please report it") from None


def _execute_one(
    notebook: Path,
    staging: Path,
    *,
    parameters: dict[str, Any],
    include_code: bool,
    kernel_name: str,
    timeout: float | None,
    slot: KernelSlot,
) -> NotebookResult:
    """Execute one notebook into the staging folder and export its HTML; never raises.

    It runs in ``slot``'s kernel; a notebook that fails gives the kernel up (see
    :mod:`csm_kit.report.kernels`).
    """
    started, t0 = now_iso(), time.perf_counter()
    ipynb, html = staging / f"{notebook.stem}.ipynb", staging / f"{notebook.stem}.html"
    try:
        nb, error = _execute(notebook, ipynb, parameters, kernel_name=kernel_name,
                             timeout=timeout, manager=slot.manager_for(notebook))
    except Exception as exc:  # the kernel could not even be prepared
        nb, error = None, f"{type(exc).__name__}: {exc}"
    if error is not None:
        slot.discard()
    try:
        shown = nb if nb is not None else nbformat.v4.new_notebook()
        page = notebook_to_html(shown, include_code=include_code, failure=error)
    except Exception as exc:
        error = "; ".join(filter(None, [error, f"HTML export failed: {type(exc).__name__}: {exc}"]))
        page = notebook_to_html(nbformat.v4.new_notebook(), failure=error)
    html.write_text(page, encoding="utf-8")
    return NotebookResult(
        name=notebook.stem,
        status="ok" if error is None else "failed",
        error=error,
        seconds=round(time.perf_counter() - t0, 2),
        html=html,
        ipynb=ipynb if ipynb.exists() else None,
        started=started,
        finished=now_iso(),
    )


def _execute(
    notebook: Path,
    ipynb: Path,
    parameters: dict[str, Any],
    *,
    kernel_name: str,
    timeout: float | None,
    manager=None,
) -> tuple[nbformat.NotebookNode | None, str | None]:
    """Run papermill; return the executed notebook (saved, secrets masked) and the error text.

    papermill raises ``PapermillExecutionError`` after saving a notebook whose cell failed;
    the notebook is None when it never ran (no such kernel, unreadable file, ...). With
    ``manager`` (a kernel manager, started or not) the notebook runs in its kernel, which is
    left running afterwards; without, in a kernel of its own.
    """
    error = None
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        nb = pm.execute_notebook(
            notebook,
            ipynb,
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            request_save_on_cell_execute=False,
            # the kernel's working folder, set per process; papermill's own `cwd=` would
            # os.chdir the whole (multi-threaded) process
            resources={"metadata": {"path": str(notebook.parent)}},
            # each cell may use what is left of the notebook's time (nbclient reads no
            # limit from 0 or None, so at least a tenth of a second)
            timeout_func=None if deadline is None
            else lambda cell: max(deadline - time.monotonic(), 0.1),
            kernel_manager_class=ReportKernelManager,
            km=manager,
        )
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue} (cell In [{exc.exec_count}])"
        nb = _read_or_none(ipynb)
    except Exception as exc:  # no kernel, kernel died, cell timeout, unreadable notebook, ...
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TimeoutError) and deadline is not None:
            error = (f"TimeoutError: the notebook ran longer than its {timeout:g} s limit "
                     "(--timeout), so the cell running then was stopped")
        nb = _read_or_none(ipynb)
    if nb is not None:
        nbformat.write(mask_notebook_secrets(nb), ipynb)
    return nb, mask_secrets(error)


def _read_or_none(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None


def _moved(result: NotebookResult, folder: Path) -> NotebookResult:
    return replace(
        result,
        html=folder / result.html.name,
        ipynb=None if result.ipynb is None else folder / result.ipynb.name,
    )


def _checked_notebooks(notebooks: Sequence[Path]) -> list[Path]:
    paths = [Path(nb).resolve() for nb in notebooks]
    if not paths:
        raise ConfigError("`notebooks` must list at least one notebook, got none")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"`notebooks` must be existing .ipynb files; not found: {missing}")
    check_notebooks(paths)
    stems = pd.Series([p.stem for p in paths])
    duplicated = sorted(set(stems[stems.duplicated()]))
    if duplicated:
        raise ConfigError(
            f"`notebooks` must have unique file names (each names its report), "
            f"got {duplicated} more than once"
        )
    return paths


def _check_as_of(as_of: str) -> None:
    try:
        ok = isinstance(as_of, str) and len(as_of) == 10 and bool(date.fromisoformat(as_of))
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"`as_of` must be a date written YYYY-MM-DD, got {as_of!r}")


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or not 0 < timeout < float("inf")):
        raise ConfigError(f"`timeout` must be a number of seconds > 0, got {timeout!r}")


def _write_error(exc: OSError, target: Path) -> ReportError:
    """A write that failed (full disk, no permission, ...) as a ReportError naming the fix."""
    where = exc.filename or target.parent
    return ReportError(
        f"could not write the report for {target}: {exc.strerror or exc} ({where}); "
        "free some disk space or choose another --out folder. Nothing was published: "
        f"what was at {target} is unchanged"
    )


def _checked_jobs(jobs: int | None, n_notebooks: int) -> int:
    if jobs is None:
        jobs = os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"`jobs` must be a whole number >= 1, got {jobs!r}")
    return min(jobs, n_notebooks)


