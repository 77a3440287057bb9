"""Helpers for the instructor tests (marker ``instructor``): a throwaway copy of the course, nbgrader's
own commands run with the repository's nbgrader_config.py, and students' notebooks made from the
release and the solution.

Everything is decided from the notebooks themselves (grade ids, ``points`` metadata, which function
an answer cell defines), so the tests follow the lessons and the grader as they change.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
LESSON = sorted(p.name for p in SOLUTIONS.iterdir() if re.fullmatch(r"\d\d_[a-z0-9_]+", p.name))[0]
COURSE_ID = "rnn-course"  # c.CourseDirectory.course_id in nbgrader_config.py
BIN = Path(sys.executable).parent
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def read(path: Path):
    return nbformat.read(str(path), as_version=4)


def write(nb, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def solution_notebook(lesson=LESSON):
    return read(SOLUTIONS / lesson / f"{lesson}.ipynb")


def release_notebook(lesson=LESSON):
    return read(LESSONS / lesson / f"{lesson}.ipynb")


def base_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "/usr/bin:/bin")])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def nbgrader(cwd: Path, *args, timeout=600, env=None, check=True) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` (the instructor's command) in ``cwd``; fails the test on a non-zero exit."""
    proc = subprocess.run([str(BIN / "nbgrader"), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env or base_env())
    if check:
        assert proc.returncode == 0, f"nbgrader {' '.join(map(str, args))} failed ({proc.returncode}):\n" + \
            proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def make_course(folder: Path) -> Path:
    """An instructor's course folder: the repository's nbgrader_config.py, solutions/ and lessons/."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(SOLUTIONS, folder / "solutions", ignore=ignore)
    shutil.copytree(LESSONS, folder / "lessons", ignore=ignore)
    return folder


# ------------------------------------------------------------------------------ students' notebooks

def answer_cells(nb) -> dict:
    """grade id -> answer cell (nbgrader ``solution`` cells)."""
    return {meta(c)["grade_id"]: c for c in nb.cells if meta(c).get("solution") and c.cell_type == "code"}


def defined_function(cell) -> str:
    match = re.search(r"^def (\w+)\(", cell.source, re.M)
    assert match, f"answer cell {meta(cell).get('grade_id')} defines no function"
    return match.group(1)


def graded_points(nb) -> dict:
    """grade id of each graded cell -> its points (nbgrader ``points`` metadata)."""
    return {meta(c)["grade_id"]: float(meta(c)["points"]) for c in nb.cells if meta(c).get("grade")}


def points_lost_without(nb, function: str) -> float:
    """Points of the graded cells that call ``function``: what a wrong ``function`` costs."""
    call = re.compile(rf"\b{re.escape(function)}\s*\(")
    return sum(float(meta(c)["points"]) for c in nb.cells if meta(c).get("grade") and call.search(c.source))


def independent_exercises(nb) -> list[str]:
    """Answer cells whose function no other answer cell uses: a wrong one costs only its own test's points."""
    answers = answer_cells(nb)
    found = []
    for gid, cell in answers.items():
        name = defined_function(cell)
        used = re.compile(rf"\b{re.escape(name)}\b")
        if not any(used.search(other.source) for g, other in answers.items() if g != gid):
            found.append(gid)
    return found


def solved(release, solution, replace: dict | None = None):
    """The release notebook with the solution's answer cells pasted in (markers removed), as a student
    who solved everything would submit it; ``replace`` maps grade ids to other sources."""
    nb = nbformat.reads(nbformat.writes(release), as_version=4)  # a deep copy
    theirs = answer_cells(solution)
    for gid, cell in answer_cells(nb).items():
        cell.source = (replace or {}).get(gid, MARKERS.sub("", theirs[gid].source))
    return nb


# ------------------------------------------------------------------------------------------- grades

def exported_scores(course: Path, lesson=LESSON) -> dict:
    """student id -> (score, max_score) for ``lesson``, from ``nbgrader export``."""
    nbgrader(course, "export", "--to", "grades.csv")
    scores = {}
    with (course / "grades.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["assignment"] == lesson:
                score = float(row["score"]) if row["score"] != "" else None  # blank: nothing submitted
                scores[row["student_id"]] = (score, float(row["max_score"]))
    return scores


def gradebook_records(course: Path, students, lesson=LESSON) -> dict:
    """Every grade and comment the gradebook holds for ``students`` (what an attacker must not change)."""
    from nbgrader.api import Gradebook

    records = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        for student in students:
            submission = gb.find_submission(lesson, student)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    records[(student, nb.name, grade.name)] = (grade.auto_score, grade.manual_score,
                                                               grade.extra_credit, grade.needs_manual_grade)
                for comment in nb.comments:
                    records[(student, nb.name, "comment", comment.name)] = (comment.auto_comment,
                                                                           comment.manual_comment)
            records[(student, "timestamp")] = str(submission.timestamp)
    return records


def graded_course(folder: Path, submissions: dict, lesson=LESSON) -> Path:
    """A course whose gradebook holds ``submissions`` (student id -> notebook) for ``lesson``, autograded
    with nbgrader's own commands (generate_assignment, db student add, autograde)."""
    course = make_course(folder)
    nbgrader(course, "generate_assignment", lesson, "--force")
    for student, nb in submissions.items():
        write(nb, course / "submitted" / student / lesson / f"{lesson}.ipynb")
        nbgrader(course, "db", "student", "add", student, "--first-name", student.title(), "--last-name", "Test")
    nbgrader(course, "autograde", lesson)
    return course
