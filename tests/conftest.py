"""Shared helpers for the notebook-level tests."""

import os
import sys
from pathlib import Path

import pytest

from autograder.course import LESSONS, SOLUTIONS, STORED_OUTPUT_ENV, lesson_ids, notebook_path, read_notebook

# nbgrader runs alembic as a subprocess; make the environment's tools visible.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# nbval's kernels inherit it: notebooks run as their outputs were stored, without progress bars.
os.environ.update(STORED_OUTPUT_ENV)

LESSON_IDS = lesson_ids()


@pytest.fixture(params=LESSON_IDS)
def lesson(request):
    return request.param


def solution_notebook(lesson):
    return read_notebook(notebook_path(lesson, SOLUTIONS))


def student_notebook(lesson):
    return read_notebook(notebook_path(lesson, LESSONS))

