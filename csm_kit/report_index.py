"""The report folder's own records and how a run is published.

``index.html`` and ``manifest.json`` describe a run; the manifest says whether the folder
holds a good report, which decides whether a new run may replace it. Runs are staged in a
hidden sibling folder and moved into place in one rename, so a reader never sees half a
report. Secrets (passwords in connection URLs) are masked before anything is written.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import nbformat
import pandas as pd

from csm_kit.errors import ReportError
from csm_kit.privacy import mask_secrets
from csm_kit.report_html import render_index

if TYPE_CHECKING:
    from csm_kit.reporting import NotebookResult

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
) -> dict[str, Any]:
    """Write ``index.html`` and ``manifest.json`` into ``folder``; return the manifest.

    The manifest holds: as_of, ok, started, finished, seconds (total), parameters (secrets
    masked), options (jobs, include_code, kernel_name), data_fingerprint, versions, note,
    exports (file names of the exported tables), and notebooks — one entry per notebook
    with name, status, error, seconds, started, finished, html and ipynb (file names
    inside the folder).
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
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    return manifest


def is_good_report(folder: Path) -> bool:
    """Whether ``folder`` holds a complete report: its manifest says every notebook was ok."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    notebooks = manifest.get("notebooks") or []
    return manifest.get("ok") is True and all(n.get("status") == "ok" for n in notebooks)


def check_target(target: Path) -> None:
    """Refuse to replace a path csm-kit did not write (a file, or a folder without manifest)."""
    if not target.exists():
        return
    if target.is_dir() and ((target / "manifest.json").is_file() or not any(target.iterdir())):
        return
    raise ReportError(
        f"{target} exists but is not a csm-kit report folder (no manifest.json); "
        "move it away or choose another output folder; nothing was run"
    )


def destination(target: Path, *, ok: bool) -> tuple[Path, str | None]:
    """Where a run goes, and a note when it is not ``target``.

    A successful run, or a failed one where no good report exists, goes to ``target``.
    A failed run never replaces a good report: it goes to ``<target>.failed-<timestamp>``.
    """
    if ok or not is_good_report(target):
        return target, None
    kept = target.with_name(f"{target.name}.failed-{datetime.now():%Y%m%d-%H%M%S}")
    if kept.exists():
        kept = kept.with_name(f"{kept.name}-{uuid.uuid4().hex[:6]}")
    note = (
        f"This run failed, so the previous good report in {target.name}/ was kept; "
        f"this run's reports are in {kept.name}/."
    )
    return kept, note


def publish(staging: Path, target: Path) -> None:
    """Move the staged folder to ``target``, replacing (then deleting) what was there.

    The old folder is renamed aside first, so ``target`` is never half-written; if moving
    the new one in fails, the old one is put back.
    """
    if not target.exists():
        staging.rename(target)
        return
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
