"""The out-of-kernel verdict, the path instructors' grades take, for every exercise of every lesson.

The learner's functions run in the grader-free worker and every call crosses the plain-data wire:
the solutions earn every exercise (in the sandbox, when bubblewrap is there), the untouched student
versions earn none, and every planted bug of the catalogue loses its exercise with feedback that
names it while every correct answer in another style keeps it.
"""

import inspect

import pytest

from autograder.checking import Mismatch, check
from autograder.course import LESSONS, SOLUTIONS, nbgrader_meta, notebook_path, read_notebook
from autograder.exercises import EXERCISES
from autograder.sandbox import Sandbox, bwrap_path
from autograder.verify import Remote, Worker, exercises_in, program_of, verify
from tests.conftest import LESSON_IDS


def _sandbox(lesson):
    return Sandbox(lesson=lesson) if bwrap_path() else None


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_solutions_pass_and_stubs_fail_outside_the_kernel(lesson):
    solution = read_notebook(notebook_path(lesson, SOLUTIONS))
    verdicts = verify(solution, timeout=120, sandbox=_sandbox(lesson), cwd=SOLUTIONS / lesson)
    assert set(verdicts) == set(exercises_in(solution)) and verdicts
    failed = {g: v.reason for g, v in verdicts.items() if not v.passed}
    assert not failed, failed
    stub = read_notebook(notebook_path(lesson, LESSONS))  # the release: answers are stubs, tests visible
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in stub.cells if nbgrader_meta(c).get("solution")}
    for cell in solution.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    verdicts = verify(solution, timeout=120, sandbox=_sandbox(lesson), cwd=LESSONS / lesson)
    assert {v.reason for v in verdicts.values()} == {"not attempted yet"}


def _definition(func):
    lines = inspect.getsource(func).splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    return "import numpy as np\n\n" + "".join(lines[start:])


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_every_planted_bug_loses_its_points_through_the_worker(lesson):
    solution = read_notebook(notebook_path(lesson, SOLUTIONS))
    gids = exercises_in(solution)
    worker = Worker(program_of(solution), timeout=120, cwd=SOLUTIONS / lesson)
    survivors, unnamed, rejected = [], [], []
    try:
        candidates = [(gid, item, True) for gid in gids for item in EXERCISES[gid].bugs]
        candidates += [(gid, item, False) for gid in gids for item in EXERCISES[gid].alternatives]
        worker._send({"op": "load", "setup": [], "answers": [(f"{g}/{i.name}", _definition(i.func))
                                                           for g, i, _ in candidates]})
        assert worker._receive().get("op") == "ready"
        for gid, item, is_bug in candidates:
            exercise = EXERCISES[gid]
            worker.start_exercise(120)
            functions = [Remote(worker, item.func.__name__)] + [Remote(worker, n) for n in exercise.functions[1:]]
            try:
                check(gid, *functions)
            except Mismatch as exc:
                if not is_bug:
                    rejected.append(f"{gid}/{item.name}: {exc}")
                elif item.message not in str(exc):
                    unnamed.append(f"{gid}/{item.name}: {exc}")
                continue
            if is_bug:
                survivors.append(f"{gid}/{item.name}")
    finally:
        worker.close()
    assert not survivors, f"planted bugs that still earn the points: {survivors}"
    assert not unnamed, "feedback does not name the bug:\n" + "\n".join(unnamed)
    assert not rejected, "correct answers in another style lose points:\n" + "\n".join(rejected)
