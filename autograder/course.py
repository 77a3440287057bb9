"""Where the course's files are, and how to read a lesson notebook's graded cells."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
# The environment of a kernel that grades a notebook: no progress bars, and rnnkit.notebook.grading()
# is True, so demonstrations no grade depends on may load their stored results.
GRADING_ENV = {"TQDM_DISABLE": "1", "NBGRADER_EXECUTION": "autograde"}
# The environment in which stored outputs are made and compared (nbval): no progress bars.
STORED_OUTPUT_ENV = {"TQDM_DISABLE": "1"}

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


def lesson_ids() -> list[str]:
    """The lesson ids (``01_feedback_loops``, ...) in course order, from ``solutions/``."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and LESSON_ID.match(p.name))


def notebook_path(lesson: str, folder: Path = LESSONS) -> Path:
    return folder / lesson / f"{lesson}.ipynb"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_cells(nb) -> list:
    """The graded test cells of a notebook, in order."""
    return [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]


def read_notebook(path: Path):
    return nbformat.read(str(path), as_version=4)


def strip_hidden(source: str) -> str:
    """A test cell's source without its hidden tests (what the student version and the kernel see)."""
    return HIDDEN.sub("", source)


def exercise_label(grade_id: str) -> str:
    """``l02_e1_rnn_step_forward_tests`` -> ``Exercise 1 · rnn_step_forward``."""
    m = re.match(r"l\d+_e(\d+)_(.+?)(_tests)?$", grade_id or "")
    return f"Exercise {m.group(1)} · {m.group(2)}" if m else grade_id
