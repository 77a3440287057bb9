"""Cells tagged approx-output: nbval compares their numbers within a tolerance (autograder/approx_outputs.py).

Their digits depend on the machine's BLAS kernel (a training run, a gradient check); every other cell
is compared exactly. CI runs the notebooks again under a second OpenBLAS kernel.
"""

import subprocess
import sys

import nbformat
import pytest

from autograder.approx_outputs import TAG, differences, is_approx, numbers, output_differences, output_texts
from autograder.course import SOLUTIONS, lesson_ids, notebook_path, read_notebook


@pytest.mark.parametrize("lesson", lesson_ids())
def test_tagged_cells_print_numbers_and_state_their_tolerance(lesson):
    for cell in filter(is_approx, read_notebook(notebook_path(lesson, SOLUTIONS)).cells):
        where = f"{lesson} cell {cell.get('id')}"
        assert any(numbers(text) for _, text in output_texts(cell.outputs)), f"{where}: {TAG} but prints no number"
        assert set(cell.metadata.get("approx", {})) <= {"rtol", "atol"}, f"{where}: approx takes rtol and atol"
        assert "nbval-ignore-output" not in cell.metadata["tags"], f"{where}: {TAG} cells are compared, not ignored"


def test_the_comparison_can_fail():
    stored = "T =  10: test MSE 0.0115   (337 parameters, 600 steps)\n"
    assert differences(stored, "T =  10: test MSE 0.0110   (337 parameters, 600 steps)\n") == []
    assert differences(stored, "T =  10: test MSE 0.0220   (337 parameters, 600 steps)\n")    # trained worse
    assert differences(stored, "T =  20: test MSE 0.0115   (337 parameters, 600 steps)\n")    # another length
    assert differences(stored, "T =  10: test MSE 0.0115   (337 parameters, 60 steps)\n")     # fewer steps
    assert differences(stored, "T =  10: val MSE 0.0115   (337 parameters, 600 steps)\n")     # other words
    assert differences(stored, "T =  10: test MSE 0.0115\n")                                   # a number lost
    assert differences(" dx 2.4e-10 < 1e-08", " dx 3.0e-10 < 1e-08", atol=1e-8) == []
    assert differences(" dx 2.4e-10 < 1e-08", " dx 3.0e-05 < 1e-08", atol=1e-8)
    assert differences("12,345 characters", "15,345 characters")
    figure = {"output_type": "display_data", "data": {"image/png": "...", "text/plain": "<Figure>"}}
    printed = {"output_type": "stream", "name": "stdout", "text": "MSE 0.0115\n"}
    assert output_differences([printed, figure], [printed, figure]) == []
    assert output_differences([printed, figure], [printed])                                  # a figure lost


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    for source, stored, tags in cells:
        cell = nbformat.v4.new_code_cell(source, execution_count=1, metadata={"tags": tags})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
        nb.cells.append(cell)
    return nb


def test_nbval_compares_tagged_cells_within_tolerance_and_the_rest_exactly(tmp_path):
    """Through nbval itself: a tagged cell passes a small change and fails a large one; an untagged cell
    fails even the small change."""
    nb = _notebook([("print('test MSE 0.0110')", "test MSE 0.0115\n", [TAG]),
                    ("print('test MSE 0.0220')", "test MSE 0.0115\n", [TAG]),
                    ("print('test MSE 0.0110')", "test MSE 0.0115\n", []),
                    ("print('test MSE 0.0115')", "test MSE 0.0115\n", [])])
    nbformat.write(nb, str(tmp_path / "demo.ipynb"))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "autograder.approx_outputs", "-p", "no:xdist",
                          "-p", "no:randomly", "-p", "no:cacheprovider", "--nbval", "-rA", "demo.ipynb"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    outcome = {line.split("::")[1].split()[0] + " " + line.split("::")[1].split()[1]: line.split()[0]
               for line in run.stdout.splitlines() if line.startswith(("PASSED", "FAILED"))}
    assert outcome == {"Cell 0": "PASSED", "Cell 1": "FAILED", "Cell 2": "FAILED", "Cell 3": "PASSED"}, run.stdout
    assert "0.0115 is now 0.022" in run.stdout


def test_the_repository_loads_the_comparison_for_every_notebook(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("autograder.approx_outputs"), "conftest.py must load it"
