"""The command line's limits: output paths, option bounds, corrupt notebooks, a full disk, timeouts.

Each is checked before any work: the tests pass a data folder that does not exist, so an
error about it (instead of the one expected) would show the check came too late.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from csm_kit.cli import app
from csm_kit.errors import ConfigError
from csm_kit.report.paths import check_output_file, check_output_folder

try:  # `metrics` imports polars when installed, which sets _RJEM_MALLOC_CONF (its allocator):
    import polars  # noqa: F401  # imported here, so the leak check does not blame a test
except ImportError:
    pass

runner = CliRunner()
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def nowhere(tmp_path) -> str:
    """A data folder that does not exist: loading it would be a different error."""
    return str(tmp_path / "no-data-here")


# --------------------------------------------------------------------------- output paths


def test_report_out_pointing_at_a_file_stops_before_any_work(tmp_path, nowhere):
    file = tmp_path / "reports.txt"
    file.write_text("mine")
    result = _invoke("report", "--data", nowhere, "--out", str(file))
    assert result.exit_code == 2
    assert "--out" in result.output and "is a file, not a folder" in result.output
    assert "Traceback" not in result.output and file.read_text() == "mine"


def test_report_out_under_a_file_is_refused(tmp_path, nowhere):
    (tmp_path / "file").write_text("")
    result = _invoke("report", "--data", nowhere, "--out", str(tmp_path / "file" / "reports"))
    assert result.exit_code == 2 and "which is a file, not a folder" in result.output


def test_a_missing_output_folder_is_fine_and_not_created_by_the_check(tmp_path):
    folder = tmp_path / "a" / "b" / "reports"
    assert check_output_folder(folder) == folder and not (tmp_path / "a").exists()
    assert check_output_file(folder / "metrics.csv") == folder / "metrics.csv"


@pytest.mark.skipif(AS_ROOT, reason="root may write in a read-only (0o555) folder")
def test_report_out_in_a_read_only_folder_is_refused(tmp_path, nowhere):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = _invoke("report", "--data", nowhere, "--out", str(locked / "reports"))
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2 and "cannot write in" in result.output
    assert list(locked.iterdir()) == []


def test_an_unwritable_place_is_refused_even_when_running_as_root(tmp_path, monkeypatch):
    # as root the permission bits do not stop writes; a read-only file system still would,
    # and os.access says so (EROFS): stand it in for one
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match=r"--out .*reports: cannot write in .* \(read-only or "
                                          "no permission\\)"):
        check_output_folder(tmp_path / "reports")
    (tmp_path / "m.csv").write_text("")
    with pytest.raises(ConfigError, match=r"--output .*m.csv cannot be written"):
        check_output_file(tmp_path / "m.csv")


def test_metrics_output_onto_a_folder_is_refused(tmp_path, nowhere):
    result = _invoke("metrics", "--data", nowhere, "--output", str(tmp_path))
    assert result.exit_code == 2 and "--output" in result.output and "is a folder" in result.output


def test_sample_out_onto_a_file_is_refused(tmp_path):
    file = tmp_path / "sample.csv"
    file.write_text("mine")
    result = _invoke("sample", "--out", str(file), "--customers", "5", "--months", "2")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    assert file.read_text() == "mine"


def test_metrics_output_in_a_missing_folder_is_created(tmp_path, good_folder):
    output = tmp_path / "new" / "folder" / "metrics.csv"
    result = _invoke("metrics", "--data", str(good_folder), "--output", str(output))
    assert result.exit_code == 0, result.output
    assert output.read_text().startswith("metric,period,group,value")


def test_a_full_disk_while_writing_metrics_is_a_clear_error(tmp_path, good_folder, monkeypatch):
    def disk_full(frame, path, *, file_format):
        Path(path).write_text("metric,per")  # half a file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("csm_kit.report.exports.write_table", disk_full)
    output = tmp_path / "metrics.csv"
    result = _invoke("metrics", "--data", str(good_folder), "--output", str(output))
    assert result.exit_code == 2, result.output
    assert f"could not write {output}: No space left on device" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [good_folder]  # no half-written file, no temporary one


# --------------------------------------------------------------------------- notebooks


def _notebooks_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), folder / "00_fine.ipynb")
    for name, text in files.items():
        (folder / f"{name}.ipynb").write_text(text)
    return folder


@pytest.mark.parametrize(("text", "says"), [
    ('{"cells": [', "is not a Jupyter notebook"),  # cut off mid-file
    ('{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "is not a Jupyter notebook"),
    ('{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "is not a valid notebook"),
    ("\xff\xfe binary", "is not a Jupyter notebook"),
])
def test_a_corrupt_notebook_is_named_before_the_run(tmp_path, nowhere, text, says):
    folder = _notebooks_dir(tmp_path, **{"01_broken": text})
    result = _invoke("report", "--data", nowhere, "--notebooks-dir", str(folder),
                     "--out", str(tmp_path / "reports"))
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "01_broken.ipynb" in output and says in output and "00_fine" not in output
    assert "Traceback" not in result.output and not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------- option bounds


@pytest.mark.parametrize("args", [
    ["report", "--months", "100000"],
    ["report", "--months", "0"],
    ["report", "--jobs", "100000"],
    ["report", "--timeout", "0"],
    ["sample", "--out", "x", "--customers", "10000001"],
    ["sample", "--out", "x", "--months", "601"],
])
def test_option_bounds_are_checked_before_any_work(args, nowhere, tmp_path):
    data = ["--data", nowhere] if args[0] == "report" else []
    args = [str(tmp_path / "x") if a == "x" else a for a in args]
    result = _invoke(*args, *data)
    assert result.exit_code == 2
    assert f"Invalid value for '{args[-2]}'" in " ".join(result.output.split())
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("args", "given"), [
    (["report", "--as-of", "9999-12-31"], "9999-12-31"),
    (["metrics", "--as-of", "20224-01-31"], "20224-01-31"),
    (["validate", "--as-of", "1899-12-31"], "1899-12-31"),
    (["sample", "--out", "x", "--end", "2200-01-01"], "2200-01-01"),
])
def test_dates_outside_1900_to_2199_are_refused_up_front(args, given, nowhere, tmp_path):
    data = [] if args[0] == "sample" else ["--data", nowhere]
    result = _invoke(*[str(tmp_path / "x") if a == "x" else a for a in args], *data)
    assert result.exit_code == 2
    assert f"must be a date between 1900-01-01 and 2199-12-31, got '{given}'" in " ".join(
        result.output.split())


# --------------------------------------------------------------------------- timeouts


def _notebooks_taking_every_parameter(tmp_path: Path, code: str) -> Path:
    """One notebook taking every parameter ``csm-kit report`` passes, then running ``code``."""
    params = nbformat.v4.new_code_cell(
        "data = None\nmapping = None\nas_of = None\nmonths = 24\nsegment = None\n"
        "targets = None\ninclude_code = False\nprivacy = 'off'\nmin_group_size = 5\n"
        "timezone = 'UTC'\nsnapshot = None")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "01_stuck.ipynb")
    return folder


@pytest.mark.slow
def test_a_full_disk_during_a_report_is_exit_2_and_publishes_nothing(
    tmp_path, good_folder, monkeypatch
):
    def disk_full(folder, tables):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "action_list.csv"))

    monkeypatch.setattr("csm_kit.report.runner.write_exports", disk_full)
    out = tmp_path / "reports"
    result = _invoke("report", "--data", str(good_folder), "--as-of", "2024-03-31",
                     "--notebooks-dir", str(_notebooks_taking_every_parameter(tmp_path, "1")),
                     "--out", str(out))
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "No space left on device" in output and "action_list.csv" in output
    assert "Nothing was published" in output and "Traceback" not in output
    assert [p.name for p in out.iterdir() if p.suffix != ".lock"] == []  # no .tmp-* left


@pytest.mark.slow
def test_a_notebook_past_its_timeout_is_stopped_and_recorded_as_failed(tmp_path, good_folder):
    out = tmp_path / "reports"
    t0 = time.monotonic()
    result = _invoke("report", "--data", str(good_folder), "--as-of", "2024-03-31",
                     "--notebooks-dir",
                     str(_notebooks_taking_every_parameter(tmp_path, "import time\ntime.sleep(30)")),
                     "--out", str(out),
                     "--timeout", "2", "--jobs", "1")
    assert time.monotonic() - t0 < 25  # the cell sleeps 30 s
    assert result.exit_code == 1, result.output
    manifest = json.loads((out / "2024-03-31" / "manifest.json").read_text())
    [entry] = manifest["notebooks"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith("TimeoutError: the notebook ran longer than its 2 s limit")
    assert manifest["options"]["timeout"] == 2


def test_a_file_error_from_the_machine_is_exit_2_with_the_path_not_a_traceback(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "customers.csv"))

    monkeypatch.setattr("csm_kit.data.loading.load_dataset", refused)
    result = _invoke("validate", "--data", str(tmp_path))
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "Permission denied" in flat and "customers.csv" in flat and "permissions" in flat
    assert "Traceback" not in result.output


def test_a_bug_in_the_kit_keeps_its_traceback_and_asks_to_be_reported(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("csm_kit.data.loading.load_dataset", broken)
    result = _invoke("validate", "--data", str(tmp_path))
    assert result.exit_code == 1 and isinstance(result.exception, ZeroDivisionError)
    assert "a bug, not a problem with your data" in " ".join(result.output.split())
