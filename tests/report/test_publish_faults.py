"""Publishing under faults: a run killed at any point, runs at the same time, a full disk.

Each run is a real ``run_reports`` call whose notebook execution is replaced by writing one
page holding a marker (no kernels: the folder rules are what is tested here). A run is killed
with SIGKILL in a forked child at an injected point; the test then looks at the month's path
and lets the next run (a failed one) start after it.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from csm_kit.errors import ReportError
from csm_kit.report import publish as publishing
from csm_kit.report import runner
from csm_kit.report.publish import clean_stale, month_lock, publish, recover
from csm_kit.report.results import NotebookResult
from csm_kit.report.runner import run_reports

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (Linux, macOS)")

AS_OF = "2024-01-31"
CAN_SWAP = publishing._renameat2() is not None


@pytest.fixture
def notebook(tmp_path) -> Path:
    cell = nbformat.v4.new_code_cell("marker = ''  # what the fake run writes\nok = True\npause = 0.0")
    cell.metadata["tags"] = ["parameters"]
    path = tmp_path / "01_page.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


def _fake_execute_all(notebooks, staging, *, parameters, **options):
    """Write one page holding the marker instead of running a kernel."""
    time.sleep(parameters.get("pause", 0))
    page = staging / "01_page.html"
    page.write_text(parameters["marker"], encoding="utf-8")
    status = "ok" if parameters["ok"] else "failed"
    return [NotebookResult(name="01_page", status=status, error=None if parameters["ok"] else "x",
                           seconds=0.0, html=page, ipynb=None, started="", finished="")]


def _run(out: Path, notebook: Path, marker: str, *, ok: bool = True, **kwargs):
    return run_reports([notebook], out_dir=out, as_of=AS_OF, progress=False,
                       parameters={"marker": marker, "ok": ok}, **kwargs)


def _kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def _killed_run(out: Path, notebook: Path, inject) -> None:
    """Run a good report ("new") in a forked child that ``inject`` arranges to be killed."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(runner, "_execute_all", _fake_execute_all)
                inject(mp)
                _run(out, notebook, "new")
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status


def _page(folder: Path) -> str:
    return (folder / "01_page.html").read_text(encoding="utf-8")


def _names(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.endswith(".lock"))


def _kill_at_rename(number: int, *, after: bool):
    """Kill the process at the ``number``-th Path.rename (before or after it happens)."""
    real, calls = Path.rename, []

    def rename(self, target):
        calls.append(self)
        if len(calls) == number and not after:
            _kill()
        moved = real(self, target)
        if len(calls) == number:
            _kill()
        return moved

    return rename


def _between_the_renames(mp):
    mp.setattr(publishing, "_exchange", lambda a, b: False)
    mp.setattr(Path, "rename", _kill_at_rename(2, after=False))


def _after_both_renames(mp):
    mp.setattr(publishing, "_exchange", lambda a, b: False)
    mp.setattr(Path, "rename", _kill_at_rename(2, after=True))


def _after_the_swap(mp):
    real = publishing._exchange
    mp.setattr(publishing, "_exchange", lambda a, b: real(a, b) and _kill())


def _once_staged(mp):
    mp.setattr(runner, "publish", _kill)


# (injected point, what the month's path holds after the kill, leftovers beside it)
KILLS = [
    pytest.param(_once_staged, "previous", [".tmp-"], id="staged-not-published"),
    pytest.param(_between_the_renames, None, [".old-", ".tmp-"], id="between-the-renames"),
    pytest.param(_after_both_renames, "new", [".old-"], id="after-the-renames-before-delete"),
    pytest.param(_after_the_swap, "new", [".tmp-"], id="after-the-swap-before-delete",
                 marks=pytest.mark.skipif(not CAN_SWAP, reason="no renameat2 here")),
]


@pytest.mark.parametrize(("inject", "left_at_path", "leftovers"), KILLS)
def test_a_killed_run_never_costs_the_month_its_good_report(
    tmp_path, notebook, monkeypatch, inject, left_at_path, leftovers
):
    monkeypatch.setattr(runner, "_execute_all", _fake_execute_all)
    out = tmp_path / "reports"
    _run(out, notebook, "previous")
    _killed_run(out, notebook, inject)
    month = out / AS_OF
    # the kill itself: the path holds a whole report, except between the two renames
    assert (_page(month) if month.exists() else None) == left_at_path
    assert [name[:5] for name in _names(out) if name != AS_OF] == leftovers
    # the next run fails: it must not replace what the month had (put back if moved aside)
    failed = _run(out, notebook, "next", ok=False)
    assert _page(month) == (left_at_path or "previous")
    assert failed.kept_previous and _page(failed.folder) == "next"
    assert _names(out) == [AS_OF, failed.folder.name]  # no .tmp-* or .old-* left


def test_a_run_killed_between_the_renames_is_put_back_before_a_good_run_replaces_it(
    tmp_path, notebook, monkeypatch
):
    monkeypatch.setattr(runner, "_execute_all", _fake_execute_all)
    out = tmp_path / "reports"
    _run(out, notebook, "previous")
    _killed_run(out, notebook, _between_the_renames)
    run = _run(out, notebook, "after")
    assert run.ok and _page(out / AS_OF) == "after" and _names(out) == [AS_OF]


def test_recover_prefers_a_good_report_moved_aside_and_clean_stale_removes_the_rest(tmp_path):
    target = tmp_path / AS_OF
    for name, ok in ((".old-2024-01-31-aaaaaaaa", True), (".old-2024-01-31-bbbbbbbb", False)):
        (tmp_path / name).mkdir()
        manifest = {"ok": ok, "notebooks": [{"status": "ok" if ok else "failed"}]}
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / ".tmp-2024-01-31-cccccccc").mkdir()
    (tmp_path / ".tmp-2024-02-29-dddddddd").mkdir()  # another month's run: not ours to touch
    (tmp_path / ".tmp-2024-01-31-mine").mkdir()  # not a name csm-kit makes
    assert recover(target) == tmp_path / ".old-2024-01-31-aaaaaaaa"
    assert json.loads((target / "manifest.json").read_text())["ok"] is True
    assert recover(target) is None  # the month's path is there: nothing to put back
    assert [p.name for p in clean_stale(target)] == [".tmp-2024-01-31-cccccccc",
                                                      ".old-2024-01-31-bbbbbbbb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".tmp-2024-01-31-mine", ".tmp-2024-02-29-dddddddd", AS_OF]


# --------------------------------------------------------------------------- the swap


@pytest.mark.skipif(not CAN_SWAP, reason="no renameat2 here")
def test_publishing_swaps_the_folders_in_one_step_where_the_system_can(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "old").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "new").write_text("")
    assert publishing._exchange(tmp_path / "b", tmp_path / "a")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["new"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["old"]
    # and publish uses it: no .old-* folder is ever made
    monkeypatch.setattr(Path, "rename", lambda *a: pytest.fail("renamed instead of swapped"))
    publish(tmp_path / "b", tmp_path / "a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["old"]


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EINVAL])
def test_without_the_swap_publishing_falls_back_to_two_renames(tmp_path, monkeypatch, code):
    def unsupported(*args):
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(publishing, "_renameat2", lambda: unsupported)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "old").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "new").write_text("")
    publish(tmp_path / "b", tmp_path / "a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["new"]


# --------------------------------------------------------------------------- the lock


def test_two_runs_of_one_month_at_once_queue_and_leave_one_good_report(tmp_path, notebook):
    out = tmp_path / "reports"
    children = []
    for marker in ("first", "second"):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(runner, "_execute_all", _fake_execute_all)
                    run = run_reports([notebook], out_dir=out, as_of=AS_OF, progress=False,
                                      parameters={"marker": marker, "ok": True, "pause": 0.5})
                    code = 0 if run.ok else 1
            finally:
                os._exit(code)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    assert [os.waitstatus_to_exitcode(s) for s in statuses] == [0, 0]
    assert _names(out) == [AS_OF]  # no .old-* or .tmp-* left by either
    assert _page(out / AS_OF) in ("first", "second")
    assert publishing.is_good_report(out / AS_OF)


def test_a_run_waits_for_the_lock_then_stops_with_a_clear_error(tmp_path, notebook, monkeypatch):
    monkeypatch.setattr(runner, "_execute_all", _fake_execute_all)
    out = tmp_path / "reports"
    out.mkdir()
    with month_lock(out / AS_OF):
        t0 = time.monotonic()
        with pytest.raises(ReportError, match=r"another csm-kit report run is writing .*"
                                              r"2024-01-31 .*waited 0.3 s"):
            _run(out, notebook, "late", lock_wait=0.3)
        assert time.monotonic() - t0 >= 0.3
    assert _names(out) == []  # nothing staged
    _run(out, notebook, "now")  # released: the next run goes ahead
    assert _page(out / AS_OF) == "now"


# --------------------------------------------------------------------------- a full disk


def test_a_full_disk_is_a_clear_error_and_publishes_nothing(tmp_path, notebook, monkeypatch):
    monkeypatch.setattr(runner, "_execute_all", _fake_execute_all)
    out = tmp_path / "reports"
    _run(out, notebook, "previous")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "index.html")

    monkeypatch.setattr(runner, "write_run_summary", disk_full)
    with pytest.raises(ReportError, match=r"could not write the report .*No space left on "
                                          r"device \(index.html\); free some disk space"):
        _run(out, notebook, "half")
    assert _page(out / AS_OF) == "previous" and _names(out) == [AS_OF]


def test_a_missing_output_folder_is_created_by_the_run(tmp_path, notebook, monkeypatch):
    monkeypatch.setattr(runner, "_execute_all", _fake_execute_all)
    out = tmp_path / "new" / "nested" / "reports"
    run = _run(out, notebook, "fresh")
    assert run.folder == out / AS_OF and _page(run.folder) == "fresh"


@pytest.mark.parametrize("text", ["[1, 2]", '{"ok": true, "notebooks": "all"}',
                                  '{"ok": true, "notebooks": [1]}'])
def test_a_manifest_csm_kit_did_not_write_is_not_a_good_report(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)
    assert not publishing.is_good_report(tmp_path)
