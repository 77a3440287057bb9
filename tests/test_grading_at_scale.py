"""Grading a class at scale: the grader checks itself first, shards, a PostgreSQL gradebook, grades that
tell "not submitted" from zero, quiet logs.

The fast tests check the pieces (shards, the driver message, the export, alternative text); the
``instructor`` tests go through the real path: ``python -m autograder grade`` on a broken environment,
and two ``grade`` processes at once, each with its own copy of the course, into one PostgreSQL server.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import grade as grading
from autograder.course import ROOT
from autograder.exercises import EXERCISES
from tests.nbgrader_course import (
    BIN,
    LESSON,
    base_env,
    independent_exercises,
    make_course,
    meta,
    points_lost_without,
    release_notebook,
    solution_notebook,
    solved,
    write,
)
from tests.postgres import pg_bin, postgres_server

STUDENTS = [f"s{n:03d}" for n in range(200)]
# Students per grading machine in the two-machines test (10 in CI; fewer for a quick run on a busy machine).
PER_SHARD = int(os.environ.get("RNN_SCALE_PER_SHARD", "10"))


# ------------------------------------------------------------------------------------------ fast

def test_shards_are_disjoint_stable_and_cover_the_class():
    for n in (1, 2, 3, 7):
        shares = [{s for s in STUDENTS if grading.in_shard(s, (k, n))} for k in range(1, n + 1)]
        assert sum(map(len, shares)) == len(STUDENTS) and set().union(*shares) == set(STUDENTS)
        assert all(shares), f"an empty shard of {n}"
    assert [grading.in_shard(s, (1, 2)) for s in STUDENTS] == [grading.in_shard(s, (1, 2)) for s in STUDENTS]


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1-2", "", "a/b"])
def test_a_malformed_shard_is_one_line(bad):
    with pytest.raises(grading.GradeError, match="expected K/N"):
        grading.parse_shard(bad)


def test_a_missing_postgresql_driver_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if `pip install -e ".[postgres]"` was not run
    with pytest.raises(grading.GradeError) as err:
        grading.check_db_url("postgresql://teacher:secret@db.example/gradebook")
    message = str(err.value)
    assert '.[postgres]' in message and "\n" not in message and "secret" not in message, message


def test_the_postgres_extra_installs_the_driver_sqlalchemy_picks():
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    grading.check_db_url("postgresql://teacher@localhost/gradebook")  # no error: the driver is there


def test_grade_refuses_a_missing_driver_before_anything_else(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setenv("AUTOGRADER_UNSAFE", "1")
    assert grading.grade(["01"], db="postgresql://teacher@localhost/gradebook", cwd=tmp_path) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("grade: ") and ".[postgres]" in out[0], out
    assert not list(tmp_path.iterdir())


def test_export_tells_not_submitted_from_zero_and_keeps_the_time(tmp_path):
    from datetime import datetime

    from nbgrader.api import Gradebook

    from autograder.export import COLUMNS, rows

    with Gradebook(f"sqlite:///{tmp_path / 'gb.db'}") as gb:
        gb.add_assignment("01_feedback_loops")
        for student in ("ann", "ben"):
            gb.add_student(student)
        gb.add_submission("01_feedback_loops", "ann", timestamp=datetime(2026, 3, 1, 9, 30))
        got = {r["student_id"]: r for r in rows(gb)}
    assert list(got["ann"]) == COLUMNS
    assert got["ann"]["submitted"] == "yes" and float(got["ann"]["score"]) == 0.0
    assert got["ann"]["timestamp"].startswith("2026-03-01 09:30")
    assert got["ben"]["submitted"] == "no" and got["ben"]["score"] == "" and got["ben"]["timestamp"] == ""


def test_timestamp_from_the_notebook_when_collected_without_one(tmp_path):
    from autograder.intake import submission_time

    folder = tmp_path / "submitted" / "ann" / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text("{}")
    os.utime(folder / f"{LESSON}.ipynb", (1772357400, 1772357400))  # 2026-03-01 09:30:00 UTC
    (folder / "later.txt").symlink_to("/etc/hostname")  # a link's target's time is not the student's
    assert submission_time(folder).startswith("2026-03-01 09:30:00")
    assert sorted(p.name for p in folder.iterdir()) == [f"{LESSON}.ipynb", "later.txt"]  # nothing written


def test_only_new_or_changed_submissions_are_up_for_grading(tmp_path):
    sub = tmp_path / "submitted" / "ann" / LESSON
    graded = tmp_path / "autograded" / "ann" / LESSON
    sub.mkdir(parents=True)
    graded.mkdir(parents=True)
    (sub / f"{LESSON}.ipynb").write_text("{}")
    assert not grading.up_to_date(tmp_path, "ann", LESSON)  # never graded
    (graded / f"{LESSON}.ipynb").write_text("{}")
    os.utime(sub / f"{LESSON}.ipynb", (1000, 1000))
    assert grading.up_to_date(tmp_path, "ann", LESSON)
    os.utime(sub / f"{LESSON}.ipynb", None)  # resubmitted after grading
    os.utime(graded / f"{LESSON}.ipynb", (1000, 1000))
    assert not grading.up_to_date(tmp_path, "ann", LESSON)


def test_every_figure_gets_alternative_text_from_its_titles():
    import nbformat

    from autograder.quiet import AltText, describe

    assert describe('ax.set_title("Loss falls")\nplt.show()') == "Figure: Loss falls"
    assert describe('ax.set_title(f"a = {a}")') == "Figure: a = …"
    assert describe("plt.xlabel('step'); plt.ylabel('loss')") == "Figure plotting step against loss"
    assert describe("plot(x)") == "Figure drawn by the code cell above"
    cell = nbformat.v4.new_code_cell('ax.set_title("Loss falls")', outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})])
    AltText().preprocess_cell(cell, {}, 0)
    assert cell.outputs[0].metadata["image/png"]["alt"] == "Figure: Loss falls"


def test_lessons_from_an_autograde_command_line(tmp_path):
    from autograder.precheck import lessons_from_argv

    assert lessons_from_argv(["nbgrader", "autograde", "01_x", "--student", "a"], tmp_path) == ["01_x"]
    assert lessons_from_argv(["nbgrader", "autograde", "--student", "a", "02_y"], tmp_path) == ["02_y"]
    assert lessons_from_argv(["nbgrader", "autograde", "--assignment=03_z"], tmp_path) == ["03_z"]
    (tmp_path / "submitted" / "ann" / "04_w").mkdir(parents=True)
    assert lessons_from_argv(["nbgrader", "autograde"], tmp_path) == ["04_w"]


# ------------------------------------------------------------------------------------------ real path

def run_grade(course: Path, *args, timeout=900, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args)], cwd=course,
                          capture_output=True, text=True, timeout=timeout, env=env or base_env(),
                          stdin=subprocess.DEVNULL)


@pytest.mark.instructor
def test_a_broken_environment_stops_grading_before_any_student(tmp_path):
    """A course copy graded with a student package the sandbox cannot import (the copy's own rnnkit,
    not the one installed in the environment): every student would get 0. Grading stops instead, with
    one line, before the gradebook exists."""
    course = make_course(tmp_path / "course")
    shutil.copytree(ROOT / "rnnkit", course / "rnnkit", ignore=shutil.ignore_patterns("__pycache__"))
    write(solution_notebook(), course / "submitted" / "ann" / LESSON / f"{LESSON}.ipynb")
    proc = run_grade(course, LESSON, "--jobs", "1")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("grade:")]
    print("\n" + proc.stdout + f"exit status {proc.returncode}")
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    assert lines and "cannot import rnnkit" in lines[0] and "make setup" in lines[0], proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()
    assert not (course / ".autograder-precheck.json").exists()  # a failure is not cached


def class_of_twenty():
    """2 x PER_SHARD students, PER_SHARD in each of two shards: correct answers, stubs and planted bugs, with
    their fair scores."""
    solution, release = solution_notebook(), release_notebook()
    total = sum(float(meta(c)["points"]) for c in solution.cells if meta(c).get("grade"))
    bugs = []
    for gid in independent_exercises(solution):
        exercise = EXERCISES[gid]
        for bug in exercise.bugs[:2]:
            bugs.append((solved(release, solution, {gid: bug.plant_source(exercise.function)}),
                         total - points_lost_without(solution, exercise.function)))
    kinds = [(solved(release, solution), total), (release, 0.0), *bugs]
    shards = {1: [], 2: []}
    for student in STUDENTS:
        shard = 1 if grading.in_shard(student, (1, 2)) else 2
        if len(shards[shard]) < PER_SHARD:
            shards[shard].append(student)
    chosen = sorted(shards[1] + shards[2])
    return {s: kinds[i % len(kinds)] for i, s in enumerate(chosen)}, total


@pytest.mark.instructor
@pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed (Debian: apt-get install postgresql)")
def test_two_machines_grade_one_class_into_one_postgresql_gradebook(tmp_path):
    pytest.importorskip("psycopg", reason='the postgres extra is not installed: pip install -e ".[postgres]"')
    from nbgrader.api import Gradebook

    students, total = class_of_twenty()
    courses = []
    for machine in ("m1", "m2"):  # each grading machine has its own copy of the course and all submissions
        course = make_course(tmp_path / machine)
        for student, (nb, _) in students.items():
            write(nb, course / "submitted" / student / LESSON / f"{LESSON}.ipynb")
        courses.append(course)
    with postgres_server() as url:
        with Gradebook(url) as gb:  # on the roster, but never submitted
            gb.update_or_create_student("absent")
        env = base_env()
        start = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "autograder", "grade", LESSON, "--db", url, "--jobs", "1",
                                   "--shard", f"{k}/2"], cwd=course, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)
                 for k, course in enumerate(courses, start=1)]
        outs = [p.communicate(timeout=1500) for p in procs]
        seconds = time.monotonic() - start
        for proc, (out, err) in zip(procs, outs):
            assert proc.returncode == 0, out + err[-3000:]
            assert f"graded {PER_SHARD}/{PER_SHARD} submissions: 0 failed, 0 not gradable" in out, out
        with Gradebook(url) as gb:
            got = {}
            for student in students:
                got[student] = gb.find_submission(LESSON, student).score
            rows = len(gb.assignment_submissions(LESSON))
        proc = subprocess.run([str(BIN / "nbgrader"), "export", "--to", "all.csv", f"--CourseDirectory.db_url={url}"],
                              cwd=courses[0], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    exported = {r["student_id"]: r for r in csv.DictReader((courses[0] / "all.csv").open())}
    wrong = {s: (got[s], fair) for s, (_, fair) in students.items() if got[s] != fair}
    print(f"\ntwo shards into PostgreSQL: {len(students)} students, {rows} submissions recorded, "
          f"{len(students) - len(wrong)} right, {len(wrong)} wrong, {seconds:.0f} s")
    assert rows == len(students), f"{rows} submissions recorded for {len(students)} students"
    assert not wrong, f"(got, fair): {wrong}"
    assert exported["absent"]["submitted"] == "no" and exported["absent"]["score"] == ""
    assert all(exported[s]["submitted"] == "yes" and exported[s]["timestamp"] for s in students)
    assert {float(exported[s]["score"]) for s in students} >= {0.0, total}


def test_the_self_check_is_paid_once_per_lesson_and_environment_and_a_failure_is_never_cached(tmp_path, monkeypatch):
    from autograder import precheck

    lesson = tmp_path / "solutions" / LESSON
    lesson.mkdir(parents=True)
    (lesson / f"{LESSON}.ipynb").write_text("{}")
    verdicts, calls = ["the setup cell failed (ModuleNotFoundError: No module named 'rnnkit')", None], []
    monkeypatch.setattr(precheck, "_grade_solution", lambda *a: calls.append(a) or verdicts[min(len(calls), 2) - 1])
    with pytest.raises(precheck.PrecheckFailed, match="before any student: the setup cell failed"):
        precheck.precheck(LESSON, tmp_path)
    assert precheck.precheck(LESSON, tmp_path) is True  # not cached: checked again, and passes
    assert precheck.precheck(LESSON, tmp_path) is False and len(calls) == 2  # cached
    (lesson / f"{LESSON}.ipynb").write_text('{"changed": 1}')  # another solution: checked again
    assert precheck.precheck(LESSON, tmp_path) is True and len(calls) == 3


def test_plain_nbgrader_autograde_stops_with_one_line_when_the_self_check_fails(tmp_path, monkeypatch):
    from traitlets.config import Config

    from autograder import precheck

    (tmp_path / "solutions" / LESSON).mkdir(parents=True)
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    monkeypatch.setattr(precheck, "precheck", lambda *a, **k: (_ for _ in ()).throw(
        precheck.PrecheckFailed(f"{LESSON}: grading stopped before any student: the sandbox cannot import rnnkit")))
    with pytest.raises(SystemExit) as stop:
        precheck.nbgrader_hook(config, ["nbgrader", "autograde", LESSON])
    assert str(stop.value).startswith("nbgrader autograde: ") and "\n" not in str(stop.value)
    precheck.nbgrader_hook(config, ["nbgrader", "export"])  # other commands: no check


def test_a_failed_setup_cell_is_found_and_explained():
    import nbformat

    from autograder.precheck import hint, setup_failure

    nb = solution_notebook()
    setup = next(c for c in nb.cells if meta(c).get("grade_id") == "setup")
    assert setup_failure(nb) is None
    setup.outputs = [nbformat.v4.new_output("error", ename="ModuleNotFoundError",
                                            evalue="No module named 'rnnkit'", traceback=[])]
    assert setup_failure(nb) == "ModuleNotFoundError: No module named 'rnnkit'"
    assert hint(setup_failure(nb)).startswith("the sandbox cannot import rnnkit: run make setup")
