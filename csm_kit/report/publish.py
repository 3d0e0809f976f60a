"""How a run is published: staged in a hidden sibling folder, then swapped into place.

A reader never sees half a report, the month's path is never left empty, and a failed run
never replaces a good one (the folder's ``manifest.json`` says whether it is good:
:mod:`csm_kit.report.manifest`).

The folders beside a month's report ``<out>/<as_of>``:

- ``.tmp-<as_of>-<id>``: a run's staging folder (after an atomic swap, briefly the old report);
- ``.old-<as_of>-<id>``: the old report moved aside, where no atomic swap is available;
- ``<as_of>.failed-<timestamp>``: a failed run kept beside a good report (never cleaned);
- ``.csm-kit-<as_of>.lock``: the lock a run holds from start to publish (:func:`month_lock`).

A run killed at any point leaves at most a ``.tmp-*`` or ``.old-*`` folder; the next run for
the month, holding the lock, puts a moved-aside report back (:func:`recover`) and deletes the
rest (:func:`clean_stale`) before it decides where its own report goes.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from csm_kit.errors import ReportError

#: How long a run waits for another run of the same month to finish, by default (seconds).
LOCK_WAIT = 600.0


def is_good_report(folder: Path) -> bool:
    """Whether ``folder`` holds a complete report: its manifest says every notebook was ok."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or not isinstance(manifest.get("notebooks", []), list):
        return False  # a manifest.json csm-kit did not write
    notebooks = manifest.get("notebooks") or []
    return manifest.get("ok") is True and all(
        isinstance(n, dict) and n.get("status") == "ok" for n in notebooks)


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


def staging_folder(target: Path) -> Path:
    """A new, unused staging folder name beside ``target`` (not created)."""
    return target.with_name(f".tmp-{target.name}-{uuid.uuid4().hex[:8]}")


def publish(staging: Path, target: Path) -> None:
    """Move the staged folder to ``target``, replacing (then deleting) what was there.

    Where the system can swap two folders in one step (Linux's ``renameat2`` with
    ``RENAME_EXCHANGE``), ``target`` always holds a whole report, the old or the new one.
    Elsewhere the old folder is renamed aside to ``.old-<name>-<id>`` and the new one moved
    in; if that fails the old one is put back, and if the process is killed between the two
    renames, the next run's :func:`recover` puts it back.
    """
    if not target.exists():
        staging.rename(target)
        return
    if _exchange(staging, target):  # staging now holds the old report
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def recover(target: Path) -> Path | None:
    """Put back a report a killed run moved aside; return where it came from (None: nothing).

    When ``target`` is missing and ``.old-<name>-*`` folders beside it hold a report
    (a ``manifest.json``), the newest good one — or, if none is good, the newest — is renamed
    back to ``target``. Call it holding the month's lock (:func:`month_lock`).
    """
    if target.exists():
        return None
    moved = [p for p in _siblings(target, ".old-") if (p / "manifest.json").is_file()]
    if not moved:
        return None
    best = max(moved, key=lambda p: (is_good_report(p), p.stat().st_mtime))
    best.rename(target)
    return best


def clean_stale(target: Path) -> list[Path]:
    """Delete the ``.tmp-<name>-*`` and ``.old-<name>-*`` folders beside ``target``; return them.

    They are left by runs that were killed before they finished: a run holding the month's
    lock (:func:`month_lock`) knows every other run of the month has ended.
    """
    stale = _siblings(target, ".tmp-") + _siblings(target, ".old-")
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


@contextmanager
def month_lock(target: Path, *, wait: float = LOCK_WAIT) -> Iterator[Path]:
    """Hold ``.csm-kit-<name>.lock`` beside ``target`` while a run stages and publishes it.

    A second run of the same month waits up to ``wait`` seconds for the first to finish, then
    stops with a :class:`ReportError`; runs of other months do not wait. The lock is the
    operating system's (``flock``), so a killed run releases it. Yields the lock file's path.
    """
    from filelock import FileLock, Timeout

    path = target.with_name(f".csm-kit-{target.name}.lock")
    lock = FileLock(str(path), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise ReportError(
            f"another csm-kit report run is writing {target} (it holds {path}); waited "
            f"{wait:g} s. Let it finish and run again, or choose another --out folder"
        ) from None
    try:
        yield path
    finally:
        lock.release()


def _siblings(target: Path, prefix: str) -> list[Path]:
    """The folders beside ``target`` named ``<prefix><target name>-<8 hex digits>``."""
    start = f"{prefix}{target.name}-"
    if not target.parent.is_dir():
        return []
    return sorted(
        p for p in target.parent.iterdir()
        if p.name.startswith(start) and len(p.name) == len(start) + 8 and p.is_dir()
        and not p.is_symlink()
    )


# --------------------------------------------------------------------------- atomic swap

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step; False when the system cannot (then nothing happened).

    Hand-written with ctypes: Python's ``os`` module has no ``renameat2``, and no well-kept
    library wraps it. Linux only (glibc >= 2.28 or musl); ``ENOSYS`` (old kernel), ``EINVAL``
    (a file system without exchange) and a C library without the function all mean "cannot".
    """
    function = _renameat2()
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function
