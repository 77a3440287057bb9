"""Generate the student versions in ``lessons/`` from ``solutions/`` with nbgrader.

nbgrader's ``generate_assignment --force`` deletes the release folder before writing it, so a
failure can leave it missing. Here every lesson is generated into a temporary folder first, and
``lessons/<id>`` is replaced only when generation succeeded (an atomic rename). ``--check``
generates the same way and reports lessons that differ from what is committed.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import tempfile
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import LESSONS, ROOT, SOLUTIONS, lesson_ids


class BuildError(RuntimeError):
    pass


def _config(workdir: Path) -> Config:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.CourseDirectory.root = str(workdir)
    config.CourseDirectory.source_directory = str(SOLUTIONS)
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    config.Application.log_level = "WARN"
    return config


def generate(lesson: str, workdir: Path) -> Path:
    """Run nbgrader's generate_assignment for one lesson into ``workdir``; return the release folder."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = _config(workdir)
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.generate_assignment(lesson, force=True, create=True)
    out = workdir / "release" / lesson
    if not result.get("success") or not out.is_dir():
        text = f"{result.get('log') or ''}\n{result.get('error') or ''}"
        causes = [line.strip() for line in text.splitlines()
                  if re.match(r"\s*\w+(Error|Exception): ", line) and "NbGraderException" not in line]
        raise BuildError(f"{lesson}: nbgrader could not generate the student version: "
                         f"{causes[-1] if causes else 'see nbgrader generate_assignment ' + lesson}")
    return out


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def build(lessons: list[str] | None = None, check: bool = False) -> list[str]:
    """Regenerate (or, with ``check``, compare) ``lessons/``; returns the lessons that differ."""
    lessons = lessons or lesson_ids()
    differ = []
    with tempfile.TemporaryDirectory(prefix="rnn-course-build-") as tmp:
        for lesson in lessons:
            new = generate(lesson, Path(tmp))
            old = LESSONS / lesson
            if old.is_dir() and _same_tree(new, old):
                continue
            differ.append(lesson)
            if check:
                continue
            LESSONS.mkdir(exist_ok=True)
            staged = LESSONS / f".{lesson}.new"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(new, staged)
            if old.exists():
                backup = LESSONS / f".{lesson}.old"
                shutil.rmtree(backup, ignore_errors=True)
                old.rename(backup)
                staged.rename(old)
                shutil.rmtree(backup)
            else:
                staged.rename(old)
    return differ
