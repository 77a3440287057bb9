"""An autograder that cannot be fooled: hostile submissions through `python -m autograder grade`
(plain `nbgrader autograde` with this repository's nbgrader_config.py), graded in parallel."""

import csv
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course import LESSONS, ROOT, SOLUTIONS, nbgrader_meta, notebook_path, read_notebook
from autograder.exercises import EXERCISES
from tests.conftest import LESSON_IDS

LESSON = LESSON_IDS[0]
FIRST = next(g for g in EXERCISES if g.startswith(f"l{LESSON[:2]}_e1_"))
FUNCTION = EXERCISES[FIRST].function
WRONG = EXERCISES[FIRST].bugs[0].plant_source(FUNCTION)


def solution():
    return read_notebook(notebook_path(LESSON, SOLUTIONS))


def answer_cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def without_calls(nb):
    """Drop ungraded cells that call the first exercise's function (a hanging one would stall them)."""
    nb.cells = [c for c in nb.cells if nbgrader_meta(c) or f"{FUNCTION}(" not in c.source]
    return nb


def hostile(prefix):
    nb = solution()
    answer_cell(nb, FIRST).source = prefix + "\n" + WRONG
    return nb


def submissions():
    subs = {"alice": solution(), "bob": read_notebook(notebook_path(LESSON, LESSONS)),
            "honest_but_wrong": hostile("")}  # the control: the same wrong answer, no tricks
    subs["patches_numpy_testing"] = hostile(
        "import numpy, numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
        "numpy.allclose = lambda *a, **k: True\nnumpy.testing.assert_array_equal = lambda *a, **k: None")
    subs["swallows_errors"] = hostile(
        "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)")
    subs["patches_check"] = hostile(
        "import autograder.checking\nautograder.checking.check = lambda *a, **k: None\n"
        "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})")
    nb = solution()
    answer_cell(nb, FIRST).source = f"from autograder.reference import {FUNCTION}"
    subs["uses_reference"] = nb
    nb = solution()
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != f"{FIRST}_tests"]
    subs["deletes_test_cell"] = nb
    signature = re.search(r"^def .*:$", answer_cell(solution(), FIRST).source, re.M).group(0)
    for name, body in [
        ("ignores_interrupt", "    import time\n    while True:\n        try:\n            time.sleep(0.1)\n"
                              "        except KeyboardInterrupt:\n            pass\n"),
        ("kills_kernel", "    import os\n    os._exit(1)\n"),
        ("prints_a_lot", "    for _ in range(2000):\n        print('spam' * 25_000)\n"),
    ]:
        nb = without_calls(solution())
        answer_cell(nb, FIRST).source = f"{signature}\n{body}"
        subs[name] = nb
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS, course / "solutions")
    for student, nb in submissions().items():
        dest = course / "submitted" / student / LESSON
        dest.mkdir(parents=True)
        nbformat.write(nb, str(dest / f"{LESSON}.ipynb"))
    code = ("import sys; from autograder.grade import grade; "
            f"sys.exit(grade([{LESSON!r}], jobs=2, csv='grades.csv', cwd={str(course)!r}, timeout=5))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    return course, rows, proc.stdout


def score(rows, student):
    return float(rows[student]["score"]), float(rows[student]["max_score"])


def first_points():
    test = answer_cell(solution(), f"{FIRST}_tests")
    return float(nbgrader_meta(test)["points"])


def test_every_submission_is_recorded(graded):
    _, rows, out = graded
    assert set(rows) == set(submissions())
    assert f"graded {len(rows)}/{len(rows)} submissions" in out


def test_solution_full_marks_and_stub_zero(graded):
    _, rows, _ = graded
    got, possible = score(rows, "alice")
    assert got == possible > 0
    assert score(rows, "bob")[0] == 0


@pytest.mark.parametrize("student", ["patches_numpy_testing", "swallows_errors", "patches_check"])
def test_cheating_gains_nothing(graded, student):
    _, rows, _ = graded
    honest, possible = score(rows, "honest_but_wrong")
    assert honest <= possible - first_points()
    assert score(rows, student)[0] <= honest, f"{student} scored more than the same wrong answer without tricks"


def test_reference_answer_earns_nothing_and_is_flagged(graded):
    _, rows, out = graded
    got, possible = score(rows, "uses_reference")
    assert got == possible - first_points()  # the rest of that notebook is the student's own work
    assert re.search(r"uses_reference/\S+: .*autograder\.reference.*no credit", out)


def test_deleted_test_cell_is_restored_and_reported(graded):
    _, rows, out = graded
    got, possible = score(rows, "deletes_test_cell")
    assert got == possible
    assert re.search(rf"deletes_test_cell/\S+: .*{FIRST}_tests.*restored", out)


@pytest.mark.parametrize("student", ["ignores_interrupt", "kills_kernel"])
def test_runaway_code_is_scored_not_lost(graded, student):
    _, rows, out = graded
    got, possible = score(rows, student)
    assert 0 < got <= possible - first_points()
    assert f"{student}/{LESSON}:" in out


def test_output_flood_is_capped(graded):
    course, rows, _ = graded
    nb_path = course / "autograded" / "prints_a_lot" / LESSON / f"{LESSON}.ipynb"
    assert nb_path.stat().st_size < 5_000_000
    got, possible = score(rows, "prints_a_lot")
    assert 0 < got <= possible - first_points()  # it prints instead of returning the answer


def test_feedback_hides_hidden_tests(graded):
    course, _, _ = graded
    subprocess.run(["nbgrader", "generate_feedback", LESSON], cwd=course, capture_output=True, text=True,
                   check=True)
    html = (course / "feedback" / "patches_numpy_testing" / LESSON / f"{LESSON}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "check(" not in html.replace("<span", "")
    assert "Likely mistake" in html
