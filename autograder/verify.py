"""Re-grade a notebook's exercises outside the learner's kernel, so the kernel cannot fake a pass.

Whatever the learner's kernel printed, returned or displayed decides nothing: a notebook's code can
monkeypatch numpy or builtins, swallow every exception or make any cell print a number. This module
decides every exercise from the notebook's *source text*, with two processes:

- the **worker** (:mod:`autograder.worker`, started as ``python -I -c SOURCE`` and, for instructors,
  inside the sandbox of :mod:`autograder.sandbox`) runs the notebook's code cells in order as the
  learner's kernel did (graded test cells excepted; IPython syntax included; the files handed in
  next to the notebook importable), up to the test cell of the exercise being graded, and calls
  the learner's functions when asked; it imports nothing of the grader, so no reference, hidden
  case or planted bug is there to be found or called;
- the **judge** (this process, never running learner code) runs each exercise's hidden tests
  (:func:`autograder.checking.check`) with :class:`Remote` stand-ins for the learner's functions:
  each call sends the hidden inputs to the worker as plain data (:mod:`autograder.wire`) and gets
  the outputs back the same way, loaded with ``allow_pickle=False`` (no object can fake a
  comparison); the judge compares them with the reference and names the planted bug they match.

A worker that hangs or dies is killed after ``timeout`` seconds; the exercise it was on fails with
that reason and the remaining exercises are checked in a new worker. An exercise whose answer relies
on an earlier exercise's function that fails its own tests is graded again with the course's version
of that function, a callback into the judge bound only in a fresh worker for that exercise: the
learner's code never holds it while the earlier exercise is graded, and a mistake costs its points once.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from autograder.wire import Handle, WireError, pack, read_frame, unpack, write_frame

COPY_MIN_NODES = 100
LOAD_FACTOR = 3  # the notebook's cells load within LOAD_FACTOR * timeout + 30 s in all
CHECK_CALL = re.compile(r"""check\(\s*["'](?P<gid>[\w-]+)["']""")


@dataclass
class Verdict:
    grade_id: str  # the answer cell's grade id (the test cell's is this + "_tests")
    passed: bool
    reason: str = ""
    flagged: bool = False
    note: str = ""  # how it was graded, e.g. with the course's version of an earlier exercise's function


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
    """What the worker runs: every code cell in order, graded test cells excepted, as source text.

    ``stops[gid]`` is the number of those cells above the test cell that checks ``gid``: the worker
    has run exactly these when the exercise is graded, as the kernel had. Each cell is tagged
    ``setup``, its answer grade id, or ``cell N`` (the learner's own cells and the lesson's given
    cells), so that an error is reported where it happened.
    """
    cells, stops = [], {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if _meta(cell).get("grade"):  # its exercises are graded with the cells above it run, as in the kernel
            for match in CHECK_CALL.finditer(cell.source):
                stops.setdefault(match.group("gid"), len(cells))
            continue
        gid = _meta(cell).get("grade_id", "")
        tag = "setup" if gid.startswith("setup") else gid if _meta(cell).get("solution") else f"cell {index}"
        cells.append((tag, cell.source))
    return {"cells": cells, "stops": stops}


def answers_of(nb) -> dict:
    """The answer cells' sources, by grade id."""
    return {_meta(c)["grade_id"]: c.source for c in nb.cells if c.cell_type == "code" and _meta(c).get("solution")}


# ---------------------------------------------------------------------------------------- worker

class WorkerGone(BaseException):  # not an Exception: check() must not take it for a learner error
    """The worker hung past its time, died, or broke the protocol."""


class Worker:
    """A sandboxed process (``autograder/worker.py``) holding the learner's functions; see :class:`Remote`."""

    def __init__(self, program, sandbox=None, timeout=60, cwd=None, bind=None, upto=None):
        import selectors
        import tempfile

        from autograder import worker
        from autograder.course import GRADING_ENV

        self.timeout = timeout
        self.sandbox, self.scratch, self.home = sandbox, None, None
        argv = [sys.executable, "-I", "-c", worker.source()]
        kwargs = {}
        if sandbox is not None:
            sandbox.hold(self)
            self.scratch = sandbox.scratch(cwd)
            argv = sandbox.command(argv, self.scratch, env={"MPLBACKEND": "Agg"})
            kwargs = {"cwd": str(self.scratch), "preexec_fn": sandbox.limits()}
        else:  # the self-check, on the learner's own machine: IPython's files go to a folder thrown away after
            self.home = tempfile.mkdtemp(prefix="worker-ipython-")
            env = {**os.environ, **GRADING_ENV, "MPLBACKEND": "Agg", "IPYTHONDIR": self.home,
                   "MPLCONFIGDIR": self.home}
            kwargs = {"cwd": str(cwd or "."), "env": env, "start_new_session": True}
        self.proc = None
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, **kwargs)
            self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
            self._sel = selectors.DefaultSelector()
            self._sel.register(self._out, selectors.EVENT_READ)
            self.deadline = None
            self.callbacks = {}
            self.program, self.loaded = program, 0
            self.setup_error, self.answer_errors, self.cell_errors = "", {}, []
            if upto is None:  # everything at once (the setup and answers of a program written by hand)
                self._load({key: value for key, value in program.items() if key != "stops"})
            else:
                self.load_until(upto)
            if bind:  # the course's functions, as callbacks into this process, in this worker only (see verify)
                self._send({"op": "bind", "functions": dict(bind)})
                if self._receive().get("op") != "ready":
                    raise WorkerGone("the worker did not take the course's functions")
        except BaseException:  # a worker that did not start or load is not left behind, nor its sandbox held
            self.close()
            raise

    def load_until(self, upto):
        """Run the program's cells up to (not including) cell ``upto``, after those already run."""
        if upto > self.loaded:
            self._load({"cells": self.program["cells"][self.loaded:upto]})
            self.loaded = upto

    def _load(self, cells):
        # Each cell gets ``timeout`` s (the worker stops it), a load as a whole a bounded time.
        self.deadline = time.monotonic() + LOAD_FACTOR * self.timeout + 30
        self._send({"op": "load", "cell_timeout": self.timeout, **cells})
        reply = self._receive()
        if reply.get("op") != "ready":
            raise WorkerGone("the notebook's cells did not load")
        self.setup_error = self.setup_error or str(reply.get("setup_error") or "")[:300]
        self.answer_errors.update({str(k): str(v)[:300] for k, v in dict(reply.get("answer_errors") or {}).items()})
        self.cell_errors += [(str(t)[:20], str(e)[:300]) for t, e in list(reply.get("cell_errors") or [])[:50]]

    def _wait(self, fd):
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
                    value = self.callbacks[int(reply["id"])](*reply.get("args", []), **dict(reply.get("kwargs") or {}))
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
        self.deadline = time.monotonic() + timeout

    def close(self):
        if self.proc is not None:
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
        if getattr(self, "_sel", None) is not None:
            self._sel.close()
        if self.sandbox is not None:
            from autograder.sandbox import remove_scratch

            remove_scratch(self.scratch)
            self.sandbox.close(self)
        if self.home is not None:
            import shutil

            shutil.rmtree(self.home, ignore_errors=True)


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


def _dependencies(gid, answer) -> list[tuple[str, str]]:
    """(function, grade id) of the earlier exercises of the lesson that exercise ``gid`` relies on:
    the functions its hidden test passes along and those its answer calls by name."""
    from autograder.checking import earlier_exercise
    from autograder.exercises import EXERCISES

    exercise = EXERCISES[gid]
    found = []
    for name in dict.fromkeys(exercise.functions[1:] + tuple(_names_in(answer))):
        dep = earlier_exercise(exercise, name, EXERCISES)
        if dep is not None and name != exercise.function:
            found.append((name, dep.grade_id))
    return found


def _names_in(source) -> list[str]:
    return re.findall(r"[A-Za-z_]\w*", source or "")


def _judge(gid, worker, course=None, note="") -> Verdict:
    """Run the exercise's hidden tests on the learner's functions in the worker.

    ``course`` maps function names to the course's versions that stand in for the learner's
    (earlier exercises that fail their own tests; the worker then holds them as callbacks), and
    ``note`` says so in the feedback.
    """
    from autograder.checking import Mismatch, check_cases
    from autograder.exercises import EXERCISES

    exercise = EXERCISES[gid]
    course = course or {}
    functions = {name: course[name][0] if name in course else Remote(worker, name) for name in exercise.functions}
    try:
        check_cases(exercise, functions)
    except WorkerGone:
        raise
    except NotImplementedError:
        return Verdict(gid, False, "not attempted yet", note=note)
    except Exception as exc:  # noqa: BLE001 - a Mismatch's message, or whatever else went wrong, in one line
        reason = _one_line(exc) if isinstance(exc, Mismatch) else f"{type(exc).__name__}: {_one_line(exc)}"
        if gid in worker.answer_errors:
            reason += f" (your answer cell raised {worker.answer_errors[gid]})"
        if worker.setup_error:
            reason += f" (the setup cell failed: {worker.setup_error})"
        elif worker.cell_errors:
            tag, error = worker.cell_errors[0]
            reason += f" (a cell of the notebook raised {error})"
        return Verdict(gid, False, reason + (f" ({note})" if note else ""), note=note)
    return Verdict(gid, True, note=note)


def _one_line(exc) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:500]


def _gone(exc, timeout) -> str:
    if str(exc) == "timeout":
        return f"did not finish within {timeout} s"
    return "crashed or stopped the process that runs it"


def _course_functions(gid, verdicts, answers) -> dict:
    """{name: (course's function, earlier grade id)} for the earlier exercises ``gid`` relies on that failed."""
    from autograder.checking import course_version
    from autograder.exercises import EXERCISES

    exercise = EXERCISES[gid]
    return {name: (course_version(exercise, EXERCISES[dep], name), dep)
            for name, dep in _dependencies(gid, answers.get(gid))
            if dep in verdicts and not verdicts[dep].passed}


def verify(nb, timeout=60, sandbox=None, cwd=None) -> dict[str, Verdict]:
    """Verdicts for every exercise the notebook's graded cells check, keyed by answer grade id.

    The learner's notebook runs in a worker process (in ``sandbox`` when given, with a scratch copy
    of ``cwd``) as their kernel ran it; an exercise whose calls take longer than ``timeout`` s in all,
    or that kills the worker, fails with that reason and the remaining ones get a fresh worker.

    Each point is earned once: an exercise that fails while an earlier exercise it relies on fails
    too is graded again in a fresh worker, where the course's version of that earlier function
    stands in for the learner's (a call back into this process, bound only in that worker).
    """
    program = program_of(nb)
    pending = exercises_in(nb)
    answers = answers_of(nb)
    verdicts = {}
    for gid in pending:
        if gid in answers and _copied_from_reference(gid, answers[gid]):
            verdicts[gid] = Verdict(gid, False, "the answer is the course's reference, copied: no credit",
                                    flagged=True)
    pending = [g for g in pending if g not in verdicts]
    unloaded = set()
    worker = None
    try:
        for index, gid in enumerate(pending):
            upto = program["stops"].get(gid, len(program["cells"]))
            try:
                if worker is None:
                    worker = Worker(program, sandbox=sandbox, timeout=timeout, cwd=cwd, upto=upto)
                worker.load_until(upto)
            except WorkerGone as exc:  # the cells above it do not load: nor can any exercise after it
                reason = ("the notebook's cells above it did not finish within "
                          f"{LOAD_FACTOR * timeout + 30} s" if str(exc) == "timeout"
                          else "the notebook's cells above it crashed or stopped the process that runs them")
                verdicts.update({g: Verdict(g, False, reason) for g in pending[index:]})
                unloaded.update(pending[index:])
                break
            try:
                worker.start_exercise(timeout)
                verdicts[gid] = _judge(gid, worker)
            except WorkerGone as exc:
                verdicts[gid] = Verdict(gid, False, _gone(exc, timeout))
                worker.close()
                worker = None
    finally:
        if worker is not None:
            worker.close()
    own = dict(verdicts)  # how the learner's own functions fared, before any stand-in
    used = {}
    for gid in pending:  # after the shared worker is gone: one fresh worker at a time
        course = {} if own[gid].passed or gid in unloaded else _course_functions(gid, own, answers)
        if course:
            used[gid] = {name: dep for name, (_, dep) in course.items()}
            note = "; ".join(_stand_in_note(name, dep, verdicts, used) for name, dep in used[gid].items())
            verdicts[gid] = _judge_with_course(gid, program, course, sandbox, timeout, cwd, note)
    return verdicts


def verify_in_background(nb, **kwargs):
    """:func:`verify` of a copy of ``nb``, started now in a thread; a ``Future`` of its verdicts.

    The worker re-runs the notebook from its own copy of the submission, so it need not wait for the
    learner's kernel: the two run side by side (two cores halve the wait). The future's ``program`` is
    the program it grades, for the caller to check that the notebook has not changed since.
    """
    import copy
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(1, thread_name_prefix="verify")
    future = executor.submit(verify, copy.deepcopy(nb), **kwargs)
    future.program = program_of(nb)
    executor.shutdown(wait=False)
    return future


def _stand_in_note(name, dep, verdicts, used) -> str:
    """Why the course's ``name`` stood in: the learner's fails its exercise, or relies on one that fails."""
    from autograder.checking import exercise_number
    from autograder.exercises import EXERCISES

    root, seen = dep, set()
    while verdicts[root].passed and used.get(root) and root not in seen:
        seen.add(root)
        root = next(iter(used[root].values()))
    if root == dep or verdicts[root].passed:
        return f"graded with the course's `{name}`, since yours fails Exercise {exercise_number(dep)}"
    return (f"graded with the course's `{name}`, since yours relies on your `{EXERCISES[root].function}`, "
            f"which fails Exercise {exercise_number(root)}")


def _judge_with_course(gid, program, course, sandbox, timeout, cwd, note) -> Verdict:
    """The exercise graded in a fresh worker that holds the course's versions of ``course``."""
    fresh = None
    try:
        fresh = Worker(program, sandbox=sandbox, timeout=timeout, cwd=cwd,
                       bind={name: function for name, (function, _) in course.items()},
                       upto=program["stops"].get(gid, len(program["cells"])))
        fresh.start_exercise(timeout)
        return _judge(gid, fresh, course, note)
    except WorkerGone as exc:
        return Verdict(gid, False, f"{_gone(exc, timeout)} ({note})", note=note)
    finally:
        if fresh is not None:
            fresh.close()
