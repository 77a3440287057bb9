"""``python -m autograder grade``: autograde collected submissions with nbgrader, in parallel, after
checking that the grader can grade.

1. **The grader checks itself first** (:mod:`autograder.precheck`): each lesson's solution is graded
   in the same sandbox and environment; short of full marks, grading stops with one line before the
   gradebook is touched (cached per lesson and environment, so it is paid once).
2. **The lesson is registered** in the gradebook (as ``generate_assignment`` does, ``lessons/`` left
   alone) only when the gradebook does not already hold it unchanged, under a lock (a PostgreSQL
   advisory lock, or a file lock next to an SQLite gradebook), so concurrent runs cannot collide.
3. **Each (student, lesson) is an independent task**: one ``nbgrader autograde LESSON --student S``
   process, run from the course folder with its ``nbgrader_config.py`` (the hardened pipeline of
   :mod:`autograder.nbgrader_plugins`), in a pool of ``--jobs`` processes. ``--shard K/N`` keeps a
   stable, disjoint share of the students (by a hash of their id), ``--students`` an explicit list,
   so several machines can grade one class into one gradebook (``--db postgresql://...``).
4. A failing submission never stops the others; problems are printed one line each; a submission
   whose setup cell failed is "not gradable". The summary counts graded, failed and not-gradable
   submissions, and the exit status is 1 when any could not be graded. Grades are exported with
   :class:`autograder.export.GradesExport` (a ``submitted`` column; blank when not submitted).

Without a lesson, only new or changed submissions are graded (the autograded notebook is older than
the submission, or missing); the run says how many it skips.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.course import ROOT, lesson_ids

PROBLEM = re.compile(r"\[(?:AutogradeApp|Autograde)[^\]]*\|\s*(WARNING|ERROR)\]\s*(.*)")
POSTGRES_EXTRA = 'pip install -e ".[postgres]"'
LOCK_KEY = 0x726E6E5F6772  # the PostgreSQL advisory lock that serialises registering a lesson


class GradeError(RuntimeError):
    """Grading cannot start; str() is one line."""


def _nbgrader(args, db, cwd, extra=()):
    cmd = [str(Path(sys.executable).parent / "nbgrader"), *args, *extra]
    if db:
        cmd.append(f"--CourseDirectory.db_url={db}")
    # stdin closed and outputs to files: a process of a submission can hold no pipe of ours open
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                              text=True)
        out.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), "")


# ----------------------------------------------------------------------------------------- gradebook

def check_db_url(db: str):
    """Raise GradeError (one line) when the URL's database driver is not installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(db)
        dialect = url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise GradeError(f"--db {db!r} is not a database URL SQLAlchemy knows: {exc}") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        if url.get_backend_name() == "postgresql":
            raise GradeError(f"the gradebook {url.render_as_string(hide_password=True)} needs a PostgreSQL "
                             f"driver ({exc.name or exc}): install the course's extra, {POSTGRES_EXTRA}") from None
        raise GradeError(f"the gradebook's database driver is not installed: {exc}") from None


def db_url_of(db, cwd) -> str:
    return db or f"sqlite:///{Path(cwd) / 'gradebook.db'}"


@contextlib.contextmanager
def registration_lock(db_url: str, cwd: Path):
    """Held while a lesson is registered: one registrant at a time per gradebook, across machines."""
    if db_url.startswith("postgresql"):
        import sqlalchemy

        engine = sqlalchemy.create_engine(db_url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                conn.commit()
        engine.dispose()
        return
    import fcntl

    path = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else Path(cwd) / "gradebook"
    with open(path.parent / f".{path.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def registered(gb, lesson: str, cwd: Path) -> bool:
    """True when the gradebook holds ``lesson`` with the cells and points of its source notebook."""
    from nbgrader.api import MissingEntry

    from autograder.course import nbgrader_meta, read_notebook

    nb = read_notebook(Path(cwd) / "solutions" / lesson / f"{lesson}.ipynb")
    cells = {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("grade_id")
             and any(nbgrader_meta(c).get(k) for k in ("grade", "solution", "locked", "task"))}
    try:
        record = gb.find_notebook(lesson, lesson)
    except MissingEntry:
        return False
    sources = {c.name: c.source for c in record.source_cells}
    points = {c.name: float(c.max_score) for c in record.grade_cells}
    if set(sources) != set(cells):
        return False
    for gid, cell in cells.items():  # answer cells are stored as stubs: their text is not compared
        if not nbgrader_meta(cell).get("solution") and sources[gid] != cell.source:
            return False
    wanted = {gid: float(nbgrader_meta(c).get("points", 0))
              for gid, c in cells.items() if nbgrader_meta(c).get("grade")}
    return points == wanted


def register(lessons, students, db, cwd):
    """Each lesson and student in the gradebook, idempotent and safe when several runs do it at once."""
    from nbgrader.api import Gradebook

    url = db_url_of(db, cwd)
    with registration_lock(url, cwd):
        for lesson in lessons:
            with Gradebook(url) as gb:  # the first open creates the tables, under the lock too
                known = registered(gb, lesson, cwd)
            if known:
                continue
            with tempfile.TemporaryDirectory(prefix="grade-release-") as tmp:
                proc = _nbgrader(["generate_assignment", lesson, "--force",
                                  f"--CourseDirectory.release_directory={tmp}"], db, cwd)
            if proc.returncode != 0:
                last = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-1:] or ["no output"]
                raise GradeError(f"{lesson}: could not register the lesson in the gradebook: {last[0][:300]}")
        with Gradebook(url) as gb:
            for student in students:
                gb.update_or_create_student(student)


# ----------------------------------------------------------------------------------------- submissions

def in_shard(student: str, shard) -> bool:
    """Stable and disjoint: the same student is in the same one of N shards on every machine and run."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n == k - 1


def parse_shard(text: str):
    m = re.fullmatch(r"(\d+)/(\d+)", text or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise GradeError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 1/2")
    return int(m.group(1)), int(m.group(2))


def _newest(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file() and p.name != "timestamp.txt"),
               default=0.0)


def up_to_date(cwd: Path, student: str, lesson: str) -> bool:
    graded = Path(cwd) / "autograded" / student / lesson / f"{lesson}.ipynb"
    return graded.is_file() and graded.stat().st_mtime >= _newest(Path(cwd) / "submitted" / student / lesson)


def _autograde(student, lesson, db, cwd, timeout=None, unsafe=False):
    from autograder.course import read_notebook
    from autograder.precheck import setup_failure

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
        return student, lesson, "failed", problems
    graded = Path(cwd) / "autograded" / student / lesson / f"{lesson}.ipynb"
    try:
        failed_setup = setup_failure(read_notebook(graded))
    except Exception as exc:  # noqa: BLE001 - an unreadable autograded notebook is a problem line too
        failed_setup = f"the autograded notebook could not be read ({type(exc).__name__})"
    if failed_setup:
        problems.append(f"not gradable: the setup cell failed ({failed_setup[:200]}); its score means nothing")
        return student, lesson, "not gradable", problems
    return student, lesson, "graded", problems


# ----------------------------------------------------------------------------------------- the run

def _course_config(cwd: Path, unsafe: bool):
    """The course's nbgrader configuration, as an autograde process of it will see its config file."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (Path(cwd) / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(cwd)).load_config()
    config.CourseDirectory.root = str(Path(cwd).resolve())
    if unsafe:
        config.SafeExecute.unsafe = True
    return config


def grade(lessons=None, jobs=None, db=None, csv="grades.csv", cwd=None, stream=None, timeout=None,
          unsafe=False, shard=None, students=None, regrade_all=False, precheck=True) -> int:
    """Grade from ``cwd``: by default the current folder when it has an nbgrader_config.py, else the repo.

    Students' code runs in the bubblewrap sandbox (:mod:`autograder.sandbox`); without bwrap this
    stops with one line, unless ``unsafe`` (then a warning is printed on every run). Exit status 0
    when every selected submission was graded, 1 otherwise (or when grading could not start).
    """
    from autograder.sandbox import SandboxUnavailable, cleanup_cgroups, require

    out = stream or sys.stdout
    # nbgrader runs tools of its environment (alembic) as subprocesses: put them on PATH.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    def say(message):
        print(message, file=out, flush=True)

    try:
        unsafe = require(unsafe) is None
        if db:
            check_db_url(db)
        shard = parse_shard(shard) if isinstance(shard, str) else shard
    except (SandboxUnavailable, GradeError) as exc:
        say(f"grade: {exc}")
        return 1

    if cwd is None:
        cwd = Path.cwd() if (Path.cwd() / "nbgrader_config.py").exists() else ROOT
    cwd = Path(cwd)
    known = lesson_ids()
    chosen = [next((k for k in known if k == x or k.split("_", 1)[0] == x), x) for x in lessons] if lessons else known
    submitted = cwd / "submitted"
    wanted = set(students or [])
    tasks = sorted((s.name, lesson) for s in submitted.iterdir() if s.is_dir()
                   for lesson in chosen if (s / lesson).is_dir()) if submitted.is_dir() else []
    tasks = [(s, lesson) for s, lesson in tasks if (not wanted or s in wanted) and in_shard(s, shard)]
    if not tasks:
        share = f" for shard {shard[0]}/{shard[1]}" if shard else ""
        say(f"no submissions found under {submitted}/<student>/<lesson>/{share}")
        return 1
    skipped = 0
    if not lessons and not regrade_all:
        fresh = [(s, lesson) for s, lesson in tasks if not up_to_date(cwd, s, lesson)]
        skipped = len(tasks) - len(fresh)
        tasks = fresh
        per_lesson = sorted({lesson for _, lesson in tasks})
        say(f"grading {len(tasks)} new or changed submission(s) of {', '.join(per_lesson) or 'no lesson'}; "
            f"{skipped} already graded and unchanged (name the lessons, or pass --all, to re-grade them)")
    to_grade = sorted({lesson for _, lesson in tasks})

    if precheck:
        from autograder.precheck import PrecheckFailed
        from autograder.precheck import precheck as check_lesson

        config = _course_config(cwd, unsafe)
        for lesson in to_grade:
            try:
                check_lesson(lesson, cwd, config, log=say)
            except PrecheckFailed as exc:
                say(f"grade: {exc}")
                say("grade: nothing was graded and the gradebook was not touched")
                return 1
    try:
        register(to_grade, sorted({s for s, _ in tasks}), db, cwd)
    except GradeError as exc:
        say(f"grade: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - a database that refuses us: one line, not a traceback
        say(f"grade: could not open the gradebook {db or 'gradebook.db'}: {type(exc).__name__}: "
            f"{(str(exc).strip().splitlines() or [''])[0][:300]}")
        return 1

    from tqdm import tqdm

    jobs = jobs or os.cpu_count() or 1
    counts = {"graded": 0, "failed": 0, "not gradable": 0}
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each task is its own nbgrader process
        futures = [pool.submit(_autograde, s, lesson, db, cwd, timeout, unsafe) for s, lesson in tasks]
        for future in tqdm(as_completed(futures), total=len(futures), desc="autograde", unit="submission",
                           file=sys.stderr, disable=None):
            student, lesson, outcome, problems = future.result()
            counts[outcome] += 1
            for problem in problems:
                tqdm.write(f"{student}/{lesson}: {problem}", file=out)
    cleanup_cgroups()
    proc = _nbgrader(["export", "--to", csv, "--ExportApp.plugin_class=autograder.export.GradesExport"], db, cwd)
    if proc.returncode != 0:
        say(f"export failed: {(proc.stdout + proc.stderr).strip().splitlines()[-1:]}")
        return 1
    say(f"graded {counts['graded']}/{len(tasks)} submissions: {counts['failed']} failed, "
        f"{counts['not gradable']} not gradable; grades written to {csv}")
    return 0 if counts["graded"] == len(tasks) else 1
