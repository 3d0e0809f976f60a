"""A report worker runs its notebooks in one kernel, and each still starts as in a fresh kernel.

Real kernels, one run per module (``run``): with ``jobs=1`` the five notebooks share one
worker, so they run in this order in as few kernels as the rules allow. The notebooks print what
they see (the kernel's process id, leftover variables, the working folder, warnings) and the
tests read the executed notebooks.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nbformat
import pytest

from csm_kit.report.kernels import RESET, KernelSlot
from csm_kit.report.runner import run_reports
from tests.report.test_runner import _notebook

AS_OF = "2024-01-31"
# a module beside the notebooks that warns from one place: Python shows such a warning once
# per place and process unless it forgets the places it has shown
WARNING_MODULE = """import warnings


def shout():
    warnings.warn("the as-of month is incomplete", UserWarning, stacklevel=1)
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shared")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (folder / "shouting.py").write_text(WARNING_MODULE)
    paths = [
        _notebook(folder / "01_first.ipynb",
                  "import os\nleak = 1\nprint('pid', os.getpid())",
                  "import shouting\nshouting.shout()",
                  f"os.chdir({str(elsewhere)!r})\nimport matplotlib.pyplot as plt\nplt.figure()"),
        _notebook(folder / "02_second.ipynb",
                  "import os\nprint('pid', os.getpid())",
                  "print('leftover', 'leak' in dir(), 'cwd', os.getcwd())",
                  "import shouting, matplotlib.pyplot as plt\nshouting.shout()\n"
                  "print('figures', len(plt.get_fignums()))"),
        _notebook(folder / "03_broken.ipynb",
                  "import os\nprint('pid', os.getpid())", "raise ValueError('boom')"),
        _notebook(folder / "04_after.ipynb", "import os\nprint('pid', os.getpid())"),
        _notebook(folder / "05_last.ipynb", "import os\nprint('pid', os.getpid())"),
    ]
    result = run_reports(paths, out_dir=tmp_path_factory.mktemp("out"), as_of=AS_OF,
                         parameters={}, jobs=1, progress=False)
    return result, folder


def _outputs(result, name: str) -> list[list[str]]:
    """Each code cell's printed text and warnings (stdout and stderr streams), parameters
    cell excluded."""
    ipynb = next(r.ipynb for r in result.results if r.name == name)
    nb = nbformat.read(ipynb, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"
             and "parameters" not in c.metadata.get("tags", [])
             and "injected-parameters" not in c.metadata.get("tags", [])]
    return [[o.get("text", "") for o in c.outputs if o.output_type == "stream"] for c in cells]


def _pid(result, name: str) -> str:
    return _outputs(result, name)[0][0].split()[1]


def test_a_worker_runs_its_notebooks_in_one_kernel_until_one_fails(run):
    result, _ = run
    assert [r.status for r in result.results] == ["ok", "ok", "failed", "ok", "ok"]
    assert _pid(result, "01_first") == _pid(result, "02_second") == _pid(result, "03_broken")
    # the failed notebook gave its kernel up: the next one started a new kernel, kept after
    assert _pid(result, "04_after") != _pid(result, "03_broken")
    assert _pid(result, "04_after") == _pid(result, "05_last")


def test_a_reused_kernel_has_no_leftover_variables_figures_or_working_folder(run):
    result, folder = run
    second = _outputs(result, "02_second")
    assert second[1] == [f"leftover False cwd {folder}\n"]
    assert "figures 0\n" in second[2]


def test_a_warning_shown_in_one_notebook_is_shown_again_in_the_next(run):
    result, _ = run
    assert any("the as-of month is incomplete" in text for text in _outputs(result, "01_first")[1])
    assert any("the as-of month is incomplete" in text for text in _outputs(result, "02_second")[2])


def test_cells_are_numbered_from_one_in_every_notebook(run):
    result, _ = run
    for r in result.results:
        nb = nbformat.read(r.ipynb, as_version=4)
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"
                  and c.execution_count is not None]
        assert counts[0] == 1, r.name


def test_the_reset_is_plain_python_that_forgets_shown_warnings():
    # RESET outside a kernel, minus IPython's own reset: the warning shown before is shown
    # again after it (the rule it appends is the default Python applies anyway).
    code = RESET.split("\n", 1)[1].format(folder=str(Path.cwd()))

    def shout():
        warnings.warn("shown once per place", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        shout()
        shout()
        exec(code, {})
        shout()
    assert [str(w.message) for w in seen] == ["shown once per place"] * 2


def test_a_slot_whose_kernel_never_started_gives_a_new_manager(tmp_path):
    slot = KernelSlot("python3")
    first = slot.manager_for(tmp_path / "a.ipynb")
    assert not first.has_kernel
    assert slot.manager_for(tmp_path / "b.ipynb") is not first  # nothing to reset: replaced
    slot.discard()


def test_a_kernel_grown_past_the_memory_limit_is_replaced_not_reused(tmp_path, monkeypatch):
    # With the limit at 1 byte every kernel is over it after its notebook: the second notebook
    # gets a kernel of its own, as every notebook did before kernels were reused.
    from csm_kit.report import kernels

    monkeypatch.setattr(kernels, "REUSE_MAX_RSS", 1)
    paths = [_notebook(tmp_path / f"0{k}_n.ipynb", "import os\nprint('pid', os.getpid())")
             for k in (1, 2)]
    result = run_reports(paths, out_dir=tmp_path / "out", as_of=AS_OF, parameters={}, jobs=1,
                         progress=False)
    assert [r.status for r in result.results] == ["ok", "ok"]
    assert _pid(result, "01_n") != _pid(result, "02_n")


def test_a_page_that_cannot_be_written_in_a_worker_is_the_runs_error_not_a_lost_thread(
        tmp_path, monkeypatch):
    # a full disk while a worker writes a notebook's page: the run stops with the error that
    # names the fix (as when notebooks ran in a thread pool), nothing is published
    import errno
    import os

    from csm_kit.errors import ReportError
    from csm_kit.report import runner

    def full_disk(notebook, staging, **options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staging / "01_n.html"))

    monkeypatch.setattr(runner, "_execute_one", full_disk)
    path = _notebook(tmp_path / "01_n.ipynb", "print(1)")
    with pytest.raises(ReportError, match="free some disk space"):
        run_reports([path], out_dir=tmp_path / "out", as_of=AS_OF, parameters={}, jobs=1,
                    progress=False)
    assert not (tmp_path / "out" / AS_OF).exists()
