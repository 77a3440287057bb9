"""Re-grade a notebook's exercises outside the learner's kernel, so the kernel cannot fake a pass.

Whatever the learner's kernel printed, returned or displayed decides nothing: a notebook's code can
monkeypatch numpy or builtins, swallow every exception or make any cell print a number. This module
decides every exercise from the notebook's *source text*, with two processes:

- the **worker** (:mod:`autograder.worker`, started as ``python -I -c SOURCE`` and, for instructors,
  inside the sandbox of :mod:`autograder.sandbox`) runs the setup cell and the learner's answer
  cells and calls the learner's functions when asked; it imports nothing of the grader, so no
  reference, hidden case or planted bug is there to be found or called;
- the **judge** (this process, never running learner code) runs each exercise's hidden tests
  (:func:`autograder.checking.check`) with :class:`Remote` stand-ins for the learner's functions:
  each call sends the hidden inputs to the worker as plain data (:mod:`autograder.wire`) and gets
  the outputs back the same way, loaded with ``allow_pickle=False`` (no object can fake a
  comparison); the judge compares them with the reference and names the planted bug they match.

A worker that hangs or dies is killed after ``timeout`` seconds; the exercise it was on fails with
that reason and the remaining exercises are checked in a new worker.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

from autograder.wire import Handle, WireError, pack, read_frame, unpack, write_frame

COPY_MIN_NODES = 100
CHECK_CALL = re.compile(r"""check\(\s*["'](?P<gid>[\w-]+)["']""")


@dataclass
class Verdict:
    grade_id: str  # the answer cell's grade id (the test cell's is this + "_tests")
    passed: bool
    reason: str = ""
    flagged: bool = False


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises_in(nb) -> list[str]:
    """Grade ids checked by the notebook's graded test cells, in order."""
    ids = []
    for cell in nb.cells:
        if _meta(cell).get("grade") and cell.cell_type == "code":
            ids += [m.group("gid") for m in CHECK_CALL.finditer(cell.source)]
    return ids


def program_of(nb) -> dict:
    """What the worker needs: the setup cell(s) and the answer cells, as source text."""
    setup = [c.source for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade_id", "").startswith("setup")]
    answers = [(_meta(c)["grade_id"], c.source) for c in nb.cells
               if c.cell_type == "code" and _meta(c).get("solution")]
    return {"setup": setup, "answers": answers}


# ---------------------------------------------------------------------------------------- worker

class WorkerGone(BaseException):  # not an Exception: check() must not take it for a learner error
    """The worker hung past its time, died, or broke the protocol."""


class Worker:
    """A sandboxed process (``autograder/worker.py``) holding the learner's functions; see :class:`Remote`."""

    def __init__(self, program, sandbox=None, timeout=60, cwd=None):
        import selectors

        from autograder import worker

        self.timeout = timeout
        self.sandbox, self.scratch = sandbox, None
        argv = [sys.executable, "-I", "-c", worker.source()]
        kwargs = {}
        if sandbox is not None:
            self.scratch = sandbox.scratch(cwd)
            argv = sandbox.command(argv, self.scratch, env={"MPLBACKEND": "Agg"})
            kwargs = {"cwd": str(self.scratch), "preexec_fn": sandbox.limits()}
        else:
            kwargs = {"cwd": str(cwd or "."), "env": {**os.environ, "MPLBACKEND": "Agg"}, "start_new_session": True}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, **kwargs)
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._out, selectors.EVENT_READ)
        self.deadline = None
        self.callbacks = {}
        self._send({"op": "load", **program})
        reply = self._receive()
        if reply.get("op") != "ready":
            raise WorkerGone("the notebook's setup and answer cells did not load")
        self.setup_error = str(reply.get("setup_error") or "")[:300]
        self.answer_errors = {str(k): str(v)[:300] for k, v in dict(reply.get("answer_errors") or {}).items()}

    def _wait(self, fd):
        import time

        left = self.deadline - time.monotonic()
        if left <= 0 or not self._sel.select(timeout=left):
            raise WorkerGone("timeout")

    def _encode_other(self, value):
        if isinstance(value, Handle):
            return {"__handle__": value.ident}
        if callable(value):
            self.callbacks[len(self.callbacks) + 1] = value
            return {"__callback__": len(self.callbacks), "name": getattr(value, "__name__", "f")}
        raise TypeError(f"cannot send a {type(value).__name__} to the worker")

    @staticmethod
    def _decode_other(tag, payload):
        return Handle(int(payload["__handle__"]), str(payload.get("kind", "object"))[:60])

    def _send(self, message):
        try:
            write_frame(self._in, pack(message, self._encode_other))
        except OSError as exc:
            raise WorkerGone(f"the worker ended ({exc})") from None

    def _receive(self):
        import time

        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout
        try:
            header, body = read_frame(self._out, self._wait)
            return unpack(header, body, self._decode_other)
        except (WireError, OSError, ValueError, KeyError, IndexError) as exc:
            raise WorkerGone(str(exc)) from None

    def call(self, name, args, kwargs):
        self._send({"op": "call", "name": name, "args": list(args), "kwargs": kwargs})
        while True:
            reply = self._receive()
            op = reply.get("op")
            if op == "callback":
                try:
                    value = self.callbacks[int(reply["id"])](*reply.get("args", []))
                    self._send({"op": "return", "value": value})
                except Exception as exc:  # noqa: BLE001 - the learner's arguments broke a test function
                    self._send({"op": "raise", "evalue": str(exc)[:300]})
                continue
            if op == "result":
                _write_back(args, reply.get("args", []))
                _write_back(kwargs, reply.get("kwargs", {}))
                return reply.get("value")
            if op == "error":
                raise learner_error(str(reply.get("ename", "Error")), str(reply.get("evalue", "")))
            raise WorkerGone("unexpected message")

    def start_exercise(self, timeout):
        import time

        self.deadline = time.monotonic() + timeout

    def close(self):
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._sel.close()
        if self.sandbox is not None:
            from autograder.sandbox import remove_scratch

            remove_scratch(self.scratch)
            self.sandbox.close()


def _write_back(originals, after):
    """Mirror in-place changes the learner's function made to its arguments (they are copies there)."""
    if isinstance(originals, dict) and isinstance(after, dict):
        for key in originals:
            if key in after:
                _write_back_one(originals, key, after[key])
    elif isinstance(originals, list | tuple) and isinstance(after, list | tuple) and len(after) == len(originals):
        for index in range(len(originals)):
            _write_back_one(originals, index, after[index])


def _write_back_one(container, key, new):
    old = container[key]
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape and old.flags.writeable:
        np.copyto(old, new, casting="unsafe")
    elif isinstance(old, dict | list | tuple):
        _write_back(old, new)


_ERRORS = {}


def learner_error(ename, evalue):
    """An exception named like the learner's (NotImplementedError stays itself: "not attempted")."""
    if ename == "NotImplementedError":
        return NotImplementedError(evalue)
    if ename not in _ERRORS:
        _ERRORS[ename] = type(re.sub(r"\W", "_", ename) or "Error", (Exception,), {})
    return _ERRORS[ename](evalue)


class Remote:
    """Calls the learner's function ``name`` in the worker; arguments and results are plain data."""

    __module__ = "learner"

    def __init__(self, worker, name):
        self.worker, self.__name__ = worker, name

    def __call__(self, *args, **kwargs):
        return self.worker.call(self.__name__, args, kwargs)


# ----------------------------------------------------------------------------------------- judge

def _copied_from_reference(gid, source) -> bool:
    """True when the answer is the reference's function body verbatim (comments and docstrings aside)."""
    from autograder import reference
    from autograder.exercises import EXERCISES

    name = EXERCISES[gid].function
    ref = getattr(reference, name, None)
    if ref is None:
        return False
    try:
        import inspect

        theirs = _body_dump(ast.parse(source), name)
        ours = _body_dump(ast.parse(inspect.getsource(ref)), name)
    except (SyntaxError, OSError, TypeError):
        return False
    # A short body (a one-line formula) can coincide with the reference by right: only a body
    # of some size that matches it node for node counts as copied.
    return theirs is not None and theirs == ours and ours.count("(") >= COPY_MIN_NODES


def _body_dump(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                body = body[1:]  # the docstring does not count
            return ast.dump(ast.Module(body=body, type_ignores=[]), annotate_fields=False)
    return None


def _judge(gid, worker) -> Verdict:
    """Run the exercise's hidden tests on the learner's functions in the worker."""
    from autograder.checking import Mismatch, check
    from autograder.exercises import EXERCISES

    exercise = EXERCISES[gid]
    try:
        check(gid, *[Remote(worker, name) for name in exercise.functions])
    except WorkerGone:
        raise
    except NotImplementedError:
        return Verdict(gid, False, "not attempted yet")
    except Exception as exc:  # noqa: BLE001 - a Mismatch's message, or whatever else went wrong, in one line
        reason = _one_line(exc) if isinstance(exc, Mismatch) else f"{type(exc).__name__}: {_one_line(exc)}"
        if gid in worker.answer_errors:
            reason += f" (your answer cell raised {worker.answer_errors[gid]})"
        if worker.setup_error:
            reason += f" (the setup cell failed: {worker.setup_error})"
        return Verdict(gid, False, reason)
    return Verdict(gid, True)


def _one_line(exc) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:500]


def verify(nb, timeout=60, sandbox=None, cwd=None) -> dict[str, Verdict]:
    """Verdicts for every exercise the notebook's graded cells check, keyed by answer grade id.

    The learner's code runs in a worker process (in ``sandbox`` when given, with a scratch copy of
    ``cwd``); an exercise whose calls take longer than ``timeout`` s in all, or that kills the
    worker, fails with that reason and the remaining ones get a fresh worker.
    """
    program = program_of(nb)
    pending = exercises_in(nb)
    answers = dict(program["answers"])
    verdicts = {}
    for gid in pending:
        if gid in answers and _copied_from_reference(gid, answers[gid]):
            verdicts[gid] = Verdict(gid, False, "the answer is the course's reference, copied: no credit",
                                    flagged=True)
    pending = [g for g in pending if g not in verdicts]
    worker = None
    try:
        while pending:
            gid = pending[0]
            try:
                if worker is None:
                    worker = Worker(program, sandbox=sandbox, timeout=timeout, cwd=cwd)
                worker.start_exercise(timeout)
                verdicts[gid] = _judge(gid, worker)
            except WorkerGone as exc:
                reason = (f"did not finish within {timeout} s" if str(exc) == "timeout"
                          else "crashed or stopped the process that runs it")
                verdicts[gid] = Verdict(gid, False, reason)
                if worker is not None:
                    worker.close()
                worker = None
            pending.pop(0)
    finally:
        if worker is not None:
            worker.close()
    return verdicts
