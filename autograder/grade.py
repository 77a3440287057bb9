"""``python -m autograder grade``: autograde every collected submission with nbgrader, in parallel.

Each (student, lesson) is an independent task: one ``nbgrader autograde LESSON --student S`` process,
run from the repository root with its ``nbgrader_config.py`` (so the hardened pipeline of
:mod:`autograder.nbgrader_plugins` applies). Tasks run in a pool of ``--jobs`` processes with a
progress bar; a failing submission never stops the others; problems are printed one line each;
at the end the grades are exported to CSV with ``nbgrader export``. The gradebook is nbgrader's
(SQLite by default, or any SQLAlchemy URL nbgrader accepts via ``--db``), so the same tasks could
be spread over a cluster.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.course import ROOT, lesson_ids

PROBLEM = re.compile(r"\[(?:AutogradeApp|Autograde)[^\]]*\|\s*(WARNING|ERROR)\]\s*(.*)")


def _nbgrader(args, db, cwd, extra=()):
    cmd = [str(Path(sys.executable).parent / "nbgrader"), *args, *extra]
    if db:
        cmd.append(f"--CourseDirectory.db_url={db}")
    # stdin closed and outputs to files: a process of a submission can hold no pipe of ours open
    import tempfile

    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                              text=True)
        out.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), "")


def _ensure_assignment(lesson, db, cwd):
    """Put the lesson's source cells in the gradebook (as generate_assignment does), leaving lessons/ alone."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="grade-release-") as tmp:
        proc = _nbgrader(["generate_assignment", lesson, "--force",
                          f"--CourseDirectory.release_directory={tmp}"], db, cwd)
    return proc.returncode == 0, proc.stdout + proc.stderr


def _autograde(student, lesson, db, cwd, timeout=None, unsafe=False):
    extra = [f"--SafeExecute.timeout={timeout}", f"--VerifyAnswers.timeout={timeout}"] if timeout else []
    if unsafe:
        extra.append("--SafeExecute.unsafe=True")
    problems = []
    for attempt in range(2):  # SQLite can be briefly locked by a parallel writer: retry once
        proc = _nbgrader(["autograde", lesson, "--student", student, "--force"], db, cwd, extra)
        text = proc.stdout + proc.stderr
        if proc.returncode == 0 or "database is locked" not in text or attempt:
            break
    for line in text.splitlines():
        m = PROBLEM.search(line)
        if m and not m.group(2).startswith("Removing existing assignment"):  # a re-grade: expected
            problems.append(m.group(2).strip().replace(
                "encountered, adding to notebook", "was deleted by the student; restored from the source"))
    if proc.returncode != 0:
        last = [ln for ln in text.splitlines() if ln.strip()][-1:] or ["no output"]
        problems.append(f"autograde failed: {last[0][:200]}")
    return student, lesson, proc.returncode == 0, problems


def grade(lessons=None, jobs=None, db=None, csv="grades.csv", cwd=None, stream=None, timeout=None,
          unsafe=False) -> int:
    """Grade from ``cwd``: by default the current folder when it has an nbgrader_config.py, else the repo.

    Students' code runs in the bubblewrap sandbox (:mod:`autograder.sandbox`); without bwrap this
    stops with one line, unless ``unsafe`` (then a warning is printed on every run).
    """
    import os

    from autograder.sandbox import SandboxUnavailable, cleanup_cgroups, require

    try:
        unsafe = require(unsafe) is None
    except SandboxUnavailable as exc:
        print(f"grade: {exc}", file=stream or sys.stdout)
        return 1

    if cwd is None:
        cwd = Path.cwd() if (Path.cwd() / "nbgrader_config.py").exists() else ROOT

    from tqdm import tqdm

    out = stream or sys.stdout
    known = lesson_ids()
    lessons = [next((k for k in known if k == x or k.split("_", 1)[0] == x), x) for x in lessons] if lessons else known
    submitted = Path(cwd) / "submitted"
    tasks = sorted((s.name, lesson) for s in submitted.iterdir() if s.is_dir()
                   for lesson in lessons if (s / lesson).is_dir()) if submitted.is_dir() else []
    if not tasks:
        print(f"no submissions found under {submitted}/<student>/<lesson>/", file=out)
        return 1
    for lesson in sorted({lesson for _, lesson in tasks}):
        ok, log = _ensure_assignment(lesson, db, cwd)
        if not ok:
            print(f"{lesson}: could not register the lesson in the gradebook: {log.strip().splitlines()[-1:]}",
                  file=out)
    from nbgrader.api import Gradebook

    with Gradebook(db or f"sqlite:///{Path(cwd) / 'gradebook.db'}") as gb:  # one connection for all
        for student in sorted({s for s, _ in tasks}):
            gb.update_or_create_student(student)
    jobs = jobs or os.cpu_count() or 1
    failures = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each task is its own nbgrader process
        futures = [pool.submit(_autograde, s, lesson, db, cwd, timeout, unsafe) for s, lesson in tasks]
        for future in tqdm(as_completed(futures), total=len(futures), desc="autograde", unit="submission",
                           file=sys.stderr):
            student, lesson, ok, problems = future.result()
            failures += not ok
            for problem in problems:
                tqdm.write(f"{student}/{lesson}: {problem}", file=out)
    cleanup_cgroups()
    proc = _nbgrader(["export", "--to", csv], db, cwd)
    if proc.returncode != 0:
        print(f"export failed: {(proc.stdout + proc.stderr).strip().splitlines()[-1:]}", file=out)
        return 1
    print(f"graded {len(tasks) - failures}/{len(tasks)} submissions; grades written to {csv}", file=out)
    return 0
