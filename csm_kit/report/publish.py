"""How a run is published: staged in a hidden sibling folder, then moved into place.

A reader never sees half a report, and a failed run never replaces a good one (the folder's
``manifest.json`` says whether it is good: :mod:`csm_kit.report.manifest`).
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from csm_kit.errors import ReportError


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
