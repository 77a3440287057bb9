"""Run a notebook's code cells one by one in a Jupyter kernel, surviving what learners' code does.

Every cell gets a timeout. A cell that times out is interrupted; if the kernel then stops
answering (code that swallows KeyboardInterrupt) or dies (``os._exit``, a crash), a fresh kernel
is started and the cells that had succeeded so far are replayed, so later cells still run and
earlier work still counts. Each cell's fate is recorded in a :class:`CellRun`.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

TIMEOUT_ENAME = "CellTimeout"


@dataclass
class CellRun:
    status: str  # "ok", "error", "timeout", "died", "skipped"
    ename: str = ""
    evalue: str = ""


def _error_of(cell):
    """(ename, evalue) of the cell's error output, a timeout taking precedence; None if none."""
    errors = [(o.get("ename", ""), o.get("evalue", "")) for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    for ename, evalue in errors:
        if ename in (TIMEOUT_ENAME, "KeyboardInterrupt"):  # our interrupt after the timeout
            return TIMEOUT_ENAME, evalue if ename == TIMEOUT_ENAME else ""
    return errors[0] if errors else None


MAX_OUTPUT_CHARS = 200_000  # per cell: a runaway print loop must not fill memory or the notebook
MAX_OUTPUT_ITEMS = 50  # rich outputs (figures, HTML) per cell
MAX_RICH_CHARS = 5_000_000  # size of one rich output (a base64 PNG of a large figure is ~100 kB)


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel inside the sandbox; it talks to the grader over Unix sockets (no network)."""

    sandbox = None  # an autograder.sandbox.Sandbox
    scratch = None  # its scratch folder (work/ and ipc/)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.update(cwd=str(self.scratch), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL, preexec_fn=self.sandbox.limits())
        return await super()._async_launch_kernel(self.sandbox.command(kernel_cmd, self.scratch), **kw)


class CappedClient(NotebookClient):
    """A NotebookClient that caps each cell's output, and can start its kernel in a sandbox."""

    sandbox = None
    scratch = None

    def create_kernel_manager(self):
        if self.sandbox is None:
            return super().create_kernel_manager()
        km = SandboxKernelManager(kernel_name=self.kernel_name, config=self.config)
        km.sandbox, km.scratch = self.sandbox, self.scratch
        km.transport = "ipc"
        name = uuid.uuid4().hex[:8]
        km.connection_file = str(self.scratch / "ipc" / f"kernel-{name}.json")
        km.ip = str(self.scratch / "ipc" / name)
        self.km = km
        return km

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] in ("display_data", "execute_result", "update_display_data"):
            data = msg["content"].get("data", {})
            if len(outs) >= MAX_OUTPUT_ITEMS or sum(len(str(v)) for v in data.values()) > MAX_RICH_CHARS:
                return None
        if msg["msg_type"] == "stream":
            used = sum(len(o.get("text", "")) for o in outs if o.get("output_type") == "stream")
            if used >= MAX_OUTPUT_CHARS:
                return None
            text = msg["content"].get("text", "")
            if used + len(text) > MAX_OUTPUT_CHARS:
                msg = {**msg, "content": {**msg["content"], "text": text[: MAX_OUTPUT_CHARS - used]
                                          + "\n[output truncated by the autograder]\n"}}
        return super().output(outs, msg, display_id, cell_index)


def add_error(cell, ename, evalue):
    """Record a failure in the cell's outputs (nbgrader scores a cell by its error outputs)."""
    if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        cell.setdefault("outputs", []).append(nbformat.v4.new_output(
            "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))


class Runner:
    """Execute ``nb`` (a NotebookNode, changed in place: outputs are stored) cell by cell."""

    def __init__(self, nb, cwd, timeout=60, budget=600, kernel_name="python3", on_cell=None, sandbox=None,
                 env=None):
        self.nb = nb
        self.env = env  # variables added to the kernel's environment (a sandbox sets its own)
        self.timeout = timeout
        self.deadline = time.monotonic() + budget
        self.on_cell = on_cell or (lambda index, run: None)
        self.client = CappedClient(
            nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
            interrupt_on_timeout=True, resources={"metadata": {"path": str(cwd)}},
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": f"did not finish within {timeout} s",
                              "traceback": []},
            record_timing=False, on_cell_executed=self._record_reply, shutdown_kernel="immediate",
        )
        self.sandbox = sandbox
        if sandbox is not None:  # the kernel works in a scratch copy of the notebook's folder
            from autograder.sandbox import Sandbox

            assert isinstance(sandbox, Sandbox)
            sandbox.hold(self)
            self.client.sandbox, self.client.scratch = sandbox, sandbox.scratch(cwd)
        self.reply = {}
        self.succeeded = []  # indices of cells to replay after a restart

    def _record_reply(self, cell=None, cell_index=None, execute_reply=None, **_):
        self.reply = (execute_reply or {}).get("content", {})

    def _start(self):
        self.client.km = self.client.create_kernel_manager()
        # the kernel's own log lines are noise here, and nothing may hold the grader's stdout
        extra = {"env": {**os.environ, **self.env}} if self.env else {}
        self.client.start_new_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **extra)
        self.client.start_new_kernel_client()

    def _stop(self):
        try:
            self.client._cleanup_kernel()
        except Exception:  # noqa: BLE001 - a dead kernel may fail to clean up; nothing to save
            pass

    def _responsive(self) -> bool:
        probe = nbformat.v4.new_code_cell("pass")
        saved, self.client.timeout = self.client.timeout, 2
        self.reply = {}
        try:
            self.client.execute_cell(probe, 0, store_history=False)
            return _error_of(probe) is None and self.reply.get("status") == "ok"
        except (CellTimeoutError, DeadKernelError, RuntimeError):
            return False
        finally:
            self.client.timeout = saved

    def _restart(self):
        self._stop()
        self._start()
        for index in self.succeeded:
            cell = nbformat.from_dict(dict(self.nb.cells[index]))
            try:
                self.client.execute_cell(cell, index)
            except (CellTimeoutError, DeadKernelError):
                break

    def _run_one(self, index) -> CellRun:
        cell = self.nb.cells[index]
        self.reply = {}
        try:
            self.client.execute_cell(cell, index)
        except DeadKernelError:
            self._restart()
            return CellRun("died", "DeadKernel", "the kernel died while running this cell")
        except (ValueError, RuntimeError, OSError) as exc:  # e.g. a message that fails its signature check
            self._restart()
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
            return CellRun("died", "DeadKernel", f"the kernel broke its connection while running this cell ({first})")
        except CellTimeoutError:
            self._restart()
            return CellRun("timeout", TIMEOUT_ENAME, f"did not finish within {self.timeout} s")
        error = _error_of(cell)
        if self.reply.get("ename") == TIMEOUT_ENAME:  # the kernel never answered: no error output
            error = (TIMEOUT_ENAME, "")
        if error is None:
            self.succeeded.append(index)
            return CellRun("ok")
        ename, evalue = error
        if ename == TIMEOUT_ENAME:
            if not self._responsive():
                self._restart()
            return CellRun("timeout", ename, f"did not finish within {self.timeout} s")
        if not self._responsive():
            self._restart()
            return CellRun("died", "DeadKernel", "the kernel stopped answering after this cell")
        return CellRun("error", ename, evalue)

    def run(self) -> dict[int, CellRun]:
        runs = {}
        self._start()
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if time.monotonic() > self.deadline:
                    runs[index] = CellRun("skipped", "OutOfTime", "not run: the notebook ran out of time")
                else:
                    runs[index] = self._run_one(index)
                if runs[index].status in ("timeout", "died", "skipped"):
                    add_error(cell, runs[index].ename, runs[index].evalue)
                self.on_cell(index, runs[index])
        finally:
            self._stop()
            if self.sandbox is not None:
                from autograder.sandbox import remove_scratch

                remove_scratch(self.client.scratch)
                self.sandbox.close(self)
        return runs
