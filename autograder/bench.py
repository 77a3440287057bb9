"""``make bench``: time what users wait for, and print the figures.

- each solution notebook, executed as nbval and ``make execute`` do;
- ``make check`` for one lesson (a learner's fresh copy, as a subprocess: start-up included);
- ``nbgrader autograde`` of one submission (the solution) through nbgrader's Python API, in a
  temporary course folder, per lesson.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from autograder.course import SOLUTIONS, lesson_ids, notebook_path
from autograder.notebooks import execute


def _time(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def autograde_once(lesson, workdir: Path) -> float:
    """Release, submit the solution as one student, and time nbgrader's autograde of it."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.build import _config

    config = _config(workdir)
    config.CourseDirectory.submitted_directory = "submitted"
    config.CourseDirectory.autograded_directory = "autograded"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.generate_assignment(lesson, force=True, create=True)
    student = f"bench{int(time.time() * 1e6)}"
    dest = workdir / "submitted" / student / lesson
    dest.mkdir(parents=True)
    shutil.copy(notebook_path(lesson, SOLUTIONS), dest)
    api.gradebook.update_or_create_student(student)
    start = time.perf_counter()
    result = api.autograde(lesson, student, force=True, create=True)
    seconds = time.perf_counter() - start
    if not result.get("success"):
        raise RuntimeError(f"autograde of {lesson} failed: {result.get('error')}")
    return seconds


def bench(repeat=1) -> int:
    warnings.filterwarnings("ignore", module="nbgrader")  # nbgrader's own SQLAlchemy chatter
    warnings.filterwarnings("ignore", message=".*not in session.*")
    rows = []
    for lesson in lesson_ids():
        seconds = _time(lambda lesson=lesson: execute(notebook_path(lesson, SOLUTIONS)), repeat)
        rows.append((f"execute solutions/{lesson}", seconds))
        print(f"{rows[-1][0]:<52} {seconds:6.1f} s", flush=True)
    first = lesson_ids()[0]
    seconds = _time(lambda: subprocess.run([sys.executable, "-m", "autograder", "check", first],
                                           capture_output=True, check=False), repeat)
    print(f"{'make check ' + first + ' (fresh copy, start-up included)':<52} {seconds:6.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        for lesson in lesson_ids():
            seconds = _time(lambda lesson=lesson: autograde_once(lesson, Path(tmp)), repeat)
            print(f"{'nbgrader autograde, 1 submission of ' + lesson:<52} {seconds:6.1f} s", flush=True)
    return 0
