"""Re-grade a notebook's exercises outside the learner's kernel, so the kernel cannot fake a pass.

A notebook's graded cells run in the learner's kernel, next to the learner's code: that code can
monkeypatch numpy, ``numpy.testing``, builtins or ``autograder`` itself, or swallow every exception,
and so make any test cell "pass". This module re-checks every exercise from the notebook's *source
text*, in two fresh processes:

- the **worker** (``python -m autograder.verify worker``) runs the locked setup cell and the learner's
  answer cells, calls the learner's functions on the hidden test inputs (regenerated from the
  exercise's seed) and writes the outputs as plain arrays (``.npy``, no pickles);
- the **judge** (this process, never running learner code) computes the reference outputs, loads
  the arrays with ``allow_pickle=False`` (no object can fake a comparison), compares them, names the
  planted bug the output matches, and flags answers taken from ``autograder.reference``.

A worker that hangs or dies is killed after ``timeout`` seconds; the exercise it was on fails with
that reason and the remaining exercises are checked in a new worker.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zlib
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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

def _worker(job_path: str) -> None:
    """Run in a fresh process: execute the learner's code, record outputs of each exercise."""
    from autograder.exercises import EXERCISES

    job = json.loads(Path(job_path).read_text())
    out_dir = Path(job["out"])
    namespace = {"__name__": "__main__"}
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        for source in job["setup"]:
            exec(compile(_strip_magics(source), "<setup>", "exec"), namespace)  # noqa: S102
        for gid, source in job["answers"]:
            try:
                exec(compile(_strip_magics(source), f"<answer {gid}>", "exec"), namespace)  # noqa: S102
            except BaseException:  # noqa: BLE001 - a broken answer only fails its own exercise
                pass
    for gid in job["exercises"]:
        exercise = EXERCISES[gid]
        record = {"grade_id": gid}
        try:
            missing = [n for n in exercise.functions if not callable(namespace.get(n))]
            if missing:
                raise NameError(f"{missing[0]} is not defined")
            fns = {n: namespace[n] for n in exercise.functions}
            target = fns[exercise.function]
            record["module"] = getattr(target, "__module__", "") or ""
            record["file"] = getattr(getattr(target, "__code__", None), "co_filename", "") or ""
            rng = np.random.default_rng(zlib.crc32(gid.encode()))
            for k, case in enumerate(exercise.cases(rng)):
                with redirect_stdout(sink), redirect_stderr(sink):
                    outs = exercise.outputs(fns, case)
                for name, value in outs.items():
                    arr = np.array(value, dtype=np.float64, copy=True)
                    np.save(out_dir / f"{gid}.{k}.{_safe(name)}.npy", arr, allow_pickle=False)
                record.setdefault("names", list(outs))
            record["status"] = "done"
        except BaseException as exc:  # noqa: BLE001 - reported to the judge as text
            record["status"] = "error"
            record["ename"] = type(exc).__name__
            record["evalue"] = (str(exc).splitlines() or [""])[0][:300]
        sink.seek(0)
        sink.truncate()
        print(json.dumps(record), flush=True)


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _safe(name: str) -> str:
    return re.sub(r"[^\w]", "_", name)


# ----------------------------------------------------------------------------------------- judge

def _copied_from_reference(gid, source) -> bool:
    """True when the answer imports the reference, or is the reference's function body verbatim."""
    from autograder import reference
    from autograder.exercises import EXERCISES

    if re.search(r"\bautograder\b", source):
        return True
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


def _judge(gid, record, out_dir) -> Verdict:
    from autograder.checking import _compare, diagnose
    from autograder.exercises import EXERCISES

    exercise = EXERCISES[gid]
    if record.get("status") != "done":
        message = record.get("evalue", "")
        if record.get("ename") in ("Mismatch",):
            return Verdict(gid, False, message)
        if record.get("ename") == "NotImplementedError":
            return Verdict(gid, False, "not attempted yet")
        return Verdict(gid, False, f"{record.get('ename', 'Error')}: {message}" if message else record.get("ename", ""))
    if str(record.get("module", "")).startswith("autograder") or "/autograder/" in str(record.get("file", "")):
        return Verdict(gid, False, "the answer is autograder.reference's function: no credit", flagged=True)
    rng = np.random.default_rng(zlib.crc32(gid.encode()))
    context = exercise.bug_context or exercise.reference
    for k, case in enumerate(exercise.cases(rng)):
        want = exercise.outputs(exercise.reference, case)
        got = {}
        for name in want:
            path = out_dir / f"{gid}.{k}.{_safe(name)}.npy"
            if not path.exists():
                return Verdict(gid, False, f"{exercise.function} returned no {name} on a hidden test ({case.label})")
            got[name] = np.load(path, allow_pickle=False)
        problems = [p for name in want if (p := _compare(name, got[name], want[name], exercise.tol))]
        if problems:
            message = f"{exercise.function}: {problems[0]} on a hidden test ({case.label})"
            bug = diagnose(exercise, context, case, got)
            return Verdict(gid, False, message + (f". Likely mistake: {bug.message}" if bug else ""))
    return Verdict(gid, True)


def verify(nb, timeout=60) -> dict[str, Verdict]:
    """Verdicts for every exercise the notebook's graded cells check, keyed by answer grade id."""
    program = program_of(nb)
    pending = exercises_in(nb)
    answers = dict(program["answers"])
    verdicts = {}
    for gid in pending:
        if gid in answers and _copied_from_reference(gid, answers[gid]):
            verdicts[gid] = Verdict(gid, False, "the answer uses autograder.reference: no credit", flagged=True)
    pending = [g for g in pending if g not in verdicts]
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        out_dir = Path(tmp)
        while pending:
            job = out_dir / "job.json"
            job.write_text(json.dumps({**program, "exercises": pending, "out": str(out_dir)}))
            proc = subprocess.Popen([sys.executable, "-m", "autograder.verify", "worker", str(job)],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                    cwd=tmp, env={**os.environ, "MPLBACKEND": "Agg"})
            done = _collect(proc, pending, timeout)
            for record in done:
                gid = record["grade_id"]
                verdicts[gid] = _judge(gid, record, out_dir)
            finished = [r["grade_id"] for r in done]
            pending = [g for g in pending if g not in finished]
            if pending:  # the worker hung or died on the first pending exercise
                gid = pending.pop(0)
                verdicts[gid] = Verdict(gid, False, f"did not finish within {timeout} s, or crashed the process")
    return verdicts


def _collect(proc, pending, timeout) -> list[dict]:
    """Read the worker's records until it ends; kill it after ``timeout`` s without a record."""
    import selectors
    import time

    records, deadline = [], time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while len(records) < len(pending):
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break  # timed out
            line = proc.stdout.readline()
            if not line:
                break  # the worker ended (or died)
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("grade_id") in pending:
                records.append(record)
                deadline = time.monotonic() + timeout
    finally:
        sel.close()
        proc.kill()
        proc.wait()
    return records


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "worker":
    _worker(sys.argv[2])
