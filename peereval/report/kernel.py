"""The notebook kernel: started early so its start-up overlaps the load, then run by papermill.

A report spends a few seconds starting a Python kernel and importing pandas, statsmodels,
matplotlib and peereval inside it. None of that depends on the data, so :class:`Kernel` starts
the kernel and runs those imports while the runner loads and estimates (the machine has a second
core for it); papermill then executes the notebook on the ready kernel. The warm-up only imports
modules: it binds no name in the notebook's namespace and is not counted in its history, so the
executed notebook is the same as on a cold kernel.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
from pathlib import Path
from typing import Any

KERNEL = "python3"
CELL_TIMEOUT_S = 900
# what every report notebook imports first; a comprehension binds no name in the user namespace
WARM_UP = '[__import__(m) for m in ("peereval.report", "matplotlib.pyplot", "seaborn")]'


class NotebookFailed(Exception):
    """A cell raised; ``exec_count``, ``ename``, ``evalue`` as papermill reports them."""

    def __init__(self, exec_count: int | None, ename: str, evalue: str) -> None:
        super().__init__(f"cell {exec_count}: {ename}: {evalue}")
        self.exec_count, self.ename, self.evalue = exec_count, ename, evalue


@contextlib.contextmanager
def _kernel_backend(name: str = "Agg"):
    """``MPLBACKEND`` for the kernel being started (it inherits this environment), restored after."""
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = before


class Kernel:
    """A python3 kernel in ``cwd`` that talks over IPC sockets in a private temporary folder.

    Use as a context manager: the kernel is shut down and its folder removed whatever happens.
    ``warm=True`` runs :data:`WARM_UP` in the background as soon as the kernel is up.
    """

    def __init__(self, cwd: Path, *, warm: bool = False) -> None:
        self.cwd = cwd
        self.warm = warm
        self.km: Any = None
        self._sockets: tempfile.TemporaryDirectory | None = None
        self._warming: threading.Thread | None = None
        self._closing = threading.Event()

    def __enter__(self) -> Kernel:
        from jupyter_client import KernelManager

        self._sockets = tempfile.TemporaryDirectory(prefix="peereval-kernel-")
        self.km = KernelManager(kernel_name=KERNEL, transport="ipc", ip=str(Path(self._sockets.name) / "kernel"))
        try:
            with _kernel_backend():
                self.km.start_kernel(cwd=str(self.cwd))
            if self.warm:
                self._warming = threading.Thread(target=self._warm_up, name="peereval-kernel-warm-up", daemon=True)
                self._warming.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _warm_up(self) -> None:
        kc = self.km.client()
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=120)
            msg_id = kc.execute(WARM_UP, silent=True, store_history=False)
            while not self._closing.is_set():  # wait for the reply: the first cell then finds the modules loaded
                try:
                    reply = kc.get_shell_msg(timeout=0.5)
                except queue.Empty:
                    if not self.km.is_alive():
                        return
                    continue
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return
        except Exception:  # noqa: BLE001 - best effort: the notebook's own first cell imports the same modules
            return
        finally:
            kc.stop_channels()

    def run(self, source: Path, target: Path, parameters: dict[str, Any]) -> None:
        """Execute ``source`` into ``target`` with papermill on this kernel; NotebookFailed if a cell raised."""
        import papermill as pm

        if self._warming is not None:
            self._warming.join()
        try:
            pm.execute_notebook(
                str(source), str(target), parameters=parameters, kernel_name=KERNEL, km=self.km,
                execution_timeout=CELL_TIMEOUT_S, progress_bar=False, cwd=str(self.cwd), log_output=False,
            )
        except pm.PapermillExecutionError as exc:
            raise NotebookFailed(exc.exec_count, exc.ename, exc.evalue) from None

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        try:
            if self.km is not None and self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        finally:
            if self._warming is not None:
                self._warming.join(timeout=5)
            if self._sockets is not None:
                self._sockets.cleanup()
