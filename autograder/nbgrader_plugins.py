"""nbgrader preprocessors that make plain ``nbgrader autograde`` and ``generate_feedback`` safe.

They are switched on in ``nbgrader_config.py``, so instructors get them with nbgrader's own
commands (and formgrader):

- :class:`SafeExecute` replaces nbgrader's Execute: per-cell timeouts, a kernel that ignores
  interrupts or dies is restarted and the earlier cells replayed, output is capped, and execution
  never raises, so a hostile submission is recorded with a score instead of being dropped;
- :class:`VerifyAnswers` re-checks every exercise outside the learner's kernel
  (:mod:`autograder.verify`) and fails any graded cell whose exercise does not pass there, so
  monkeypatching, swallowed exceptions or answers taken from ``autograder.reference`` gain nothing;
- :class:`ShortTracebacks` reduces the error output of graded cells to one line in feedback, so
  feedback never shows hidden test code (nbgrader issue 917).
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from autograder.runner import Runner, add_error
from autograder.verify import CHECK_CALL, verify


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


class SafeExecute(NbGraderPreprocessor):
    timeout = Integer(60, help="seconds a cell may run").tag(config=True)
    budget = Integer(900, help="seconds a notebook may run").tag(config=True)

    def preprocess(self, nb, resources):
        cwd = resources.get("metadata", {}).get("path") or "."
        runs = Runner(nb, cwd, timeout=self.timeout, budget=self.budget).run()
        for index, run in runs.items():
            if run.status in ("timeout", "died", "skipped"):
                grade_id = _meta(nb.cells[index]).get("grade_id", f"cell {index}")
                self.log.warning("%s: %s", grade_id, run.evalue)
        return nb, resources


class VerifyAnswers(NbGraderPreprocessor):
    timeout = Integer(60, help="seconds one exercise may run in the verifier").tag(config=True)

    def preprocess(self, nb, resources):
        verdicts = verify(nb, timeout=self.timeout)
        for cell in nb.cells:
            if not (_meta(cell).get("grade") and cell.cell_type == "code"):
                continue
            for match in CHECK_CALL.finditer(cell.source):
                verdict = verdicts.get(match.group("gid"))
                if verdict and not verdict.passed:
                    add_error(cell, "AssertionError", verdict.reason)
                    if verdict.flagged:
                        self.log.warning("%s: %s", verdict.grade_id, verdict.reason)
        return nb, resources


class ShortTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if _meta(cell).get("grade") and cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    first = (out.get("evalue") or "").strip().splitlines()
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {first[0] if first else ''}"]
        return cell, resources
