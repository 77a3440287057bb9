"""The worker: runs a learner's setup and answer cells and calls their functions for the grader.

It runs in a sandbox as ``python -I -c SOURCE`` where SOURCE is :mod:`autograder.wire` followed by
this file (see :func:`source`), so the process imports nothing of the grader: no reference, no
hidden case, no planted bug is in its ``sys.modules`` or on its disk. The grader sends the code as
text and every input as plain data over the worker's stdin; results go back over a private copy
of stdout. The learner's own prints go nowhere (fds 1 and 2 are ``/dev/null``).

Requests: ``load`` (setup sources and answer sources, run once), ``call`` (a function by name on
plain arguments). Replies: ``ready``, ``result`` (the return value and the arguments after the call,
since an exercise may check that inputs were left unchanged), ``error`` (exception name and first
line), and, during a call, ``callback`` requests for the grader's own test functions.
"""

import os  # noqa: I001 - this file is sent to the sandbox after wire.py's source
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

    def __call__(self, *args):
        _send({"op": "callback", "id": self.ident, "args": list(args)})
        reply = _receive()
        if reply.get("op") == "raise":
            raise ValueError(reply.get("evalue", ""))
        return reply.get("value")


def _first_line(exc):
    text = str(exc).strip()
    return (text.splitlines() or [""])[0][:300]


def _strip_magics(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def main():
    global _IN, _OUT
    _IN, _OUT = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - for the life of the process
    namespace = {"__name__": "__main__"}
    while True:
        try:
            request = _receive()
        except (WireError, OSError):
            return
        op = request.get("op")
        if op == "load":
            setup_error = ""
            for source in request.get("setup", []):
                try:
                    exec(compile(_strip_magics(source), "<setup>", "exec"), namespace)  # noqa: S102
                except BaseException as exc:  # noqa: BLE001 - reported: every exercise then says why
                    setup_error = setup_error or f"{type(exc).__name__}: {_first_line(exc)}"
            answer_errors = {}
            for gid, source in request.get("answers", []):
                try:
                    exec(compile(_strip_magics(source), f"<answer {gid}>", "exec"), namespace)  # noqa: S102
                except BaseException as exc:  # noqa: BLE001 - a broken answer only fails its own exercise
                    answer_errors[gid] = f"{type(exc).__name__}: {_first_line(exc)}"
            _send({"op": "ready", "setup_error": setup_error, "answer_errors": answer_errors})
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
