"""The planted-bug catalogue, proven in the notebooks themselves.

For each lesson the solution notebook runs in one kernel (every graded test must pass: full
marks). Then, for every exercise, each planted bug replaces the answer cell, the exercise's
graded test cell (hidden tests included) runs again and must fail (the exercise loses its
points) with feedback that names the bug; the correct answer is then restored. Correct answers written in other styles
(autograder/exercises/alternatives.py) must keep the points.
"""

import copy

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course import SOLUTIONS, nbgrader_meta
from autograder.exercises import EXERCISES
from tests.conftest import LESSON_IDS, solution_notebook


def error_of(cell):
    return next((o for o in cell.outputs if o.output_type == "error"), None)


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_solution_full_marks_and_every_planted_bug_loses_points(lesson):
    nb = solution_notebook(lesson)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(SOLUTIONS / lesson)}})
    survivors, unnamed, rejected, total = [], [], [], 0
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                assert error_of(cell) is None, f"solution cell {index} fails: {error_of(cell)}"
        for index, answer in enumerate(nb.cells):
            gid = nbgrader_meta(answer).get("grade_id")
            if not nbgrader_meta(answer).get("solution"):
                continue
            exercise = EXERCISES[gid]
            for bug in exercise.bugs:
                total += 1
                plant = nbformat.v4.new_code_cell(bug.plant_source(exercise.function))
                client.execute_cell(plant, index)
                assert error_of(plant) is None, f"{gid}/{bug.name} does not even define itself"
                test = copy.deepcopy(nb.cells[index + 1])
                client.execute_cell(test, index + 1)
                error = error_of(test)
                if error is None:
                    survivors.append(f"{gid}/{bug.name}")
                elif bug.message not in error.evalue:
                    unnamed.append(f"{gid}/{bug.name}: {error.ename}: {error.evalue}")
            for alt in exercise.alternatives:  # correct answers in other styles keep the points
                plant = nbformat.v4.new_code_cell(alt.plant_source(exercise.function))
                client.execute_cell(plant, index)
                test = copy.deepcopy(nb.cells[index + 1])
                client.execute_cell(test, index + 1)
                if error_of(test) is not None:
                    rejected.append(f"{gid}/{alt.name}: {error_of(test).evalue}")
            restore = copy.deepcopy(answer)
            client.execute_cell(restore, index)
            assert error_of(restore) is None
    print(f"{lesson}: planted bugs killed {total - len(survivors)}/{total}")
    assert not survivors, f"planted bugs that still earn the points: {survivors}"
    assert not unnamed, "feedback does not name the bug:\n" + "\n".join(unnamed)
    assert not rejected, "correct answers in another style lose points:\n" + "\n".join(rejected)
