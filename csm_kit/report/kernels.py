"""The kernels a report run executes its notebooks in: one per worker, reused while it is healthy.

Starting a kernel and importing the kit, pandas and matplotlib in it costs about 1.5 s of CPU
per notebook, and every kernel computes again what another notebook's first calls already
paid for (lazy imports, the engine's small-result cache). So each worker of
:func:`csm_kit.report.runner.run_reports` keeps one kernel (:class:`KernelSlot`) and runs its
notebooks in it one after another, resetting the kernel in between (:data:`RESET`) so each
notebook starts as it would in a fresh kernel:

- the user namespace is emptied and the execution count starts again at 1, so a notebook
  cannot use a variable another one left behind, and its cells are numbered as in JupyterLab;
- open figures are closed, the working folder is the notebook's own, and Python's "show a
  warning once per place" memory is forgotten, so a warning an earlier notebook triggered is
  shown again when this one triggers it;
- imported modules stay imported: that is the point.

A notebook that fails (an error, a timeout, a dead kernel) gives up its kernel: it is shut
down, and the worker's next notebook starts a new one, so a stuck cell or a broken state never
reaches another report. So does a kernel that has grown past :data:`REUSE_MAX_RSS` (large
datasets: the memory a big notebook leaves behind is given back to the machine instead of
being carried into the next one, where start-up costs matter little anyway).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

#: Run (silently, between two notebooks) in a kernel that is reused. ``filterwarnings(...,
#: append=True)`` adds the rule Python applies anyway when no filter matches; adding any rule
#: makes Python forget which warnings it has shown.
RESET = """\
get_ipython().reset(new_session=True)
import os as _os, sys as _sys, warnings as _warnings
_os.chdir({folder!r})
_warnings.filterwarnings("default", append=True)
_warnings.onceregistry.clear()
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
del _os, _sys, _warnings
"""
#: Seconds the reset may take before the kernel is replaced instead.
RESET_TIMEOUT = 60
#: A kernel using more memory than this (resident bytes) after a notebook is replaced, not reused.
REUSE_MAX_RSS = 1 << 30


class ReportKernelManager(AsyncKernelManager):
    """Starts each report kernel without ``MPLBACKEND`` in its environment.

    ``MPLBACKEND=Agg`` (common in CI and cron) silently drops every inline figure from a
    papermill-executed notebook; without it ipykernel uses its inline backend. Transport
    encryption is switched to "auto" (CurveZMQ when the kernelspec supports it), which also
    silences jupyter_client's "running over TCP without encryption" warning. jupyter_client
    interrupts every kernel before shutting it down; a report kernel has finished its notebook
    by then, and the interrupt only made ipykernel log a "KeyboardInterrupt caught in kernel"
    ERROR line after a perfectly good report — so it is skipped during shutdown (a kernel
    that does not exit is still killed by jupyter_client's usual shutdown path).
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

    async def start_kernel(self, **kw: Any) -> None:
        env = dict(kw.pop("env", None) or os.environ)
        env.pop("MPLBACKEND", None)
        if self.has_trait("transport_encryption"):
            kw.setdefault("transport_encryption", "auto")
        await super().start_kernel(env=env, **kw)


class KernelSlot:
    """One worker's kernel: handed to each of its notebooks in turn, reset in between.

    Use it in the worker's own thread only (the kernel's sockets belong to that thread's
    event loop) and close it there: ``with KernelSlot("python3") as slot: ...``.
    """

    def __init__(self, kernel_name: str):
        self.kernel_name = kernel_name
        self._manager: ReportKernelManager | None = None

    def __enter__(self) -> KernelSlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def manager_for(self, notebook: Path) -> ReportKernelManager:
        """The kernel manager to run ``notebook`` with: the slot's kernel reset for it, or a new
        manager (papermill starts its kernel in the notebook's folder)."""
        if self._manager is not None and (_resident_bytes(self._manager) > REUSE_MAX_RSS
                                          or not self._reset(notebook.parent)):
            self.discard()
        if self._manager is None:
            self._manager = ReportKernelManager(kernel_name=self.kernel_name)
        return self._manager

    def discard(self) -> None:
        """Shut the slot's kernel down (after a failed notebook, or at the end of the run)."""
        manager, self._manager = self._manager, None
        if manager is None or not manager.has_kernel:
            return
        try:
            run_sync(manager.shutdown_kernel)(now=True)
        except Exception:  # already dead or gone: nothing left to stop
            pass

    def _reset(self, folder: Path) -> bool:
        """Reset the kernel for the next notebook; False when it is dead or does not answer."""
        manager = self._manager
        if manager is None or not manager.has_kernel or not run_sync(manager.is_alive)():
            return False
        client = manager.client()
        try:
            client.start_channels()
            reply = run_sync(client.execute_interactive)(
                RESET.format(folder=str(folder)), silent=True, store_history=False,
                timeout=RESET_TIMEOUT)
            return reply["content"]["status"] == "ok"
        except Exception:  # a timeout, a dead kernel: start afresh instead
            return False
        finally:
            client.stop_channels()


def _resident_bytes(manager: ReportKernelManager) -> int:
    """The kernel process's resident memory (0 when it cannot be read: no limit applies)."""
    pid = getattr(manager.provisioner, "pid", None)
    try:
        import psutil  # installed with IPython; imported here, as only a reused kernel needs it

        return psutil.Process(pid).memory_info().rss if pid else 0
    except Exception:  # no psutil, or the process is gone (then the reset finds it dead)
        return 0
