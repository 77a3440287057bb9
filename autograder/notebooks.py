"""Execute solution notebooks and store their outputs (the outputs nbval later compares)."""

from __future__ import annotations

import os
import sys
import time

import nbformat
from nbclient import NotebookClient

from autograder.course import SOLUTIONS, STORED_OUTPUT_ENV, lesson_ids, notebook_path


def execute(path, timeout=120):
    """Execute a notebook in its own folder; returns (notebook, seconds). Raises on a cell error."""
    nb = nbformat.read(str(path), as_version=4)
    os.environ.update(STORED_OUTPUT_ENV)  # the kernel inherits it: outputs without progress bars
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)  # a progress bar's widget state, should one have been shown
    for cell in nb.cells:  # keep stored notebooks free of volatile metadata
        cell.metadata.pop("execution", None)
    return nb, seconds


def execute_solutions(lessons=None) -> int:
    for lesson in lessons or lesson_ids():
        path = notebook_path(lesson, SOLUTIONS)
        nb, seconds = execute(path)
        nbformat.write(nb, str(path))
        print(f"{lesson}: executed in {seconds:.1f} s, outputs stored", file=sys.stderr)
    return 0
