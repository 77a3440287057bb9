"""nbgrader preprocessors that make plain ``nbgrader autograde`` and ``generate_feedback`` safe.

They are switched on in ``nbgrader_config.py``, so instructors get them with nbgrader's own
commands (and formgrader):

- :class:`SafeExecute` replaces nbgrader's Execute: the kernel runs in a bubblewrap sandbox
  (:mod:`autograder.sandbox`) on a scratch copy of the submission, hidden tests are removed from
  the test cells before the kernel sees them, per-cell timeouts, a kernel that ignores interrupts
  or dies is restarted and the earlier cells replayed, output is capped, and execution never
  raises, so a hostile submission is recorded with a score instead of being dropped;
- :class:`VerifyAnswers` decides every graded cell outside the learner's kernel
  (:mod:`autograder.verify`, its worker in the same sandbox) and replaces the cell's outputs with
  that verdict alone: whatever the kernel printed, returned or displayed cannot add a point;
- :class:`SanitizeOutputs` strips scripts and event handlers from HTML, Markdown and SVG that a
  student's code or cells produced (with ``nh3``), so autograded notebooks and feedback are safe
  to open;
- :class:`ShortTracebacks` reduces the error output of graded cells to one line in feedback;
- :class:`ReleaseAwareOverwriteCells` is nbgrader's OverwriteCells without its false alarm: a test cell
  exactly as released (hidden tests cleared) is not reported as changed, so the warning that remains
  means a student really edited a locked cell.
"""

from __future__ import annotations

import re

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer

from autograder.course import exercise_label, strip_hidden
from autograder.runner import Runner
from autograder.sandbox import SandboxUnavailable, require
from autograder.verify import CHECK_CALL, verify


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _graded_code(cell):
    return _meta(cell).get("grade") and cell.cell_type == "code"


class SafeExecute(NbGraderPreprocessor):
    timeout = Integer(60, help="seconds a cell may run").tag(config=True)
    budget = Integer(900, help="seconds a notebook may run").tag(config=True)
    unsafe = Bool(False, help="run students' code without a sandbox (with the grader's rights)").tag(config=True)
    memory_mb = Integer(2048, help="address-space limit of each sandboxed process, MiB").tag(config=True)

    def preprocess(self, nb, resources):
        cwd = resources.get("metadata", {}).get("path") or "."
        try:
            sandbox = require(self.unsafe)
        except SandboxUnavailable as exc:
            raise SystemExit(str(exc)) from None
        if sandbox is not None:
            sandbox.memory_bytes = self.memory_mb * 1024**2
            sandbox.lesson = resources.get("nbgrader", {}).get("assignment")  # its release's student package
        resources["autograder_sandbox"] = sandbox
        full = {}
        for index, cell in enumerate(nb.cells):  # hidden tests never enter the student's kernel
            if _graded_code(cell) and strip_hidden(cell.source) != cell.source:
                full[index] = cell.source
                cell.source = strip_hidden(cell.source)
        try:
            runs = Runner(nb, cwd, timeout=self.timeout, budget=self.budget, sandbox=sandbox).run()
        finally:
            for index, source in full.items():
                nb.cells[index].source = source
        for index, run in runs.items():
            if run.status in ("timeout", "died", "skipped"):
                grade_id = _meta(nb.cells[index]).get("grade_id", f"cell {index}")
                self.log.warning("%s: %s", grade_id, run.evalue)
        return nb, resources


def verdict_outputs(passed, reason, label):
    if passed:
        return [nbformat.v4.new_output("stream", name="stdout",
                                       text=f"✓ {label}: passed the hidden tests (checked outside your notebook)\n")]
    return [nbformat.v4.new_output("error", ename="AssertionError", evalue=reason,
                                   traceback=[f"AssertionError: {reason}"])]


class VerifyAnswers(NbGraderPreprocessor):
    timeout = Integer(60, help="seconds one exercise may run in the verifier").tag(config=True)

    def preprocess(self, nb, resources):
        cwd = resources.get("metadata", {}).get("path") or "."
        sandbox = resources.get("autograder_sandbox")
        if sandbox is None and "autograder_sandbox" not in resources:  # run without SafeExecute
            try:
                sandbox = require(SafeExecute(config=self.config).unsafe)
            except SandboxUnavailable as exc:
                raise SystemExit(str(exc)) from None
        verdicts = verify(nb, timeout=self.timeout, sandbox=sandbox, cwd=cwd)
        for cell in nb.cells:
            if not _graded_code(cell):
                continue
            gids = [m.group("gid") for m in CHECK_CALL.finditer(cell.source)]
            failed = [verdicts[g] for g in gids if g in verdicts and not verdicts[g].passed]
            if not gids or any(g not in verdicts for g in gids):
                failed = [None]
            reason = (failed[0].reason if failed and failed[0] is not None
                      else "this test cell has no hidden test the grader knows: no automatic credit")
            cell.outputs = verdict_outputs(not failed, reason, exercise_label(_meta(cell).get("grade_id")))
            notes = [verdicts[g].note for g in gids if not failed and verdicts[g].note]
            if notes:  # passed with the course's version of an earlier exercise's function: say so
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"  ({'; '.join(notes)})\n"))
            for verdict in failed:
                if verdict is not None and verdict.flagged:
                    self.log.warning("%s: %s", verdict.grade_id, verdict.reason)
        return nb, resources


# ------------------------------------------------------------------------------------ sanitising

SAFE_MIME = {"text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/gif",
             "image/svg+xml"}


def clean_html(html: str) -> str:
    import nh3

    return nh3.clean(html)


def _clean_data(data):
    for mime in list(data):
        if mime not in SAFE_MIME:
            del data[mime]  # javascript, widgets, anything a browser would run or we cannot check
        elif mime in ("text/html", "text/markdown"):
            value = data[mime]
            data[mime] = clean_html("".join(value) if isinstance(value, list) else value)
        elif mime == "image/svg+xml":
            del data[mime]  # SVG can carry scripts; matplotlib's PNG is what the course shows
            data.setdefault("text/plain", "[an SVG image was removed by the grader]")


class SanitizeOutputs(NbGraderPreprocessor):
    """No script, event handler or active content from student outputs or Markdown cells."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and re.search(r"<[a-zA-Z!/?]", cell.source):
            cell.source = clean_html(cell.source)
        for out in cell.get("outputs", []):
            if "data" in out:
                _clean_data(out["data"])
        for key in list(cell.get("attachments", {}) or {}):
            _clean_data(cell.attachments[key])
        return cell, resources


class ReleaseAwareOverwriteCells(OverwriteCells):
    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.metadata.nbgrader.get("locked"):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except Exception:  # noqa: BLE001 - nbgrader's own handling reports a missing cell
                source_cell = None
            if source_cell is not None and source_cell.locked:
                released = nbformat.v4.new_code_cell(source_cell.source, metadata={"nbgrader": {"grade": True}})
                ClearHiddenTests(config=self.config).preprocess_cell(released, {}, 0)
                if released.source == cell.source:  # untouched: restore the hidden tests silently
                    cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)


class ShortTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if _graded_code(cell):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    first = (out.get("evalue") or "").strip().splitlines()
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {first[0] if first else ''}"]
        return cell, resources
