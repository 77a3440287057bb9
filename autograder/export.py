"""Grades an instructor can use: ``nbgrader export`` (and ``grade``) write one row per student and lesson
that tells "did not submit" from "submitted and scored 0".

nbgrader's own CSV export gives a student who submitted nothing a score of 0, like a submitted stub.
:class:`GradesExport` keeps nbgrader's columns and adds ``submitted`` (``yes``/``no``); a lesson not
submitted has empty ``raw_score``/``score``; ``timestamp`` is the submission time nbgrader recorded
(from ``timestamp.txt``, which ``grade`` writes from the notebook's modification time when a
submission was collected without one).
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import CsvExportPlugin

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "submitted",
           "raw_score", "late_submission_penalty", "score", "max_score"]


def _text(value):
    return "" if value is None else str(value)


def rows(gradebook, students=(), assignments=()):
    """One dict per (lesson, student) in the gradebook, in COLUMNS order."""
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                   "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                   "max_score": assignment.max_score}
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(submitted="no", timestamp="", raw_score="", late_submission_penalty="", score="")
            else:
                penalty = submission.late_submission_penalty or 0.0
                row.update(submitted="yes", timestamp=submission.timestamp, raw_score=submission.score,
                           late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
            yield {key: _text(row[key]) for key in COLUMNS}


class GradesExport(CsvExportPlugin):
    """nbgrader's CSV export plus a ``submitted`` column; blank scores for a lesson not submitted."""

    def export(self, gradebook) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows(gradebook, [str(s) for s in self.student], [str(a) for a in self.assignment]))
