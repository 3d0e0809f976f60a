"""What a report run produced: one record per notebook and one for the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook's report went.

    ``status`` is "ok" or "failed"; ``error`` is None when ok, otherwise the error text
    (for an error raised in a cell: "ValueError: ... (cell In [5])"). ``html`` and
    ``ipynb`` are the published files (``ipynb`` is None if the notebook never ran).
    """

    name: str
    status: str
    error: str | None
    seconds: float
    html: Path
    ipynb: Path | None
    started: str
    finished: str

    @property
    def ok(self) -> bool:
        """Whether the notebook ran to the end and its HTML was written."""
        return self.status == "ok"


@dataclass(frozen=True)
class ReportRun:
    """The outcome of ``run_reports``: where the reports went and how each one did.

    ``kept_previous`` is True when a failed run was not allowed to replace a good report
    already in ``<out_dir>/<as_of>``; ``folder`` is then ``<as_of>.failed-<timestamp>`` and
    ``note`` says so.
    """

    folder: Path
    as_of: str
    results: list[NotebookResult]
    seconds: float
    kept_previous: bool = False
    note: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """Whether every notebook succeeded (the CLI exits non-zero when not)."""
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[NotebookResult]:
        """The notebooks that failed, in input order."""
        return [r for r in self.results if not r.ok]
