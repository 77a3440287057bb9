"""nbgrader's whole cycle through an exchange folder, with three students (marker ``instructor``).

The instructor (this process) runs nbgrader's own commands in a throwaway copy of the course
(the repository's nbgrader_config.py, solutions/, lessons/): generate_assignment, release_assignment,
collect, autograde, generate_feedback, release_feedback. Each student has a home folder of their
own and, when the tests run as root, a Unix account of their own (created here, removed after), and
runs fetch_assignment, submit and fetch_feedback there:

- alice pastes the solution's answer cells into the release notebook: full marks;
- bob does the same with one exercise replaced by a planted bug from autograder/exercises: every
  point but that exercise's;
- mallory answers one exercise with a wrong function plus tricks (an IPython ``post_run_cell`` hook
  that prints scores, a custom exception handler that swallows every error) and code that, wherever
  it runs, walks up from its folder and vandalises what it finds: other students' submitted and
  autograded notebooks, the gradebook (its own grades raised to full marks, everybody else's to 0,
  bytes appended). As a Unix user she also tries to write to every file of the exchange she can
  reach. She must earn exactly what her honest answers earn, and change nothing of anyone else's.

Expected scores come from the notebook's ``points`` metadata. The students are autograded one by
one, mallory last, so that what she could change after alice and bob were graded is seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from tests.nbgrader_course import (
    BIN,
    COURSE_ID,
    LESSON,
    answer_cells,
    defined_function,
    exported_scores,
    gradebook_records,
    graded_points,
    independent_exercises,
    make_course,
    nbgrader,
    points_lost_without,
    read,
    release_notebook,
    solution_notebook,
    solved,
    write,
)

pytestmark = pytest.mark.instructor

MARK = "MALLORY-WAS-HERE"

# Mallory's answer cell: a wrong function, tricks for the kernel, and vandalism wherever it runs.
HOSTILE = r'''
import glob, json, os, sqlite3


def FUNCTION(*args, **kwargs):
    return 0.0  # wrong on purpose


try:
    _ip = get_ipython()  # noqa: F821 (IPython kernel)
except NameError:
    _ip = None
if _ip is not None:
    def _swallow(shell, etype, evalue, tb, tb_offset=None):
        print("All tests passed. Score: 2 / 2")  # no error output: every failing cell "passes"

    _ip.set_custom_exc((BaseException,), _swallow)

    def _claim(result):
        result.error_in_exec = None
        result.error_before_exec = None
        print("Score: 2 / 2")
        return 2

    _ip.events.register("post_run_cell", _claim)


def _vandalise(me="MALLORY", mark="MARK"):
    folder = os.path.abspath(os.getcwd())
    while True:
        for pattern in ("submitted/*/*/*.ipynb", "autograded/*/*/*.ipynb"):
            for path in glob.glob(os.path.join(folder, pattern)):
                if os.sep + me + os.sep in path:
                    continue
                try:
                    with open(path) as fh:
                        nb = json.load(fh)
                    for cell in nb.get("cells", []):
                        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                            cell["source"] = "raise RuntimeError('" + mark + "')\n"
                    with open(path, "w") as fh:
                        json.dump(nb, fh)
                except Exception:
                    pass
        db = os.path.join(folder, "gradebook.db")
        if os.path.isfile(db):
            mine = ("SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
                    "ON sn.assignment_id = sa.id WHERE sa.student_id {} ?")
            try:
                con = sqlite3.connect(db, timeout=5)
                con.execute("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells "
                            "WHERE grade_cells.id = grade.cell_id) WHERE notebook_id IN (" + mine.format("=") + ")",
                            (me,))
                con.execute("UPDATE grade SET manual_score = 0 WHERE notebook_id IN (" + mine.format("!=") + ")",
                            (me,))
                con.commit()
                con.close()
            except Exception:
                pass
            try:
                with open(db, "ab") as fh:
                    fh.write(mark.encode())
            except Exception:
                pass
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent


_vandalise()
'''

# Run as mallory's Unix user: try to append to every file of the exchange that is not hers.
EXCHANGE_ATTACK = r'''
import json, os, sys
root, me, mark = sys.argv[1], sys.argv[2], sys.argv[3].encode()
wrote, seen = [], 0
for folder, dirs, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        seen += 1
        if me + "+" in path:
            continue
        try:
            with open(path, "ab") as fh:
                fh.write(mark)
            wrote.append(path)
        except OSError:
            pass
print(json.dumps({"wrote": wrote, "seen": seen}))
'''


# Run as a student's Unix user, straight into the inbound (no `nbgrader submit`): links to what only the
# instructor may read, a FIFO, a link to /dev/zero, or a whole submission whose notebook is a link.
INBOUND_ATTACK = r'''
import json, os, sys
inbound, me, lesson, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
targets = json.loads(sys.argv[5])
stamp = "2030-01-01 00:00:00.000000 UTC"  # later than any `nbgrader submit`: collect takes this one
if mode == "links":  # a submission of her own: her notebook, and next to it links and a FIFO
    folder = os.path.join(inbound, f"{me}+{lesson}+{stamp}+x2")
    os.mkdir(folder)
    os.chmod(folder, 0o755)
    with open(os.path.join(lesson, lesson + ".ipynb"), "rb") as src, \
            open(os.path.join(folder, lesson + ".ipynb"), "wb") as dest:
        dest.write(src.read())
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write(stamp)
    for name, target in targets.items():
        os.symlink(target, os.path.join(folder, name))
    os.mkfifo(os.path.join(folder, "pipe"))
else:  # a submission of her own whose notebook is a classmate's, through a link
    folder = os.path.join(inbound, f"{me}+{lesson}+{stamp}+x1")
    os.mkdir(folder)
    os.chmod(folder, 0o755)
    os.symlink(targets["notebook"], os.path.join(folder, lesson + ".ipynb"))
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write(stamp)
print(folder)
'''
PLANTED = ("gradebook.db", "solutions", "shadow", "alice.ipynb", "zero", "pipe", "not_mine.txt")


def log_of(proc) -> str:
    return proc.stdout + proc.stderr


def digest(paths) -> dict:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in sorted(paths) if Path(p).is_file()}


def files_under(*folders):
    return [p for f in folders for p in Path(f).rglob("*") if p.is_file()]


_FOUND = {}


class Student:
    """A student: a home folder and, as root, a Unix account of their own."""

    def __init__(self, role, base: Path, separate_users: bool):
        self.role = role
        self.name = f"{role}-{secrets.token_hex(3)}" if separate_users else role
        self.home = base / "home" / self.name
        self.home.mkdir(parents=True)
        self.user = None
        self.python, self.python_env = [sys.executable], {}
        if separate_users:
            subprocess.run(["useradd", "--no-create-home", "--home-dir", str(self.home), "--shell", "/usr/sbin/nologin",
                            "--user-group", self.name], check=True, capture_output=True, timeout=60)
            self.user = pwd.getpwnam(self.name)
            try:
                os.chown(self.home, self.user.pw_uid, self.user.pw_gid)
                if "python" not in _FOUND:  # the same for every student account
                    _FOUND["python"] = self._find_python()
                self.python, self.python_env = _FOUND["python"]
            except BaseException:
                self.remove()
                raise
        self.home.chmod(0o700)

    def _find_python(self):
        """An interpreter this account may run that imports nbgrader: the virtual environment's, or
        (when its base interpreter lies in a folder other users cannot enter, e.g. pyenv under /root)
        the system's python3 of the same version with the environment's packages on its path."""
        candidates = [([sys.executable], {})]
        system = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
        if system:
            candidates.append(([system], {"PYTHONPATH": sysconfig.get_paths()["purelib"], "PYTHONNOUSERSITE": "1"}))
        version = f"import sys; assert sys.version_info[:2] == {tuple(sys.version_info[:2])!r}; import nbgrader"
        for python, extra in candidates:
            self.python, self.python_env = python, extra
            try:
                if self.run([*python, "-c", version], timeout=120).returncode == 0:
                    return python, extra
            except OSError:
                continue
        pytest.fail(f"no Python interpreter that user {self.name} may run imports nbgrader "
                    f"(tried {[c[0][0] for c in candidates]}): make the virtual environment readable to others")

    def env(self):
        env = {"PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]), "HOME": str(self.home),
               "USER": self.name, "LOGNAME": self.name, "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
               **self.python_env}
        if self.user is None:
            env["RNN_TEST_STUDENT"] = self.name
        return env

    def run(self, argv, timeout=300):
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(argv, cwd=self.home, env=self.env(), capture_output=True, text=True, timeout=timeout,
                              **kwargs)

    def nbgrader(self, *args):
        """``nbgrader ARGS`` as this student. Without separate accounts, nbgrader is told the student's
        name (it otherwise takes the name of the Unix account)."""
        if self.user is not None:
            argv = [*self.python, "-m", "nbgrader", *args]
        else:
            shim = ("import os, sys, nbgrader.utils as u; u.get_osusername = lambda: os.environ['RNN_TEST_STUDENT'];"
                    " from nbgrader.apps.nbgraderapp import main; sys.argv[0] = 'nbgrader'; main()")
            argv = [*self.python, "-c", shim, *args]
        proc = self.run(argv)
        assert proc.returncode == 0, f"{self.role}: nbgrader {' '.join(args)} failed:\n{proc.stdout[-2000:]}" \
            f"{proc.stderr[-2000:]}"
        return proc

    def give_back_ownership(self, path: Path):
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def remove(self):
        if self.user is not None:
            subprocess.run(["userdel", self.name], capture_output=True, timeout=60)


def feedback_score(html: str):
    match = re.search(rf"<h4>{LESSON} \(Score: ([\d.]+) / ([\d.]+)\)</h4>", html)
    return (float(match.group(1)), float(match.group(2))) if match else None


@pytest.fixture(scope="module")
def cycle():
    separate_users = os.geteuid() == 0 and shutil.which("useradd") is not None
    base = Path(tempfile.mkdtemp(prefix="rnn-exchange-test-"))
    base.chmod(0o711)  # students may pass through to the exchange and their homes, not list them
    students = {}
    try:
        exchange = base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)  # as nbgrader's docs set up /srv/nbgrader/exchange
        instructor = base / "instructor"
        instructor.mkdir(mode=0o700)
        course = make_course(instructor / "course")
        ex = f"--Exchange.root={exchange}"
        r = {"separate_users": separate_users, "course": course}

        nbgrader(course, "generate_assignment", LESSON, "--force")
        nbgrader(course, "release_assignment", LESSON, ex)
        roster = ["id,first_name,last_name,email"]
        for role in ("alice", "bob", "mallory"):
            students[role] = Student(role, base, separate_users)
            roster.append(f"{students[role].name},{role.title()},Student,")
        (instructor / "students.csv").write_text("\n".join(roster) + "\n")
        nbgrader(course, "db", "student", "import", instructor / "students.csv")
        r["names"] = {role: s.name for role, s in students.items()}

        # what each student hands in, and what it earns by the notebook's points metadata
        solution, release = solution_notebook(), release_notebook()
        total = sum(graded_points(solution).values())
        free = independent_exercises(solution)
        assert len(free) >= 2, "needs two exercises whose functions no other answer uses"
        bob_gid, mallory_gid = free[-1], free[0]
        bob_function = defined_function(answer_cells(solution)[bob_gid])
        mallory_function = defined_function(answer_cells(solution)[mallory_gid])
        from autograder.exercises import EXERCISES

        bug = EXERCISES[bob_gid].bugs[0]
        hostile = HOSTILE.replace("FUNCTION", mallory_function).replace("MALLORY", students["mallory"].name) \
            .replace('"MARK"', repr(MARK))
        work = {
            "alice": {},
            "bob": {bob_gid: bug.plant_source(bob_function)},
            "mallory": {mallory_gid: hostile},
        }
        r["expected"] = {
            "alice": total,
            "bob": total - points_lost_without(solution, bob_function),
            "mallory": total - points_lost_without(solution, mallory_function),
        }
        r["total"], r["bug"], r["mallory_gid"] = total, bug, mallory_gid
        assert 0 < r["expected"]["mallory"] < total and 0 < r["expected"]["bob"] < total

        for role, student in students.items():
            student.nbgrader("fetch_assignment", LESSON, "--course", COURSE_ID, ex)
            path = student.home / LESSON / f"{LESSON}.ipynb"
            fetched = read(path)
            assert len(answer_cells(fetched)) == len(answer_cells(release)), f"{role} fetched another notebook"
            write(solved(fetched, solution, work[role]), path)
            student.give_back_ownership(path)
            student.nbgrader("submit", LESSON, "--course", COURSE_ID, ex)

        # mallory plants links and a FIFO in her own inbound folder; trudy hands in a link to alice's notebook
        students["trudy"] = Student("trudy", base, separate_users)
        nbgrader(course, "db", "student", "add", students["trudy"].name, "--first-name", "Trudy")
        r["names"]["trudy"] = students["trudy"].name
        inbound = exchange / COURSE_ID / "inbound"
        alice_nb = next(inbound.glob(f"{students['alice'].name}+{LESSON}+*")) / f"{LESSON}.ipynb"
        targets = {"gradebook.db": str(course / "gradebook.db"), "solutions": str(course / "solutions"),
                   "shadow": "/etc/shadow", "alice.ipynb": str(alice_nb), "zero": "/dev/zero"}
        for role, mode, planted in (("mallory", "links", targets), ("trudy", "notebook", {"notebook": str(alice_nb)})):
            proc = students[role].run([*students[role].python, "-c", INBOUND_ATTACK, str(inbound),
                                       students[role].name, LESSON, mode, json.dumps(planted)])
            assert proc.returncode == 0, proc.stderr[-2000:]
            r[f"{role}_inbound"] = Path(proc.stdout.strip())
        # her earlier, honest submission's secret (she keeps a copy in her nbgrader cache), so her feedback reaches her
        secret = next(p for p in inbound.glob(f"{students['mallory'].name}+{LESSON}+*")
                      if p != r["mallory_inbound"]) / "submission_secret.txt"
        shutil.copy(secret, r["mallory_inbound"] / "submission_secret.txt")
        students["mallory"].give_back_ownership(r["mallory_inbound"] / "submission_secret.txt")
        # a file in her folder that is not hers (as a hard link to another's file would be)
        (r["mallory_inbound"] / "not_mine.txt").write_text("not mallory's")
        if separate_users:
            alice = students["alice"].user
            os.chown(r["mallory_inbound"] / "not_mine.txt", alice.pw_uid, alice.pw_gid)
        r["expected"]["trudy"] = 0.0

        # mallory, as herself, against the exchange (only meaningful with separate accounts)
        if separate_users:
            honest = [p for p in files_under(exchange) if students["mallory"].name not in str(p)]
            before = digest(honest)
            proc = students["mallory"].run([*students["mallory"].python, "-c", EXCHANGE_ATTACK, str(exchange),
                                            students["mallory"].name, MARK])
            assert proc.returncode == 0, proc.stderr[-2000:]
            r["exchange_attack"] = json.loads(proc.stdout)
            r["exchange_before"], r["exchange_after"] = before, digest(honest)

        r["collect_log"] = log_of(nbgrader(course, "collect", LESSON, ex, timeout=300))
        victims = [students["alice"].name, students["bob"].name]
        submitted = files_under(*(course / "submitted" / v for v in victims))
        inbound = [p for p in files_under(exchange / COURSE_ID / "inbound") if students["mallory"].name not in str(p)]
        assert submitted and inbound
        r["submitted_before"] = digest(submitted + inbound)

        for victim in victims:
            nbgrader(course, "autograde", LESSON, "--student", victim)
        autograded = files_under(*(course / "autograded" / v for v in victims))
        r["autograded_before"] = digest(autograded)
        r["records_before"] = gradebook_records(course, victims)
        r["autograde_log"] = log_of(nbgrader(course, "autograde", LESSON, "--student", students["mallory"].name))
        r["autograde_log"] += log_of(nbgrader(course, "autograde", LESSON, "--student", students["trudy"].name))
        r["taken"] = {role: sorted(str(p.relative_to(course / folder / students[role].name)) for p in
                                   (course / folder / students[role].name).rglob("*") if not p.is_dir())
                      for role in ("mallory", "trudy") for folder in ("submitted",)}
        r["autograded_files"] = {role: sorted(p.name for p in (course / "autograded" / students[role].name).rglob("*")
                                              if not p.is_dir()) for role in ("mallory", "trudy")}
        r["submitted_after"] = digest(submitted + inbound)
        r["autograded_after"] = digest(autograded)
        r["records_after"] = gradebook_records(course, victims)
        db = course / "gradebook.db"
        r["gradebook_bytes"] = db.read_bytes()
        with sqlite3.connect(db) as con:
            r["gradebook_integrity"] = con.execute("PRAGMA integrity_check").fetchone()[0]

        r["scores"] = exported_scores(course)
        nbgrader(course, "generate_feedback", LESSON)
        nbgrader(course, "release_feedback", LESSON, ex)
        r["feedback"] = {}
        for role, student in students.items():
            if role == "trudy":
                continue  # nothing gradable, no feedback
            student.nbgrader("fetch_feedback", LESSON, "--course", COURSE_ID, ex)
            r["feedback"][role] = sorted((student.home / LESSON / "feedback").glob(f"*/{LESSON}.html"))
        yield r
    finally:
        for student in students.values():
            student.remove()
        shutil.rmtree(base, ignore_errors=True)


def _score(cycle, role):
    name = cycle["names"][role]
    assert name in cycle["scores"], f"{role} has no grade in nbgrader export: {sorted(cycle['scores'])}"
    return cycle["scores"][name]


def test_alice_earns_full_marks(cycle):
    assert _score(cycle, "alice") == (cycle["expected"]["alice"], cycle["total"])


def test_bob_loses_only_the_bugged_exercise(cycle):
    assert _score(cycle, "bob") == (cycle["expected"]["bob"], cycle["total"]), \
        f"bob planted {cycle['bug'].name!r} in one exercise only"


def test_mallory_earns_only_her_honest_answers(cycle):
    assert _score(cycle, "mallory") == (cycle["expected"]["mallory"], cycle["total"]), \
        f"mallory's {cycle['mallory_gid']} is wrong (hidden by an exception handler and a post_run_cell hook)"


def test_each_student_fetched_their_own_feedback(cycle):
    for role in ("alice", "bob", "mallory"):
        files = cycle["feedback"][role]
        assert len(files) == 1, f"{role} fetched {len(files)} feedback files"
        html = files[0].read_text()
        assert feedback_score(html) == (cycle["expected"][role], cycle["total"]), \
            f"{role}'s feedback shows {feedback_score(html)}"
        assert (cycle["bug"].func.__name__ in html) == (role == "bob"), f"{role}'s feedback shows bob's notebook?"
        assert (MARK in html) == (role == "mallory"), f"{role}'s feedback shows mallory's notebook?"
        if cycle["separate_users"]:
            owner = pwd.getpwuid(files[0].stat().st_uid).pw_name
            assert owner == cycle["names"][role], f"{role}'s feedback belongs to {owner}"


def test_mallory_changed_no_submitted_or_autograded_notebook(cycle):
    changed = [p for p, h in cycle["submitted_before"].items() if cycle["submitted_after"].get(p) != h]
    assert not changed, f"mallory's notebook, run by autograde, changed other students' submissions: {changed}"
    changed = [p for p, h in cycle["autograded_before"].items() if cycle["autograded_after"].get(p) != h]
    assert not changed, f"mallory's notebook, run by autograde, changed other students' autograded files: {changed}"


def test_mallory_changed_nothing_in_the_gradebook(cycle):
    before, after = cycle["records_before"], cycle["records_after"]
    changed = sorted(str(k) for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"mallory's autograde changed other students' gradebook records: {changed[:5]}"
    assert MARK.encode() not in cycle["gradebook_bytes"], "mallory's notebook appended to gradebook.db"
    assert cycle["gradebook_integrity"] == "ok"


def test_mallory_cannot_write_to_the_exchange(cycle):
    if not cycle["separate_users"]:
        pytest.skip("needs root (separate Unix accounts for the students)")
    attack = cycle["exchange_attack"]
    assert not attack["wrote"], f"mallory could write to: {attack['wrote']}"
    assert cycle["exchange_before"] == cycle["exchange_after"]


def test_collect_takes_only_a_students_own_regular_files(cycle):
    mallory = cycle["names"]["mallory"]
    line = next((ln for ln in cycle["collect_log"].splitlines() if f"intake refused from {mallory}" in ln), "")
    planted = PLANTED if cycle["separate_users"] else PLANTED[:-1]  # ownership is checked with accounts only
    for name in planted:
        assert name in line, f"collect did not report {name}: {line or cycle['collect_log'][-2000:]}"
    taken = cycle["taken"]["mallory"]
    print(f"\ncollect: {line}\nsubmitted/ holds for mallory: {taken}; for trudy: {cycle['taken']['trudy']}"
          f"\nscores: { {role: _score(cycle, role) for role in cycle['names']} }")
    assert [p for p in taken if p.endswith(".ipynb")] == [f"{LESSON}/{LESSON}.ipynb"], taken
    assert not set(taken) & {f"{LESSON}/{name}" for name in planted}, taken
    assert not any(p.startswith(f"{LESSON}/solutions") for p in taken), taken


def test_a_notebook_handed_in_as_a_link_is_not_gradable_and_not_a_classmates(cycle):
    assert _score(cycle, "trudy") == (0.0, cycle["total"])
    # her own timestamp, the grader's note and the secret collect made so that feedback can be released
    assert cycle["taken"]["trudy"] == [f"{LESSON}/{name}" for name in ("intake.txt", "submission_secret.txt",
                                                                      "timestamp.txt")], cycle["taken"]["trudy"]
    assert f"{LESSON}.ipynb" not in cycle["autograded_files"]["trudy"]
    trudy = cycle["names"]["trudy"]
    assert f"intake refused from {trudy}: {LESSON}.ipynb: a symbolic link" in cycle["collect_log"]
    assert re.search(rf"intake refused from {trudy}: {LESSON}.ipynb: .*not gradable", cycle["autograde_log"])


def test_what_collect_refused_is_in_the_students_feedback(cycle):
    html = cycle["feedback"]["mallory"][0].read_text()
    assert "the grader did not take" in html and "a FIFO" in html and "gradebook.db" in html
    assert "SQLite format" not in html and "root:" not in html
