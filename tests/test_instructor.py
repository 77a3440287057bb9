"""The instructor's workflow with nbgrader's own commands, run from a copy of the repository root:
generate_assignment -> (release = lessons/) -> collect (submitted/<student>/<lesson>/) ->
autograde -> generate_feedback -> export CSV."""

import csv
import shutil
import subprocess

from autograder.course import LESSONS, ROOT, SOLUTIONS, notebook_path
from tests.conftest import LESSON_IDS

LESSON = LESSON_IDS[0]


def nbgrader(cwd, *args):
    proc = subprocess.run(["nbgrader", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def test_release_autograde_feedback_export(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS, course / "solutions")
    nbgrader(course, "generate_assignment", LESSON, "--force")
    released = course / "lessons" / LESSON / f"{LESSON}.ipynb"
    assert released.read_text() == notebook_path(LESSON, LESSONS).read_text()

    for student, source in [("alice", notebook_path(LESSON, SOLUTIONS)), ("bob", released)]:
        dest = course / "submitted" / student / LESSON
        dest.mkdir(parents=True)
        shutil.copy(source, dest / f"{LESSON}.ipynb")
    nbgrader(course, "db", "student", "add", "alice")
    nbgrader(course, "db", "student", "add", "bob")
    nbgrader(course, "autograde", LESSON)
    nbgrader(course, "generate_feedback", LESSON)
    assert (course / "feedback" / "alice" / LESSON / f"{LESSON}.html").is_file()
    nbgrader(course, "export", "--to", "grades.csv")
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    alice, bob = rows["alice"], rows["bob"]
    assert float(alice["score"]) == float(alice["max_score"]) > 0
    assert float(bob["score"]) == 0
