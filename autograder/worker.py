"""The worker: runs a learner's notebook as their kernel did and calls their functions for the grader.

It runs in a sandbox as ``python -I -c SOURCE`` where SOURCE is :mod:`autograder.wire` followed by
this file (see :func:`source`), so the process imports nothing of the grader: no reference, no
hidden case, no planted bug is in its ``sys.modules`` or on its disk. The grader sends the code as
text and every input as plain data over the worker's stdin; results go back over a private copy
of stdout. The learner's own prints go nowhere (fds 1 and 2 are ``/dev/null``).

Requests: ``load`` (the notebook's code cells in order, graded test cells excepted, run once in an
IPython shell, so ``!cmd``, ``x = !cmd``, ``%magic`` and ``%%cellmagic`` mean what they meant in the
kernel; a cell that raises is recorded and the next one still runs; the working folder, holding the
files the learner handed in with the notebook, is importable), ``bind`` (names that become grader
callbacks: the course's version of an earlier exercise's function, bound only in a worker that grades
a later exercise), ``call`` (a function by name on plain arguments). Replies: ``ready``, ``result``
(the return value and the arguments after the call, since an exercise may check that inputs were
left unchanged), ``error`` (exception name and first line), and, during a call, ``callback``
requests for the grader's own functions.
"""

import os  # noqa: I001 - this file is sent to the sandbox after wire.py's source
import signal
import sys

from autograder.wire import WireError, pack, read_frame, unpack, write_frame  # wire-import

_IN, _OUT = 0, 1
_objects = {}


def _keep(value):
    """Encode a value that is not plain data as a handle the worker keeps."""
    if callable(value) and not isinstance(value, type):
        name = getattr(value, "__name__", type(value).__name__)
    else:
        name = type(value).__name__
    _objects[len(_objects) + 1] = value
    return {"__handle__": len(_objects), "kind": name}


def _send(message):
    write_frame(_OUT, pack(message, _keep))


def _receive():
    header, body = read_frame(_IN)
    return unpack(header, body, _resolve)


def _resolve(tag, payload):
    if tag == "__handle__":
        return _objects[int(payload["__handle__"])]
    return _Callback(int(payload["__callback__"]), payload.get("name", "f"))


class _Callback:
    """A grader's function: calling it asks the grader to evaluate it on plain data."""

    def __init__(self, ident, name):
        self.ident, self.__name__ = ident, name

    def __call__(self, *args, **kwargs):
        _send({"op": "callback", "id": self.ident, "args": list(args), "kwargs": kwargs})
        reply = _receive()
        if reply.get("op") == "raise":
            raise ValueError(reply.get("evalue", ""))
        return reply.get("value")


def _first_line(exc):
    text = str(exc).strip()
    return (text.splitlines() or [""])[0][:300]


class CellTimeout(BaseException):  # noqa: N818 - not an Exception: a learner's `except Exception` goes on
    """A cell ran past its time while the notebook was loaded."""


def _alarm(signum, frame):
    raise CellTimeout("the cell did not finish in time")


def _shell(namespace):
    """An IPython shell over ``namespace`` (no history file, no display): it runs cells as a kernel does."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell.instance(user_ns=namespace, config=config)


def _run_cell(shell, source, cell_timeout):
    """Run one cell; the error it raised as one line ("" when none)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, cell_timeout, 1.0)  # repeats: a cell that catches it once goes on
    try:
        result = shell.run_cell(source, store_history=False)
    except BaseException as exc:  # noqa: BLE001 - recorded; the next cell still runs
        return f"{type(exc).__name__}: {_first_line(exc)}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    exc = result.error_before_exec or result.error_in_exec
    if exc is None:
        return ""
    if isinstance(exc, CellTimeout):
        return f"did not finish within {cell_timeout:g} s"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _load(shell, request):
    """Run the notebook's cells; report the errors by cell (setup, an answer's grade id, or 'cell N')."""
    cells = list(request.get("cells", []))
    cells = [("setup", s) for s in request.get("setup", [])] + [(g, s) for g, s in request.get("answers", [])] + cells
    cell_timeout = float(request.get("cell_timeout", 60))
    setup_error, answer_errors, cell_errors = "", {}, []
    for tag, source in cells:
        error = _run_cell(shell, source, cell_timeout)
        if not error:
            continue
        if tag == "setup":
            setup_error = setup_error or error
        elif tag.startswith("cell "):
            cell_errors.append([tag, error])
        else:
            answer_errors[tag] = error
    return {"op": "ready", "setup_error": setup_error, "answer_errors": answer_errors, "cell_errors": cell_errors}


def main():
    global _IN, _OUT
    _IN, _OUT = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - for the life of the process
    sys.path.insert(0, os.getcwd())  # modules the learner handed in next to the notebook (-I left it out)
    namespace = {"__name__": "__main__"}
    shell = None
    while True:
        try:
            request = _receive()
        except (WireError, OSError):
            return
        op = request.get("op")
        if op == "load":
            shell = shell or _shell(namespace)
            _send(_load(shell, request))
        elif op == "bind":
            namespace.update(dict(request.get("functions", {})))
            _send({"op": "ready"})
        elif op == "call":
            name = request.get("name", "")
            target = namespace.get(name)
            if not callable(target):
                _send({"op": "error", "ename": "NameError", "evalue": f"{name} is not defined"})
                continue
            args, kwargs = list(request.get("args", [])), dict(request.get("kwargs", {}))
            try:
                value = target(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported to the grader as text
                _send({"op": "error", "ename": type(exc).__name__, "evalue": _first_line(exc)})
                continue
            _send({"op": "result", "value": value, "args": args, "kwargs": kwargs})
        else:
            return


def source():
    """The text the sandbox runs: wire.py, then this file without its import of wire."""
    from pathlib import Path

    here = Path(__file__).parent
    body = [line for line in (here / "worker.py").read_text().splitlines() if not line.endswith("# wire-import")]
    return (here / "wire.py").read_text() + "\n\n" + "\n".join(body) + "\n\nmain()\n"
