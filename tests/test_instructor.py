"""The instructor's workflow with nbgrader's own commands, run from a copy of the repository root:
generate_assignment -> (release = lessons/) -> collect (submitted/<student>/<lesson>/) ->
autograde -> generate_feedback -> export CSV. An honest run logs no warning, every image in feedback has
alternative text, and the export tells a student who submitted nothing from one who scored 0."""

import csv
import re
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
    for student in ("alice", "bob", "carol"):  # carol is on the class list and hands nothing in
        nbgrader(course, "db", "student", "add", student)
    logs = [nbgrader(course, "autograde", LESSON), nbgrader(course, "generate_feedback", LESSON)]
    noise = [ln for p in logs for ln in (p.stdout + p.stderr).splitlines() if re.search(r"warn", ln, re.I)]
    assert not noise, "an honest autograde and generate_feedback should log no warning:\n" + "\n".join(noise)
    html = (course / "feedback" / "alice" / LESSON / f"{LESSON}.html").read_text()
    images = re.findall(r"<img\b[^>]*>", html)
    assert images and all(re.search(r'alt="[^"]+"', i) and "No description" not in i for i in images), \
        [i[:120] for i in images if "alt=" not in i or "No description" in i][:3]
    nbgrader(course, "export", "--to", "grades.csv")
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    alice, bob, carol = rows["alice"], rows["bob"], rows["carol"]
    assert float(alice["score"]) == float(alice["max_score"]) > 0
    assert float(bob["score"]) == 0 and bob["submitted"] == "yes"
    assert carol["submitted"] == "no" and carol["score"] == "" and carol["timestamp"] == ""
