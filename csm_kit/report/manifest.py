"""A report folder's own records: ``manifest.json`` and ``index.html``, secrets masked.

The manifest says what ran, on which data, with which versions, and whether every notebook
was ok — which decides whether a later run may replace the folder (:mod:`csm_kit.report.publish`).
Secrets (passwords in connection URLs) are masked before anything is written.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import pandas as pd

from csm_kit.privacy import mask_secrets
from csm_kit.report.html import render_index
from csm_kit.report.results import NotebookResult

#: Distributions whose versions every manifest records.
VERSIONED_PACKAGES = ("csm-kit", "pandas", "papermill", "nbconvert", "matplotlib", "ipykernel")


def mask_notebook_secrets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Mask secrets in an executed notebook: the injected parameters, every output's text
    (printed values, error messages and tracebacks) and papermill's metadata.

    The kernel needed the real values; the ``.ipynb`` and HTML published do not.
    Modifies ``nb`` in place and returns it.
    """
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = mask_secrets(cell.source)
        for output in cell.get("outputs", []):
            _mask_output(output)
    papermill = nb.metadata.get("papermill", {})
    if "parameters" in papermill:
        papermill["parameters"] = mask_secrets(papermill["parameters"])
    return nb


def _mask_output(output) -> None:
    for key in ("text", "evalue"):
        if key in output:
            output[key] = mask_secrets(output[key])
    if "traceback" in output:
        output["traceback"] = [mask_secrets(line) for line in output["traceback"]]
    data = output.get("data", {})
    for mime, value in data.items():
        if mime.startswith("text/") or mime.endswith("json"):
            data[mime] = mask_secrets(value)


def package_versions() -> dict[str, str | None]:
    """Python's version and each of ``VERSIONED_PACKAGES``' (None when not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def now_iso() -> str:
    """The local time with its UTC offset, to the second (e.g. "2024-02-01T06:00:03+01:00")."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def write_run_summary(
    folder: Path,
    *,
    as_of: str,
    results: Sequence[NotebookResult],
    parameters: Mapping[str, Any],
    started: str,
    seconds: float,
    options: Mapping[str, Any],
    headline: pd.DataFrame | None = None,
    quality: pd.DataFrame | None = None,
    data_fingerprint: str | None = None,
    note: str | None = None,
    exports: Sequence[str] = (),
    narrative: Sequence[str] = (),
    skipped: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """Write ``index.html`` and ``manifest.json`` into ``folder``; return the manifest.

    The manifest holds: as_of, ok, started, finished, seconds (total), parameters (secrets
    masked), options (jobs, include_code, kernel_name), data_fingerprint, versions, note,
    exports (file names of the exported tables), skipped (reports left out because the
    data lacks their tables: name and reason), and notebooks — one entry per notebook with
    name, status, error, seconds, started, finished, html and ipynb (file names inside the
    folder). The index also opens with the ``narrative`` sentences.
    """
    ok = all(r.status == "ok" for r in results)
    finished = now_iso()
    notebooks = [
        {
            "name": r.name,
            "status": r.status,
            "error": r.error,
            "seconds": r.seconds,
            "started": r.started,
            "finished": r.finished,
            "html": r.html.name,
            "ipynb": None if r.ipynb is None else r.ipynb.name,
        }
        for r in results
    ]
    manifest = {
        "as_of": as_of,
        "ok": ok,
        "started": started,
        "finished": finished,
        "seconds": round(seconds, 2),
        "parameters": mask_secrets(dict(parameters)),
        "options": dict(options),
        "data_fingerprint": data_fingerprint,
        "versions": package_versions(),
        "note": mask_secrets(note),
        "exports": list(exports),
        "skipped": [dict(s) for s in skipped],
        "notebooks": notebooks,
    }
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
    )
    page = render_index(
        as_of=as_of,
        reports=[{**n, "href": quote(n["html"])} for n in notebooks],
        seconds=seconds,
        generated=finished,
        ok=ok,
        headline=headline,
        quality=quality,
        data_fingerprint=data_fingerprint,
        note=note,
        exports=[{"name": e, "href": quote(e)} for e in exports],
        narrative=narrative,
        skipped=skipped,
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    return manifest
