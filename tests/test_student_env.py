"""A course environment that student accounts can use (marker ``instructor``).

`make setup PYTHON=/usr/bin/python3 VENV=<folder>` builds the environment on the system's Python, which
every account can run. This test runs a lesson notebook, answered, as a fresh non-root account with that
environment (``RNN_STUDENT_VENV``, else the environment running the tests): the interpreter must start,
and rnnkit, numpy, statsmodels, matplotlib and the kernel must work for that account. An environment
built on a Python other accounts cannot run (one under /root) is reported, with the way to build one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.nbgrader_course import LESSON, release_notebook, solution_notebook, solved, write

pytestmark = pytest.mark.instructor


def closed_to_others(path: Path, leaf=0o001) -> Path | None:
    """The first folder on ``path`` that other accounts cannot enter, or the file itself when they lack
    ``leaf`` on it (0o001: run it; 0o004: read it), if any."""
    real = Path(os.path.realpath(path))
    for part in reversed(real.parents):
        if not os.stat(part).st_mode & 0o001:
            return part
    return None if os.stat(real).st_mode & leaf else real


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                    reason="needs root (and useradd) to create a student account")
def test_a_student_account_runs_a_lesson_with_the_course_environment():
    venv = Path(os.environ.get("RNN_STUDENT_VENV") or sys.prefix)
    python = venv / "bin" / "python"
    closed = closed_to_others(python)
    if closed is not None:
        pytest.skip(f"{python} is not runnable by other accounts ({closed} is closed to them): build the "
                    "students' environment with make setup PYTHON=/usr/bin/python3 VENV=<a folder they can "
                    "read> and set RNN_STUDENT_VENV to it")
    where = subprocess.run([str(python), "-c", "import rnnkit, sys; print(rnnkit.__file__)"], capture_output=True,
                           text=True, timeout=120)
    assert where.returncode == 0, f"{python} cannot import rnnkit: run make setup ({where.stderr[-500:]})"
    closed = closed_to_others(Path(where.stdout.strip()), leaf=0o004)
    if closed is not None:
        pytest.skip(f"the course checkout ({closed}) is closed to other accounts: students cannot import rnnkit "
                    "from it; keep the checkout in a folder they can read")
    user = f"stu{uuid.uuid4().hex[:8]}"
    base = Path(tempfile.mkdtemp(prefix="student-env-"))  # pytest's tmp_path is closed to other accounts
    base.chmod(0o755)
    home = base / user
    home.mkdir()
    subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
                    user], check=True, capture_output=True, timeout=60)
    try:
        shutil.chown(home, user)
        notebook = home / f"{LESSON}.ipynb"
        write(solved(release_notebook(), solution_notebook()), notebook)
        lesson_dir = Path(__file__).resolve().parent.parent / "lessons" / LESSON
        for data in lesson_dir.iterdir():  # the data files the release ships beside the notebook
            if data.is_file() and data.suffix != ".ipynb":
                shutil.copy(data, home / data.name)
        for path in home.iterdir():
            shutil.chown(path, user)
        env = {"HOME": str(home), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        proc = subprocess.run([runuser, "-u", user, "--", str(python), "-m", "jupyter", "nbconvert", "--to",
                               "notebook", "--execute", "--output", "ran.ipynb", str(notebook)],
                              cwd=home, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"as {user}: " + proc.stdout[-2000:] + proc.stderr[-3000:]
        assert (home / "ran.ipynb").is_file()
    finally:
        subprocess.run(["userdel", user], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
