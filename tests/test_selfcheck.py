"""`make check` as learners meet it: fresh copy, solutions, and every kind of bad input."""

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course import LESSONS, SOLUTIONS, nbgrader_meta, notebook_path, read_notebook
from autograder.selfcheck import run_check
from tests.conftest import LESSON_IDS

FIRST = LESSON_IDS[0]


def cli(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=900)
    return proc.returncode, proc.stdout, proc.stderr


def results(path):
    return {r["lesson"]: r for r in json.loads(path.read_text())}


def test_fresh_copy_scores_zero_and_points_at_the_first_exercise(tmp_path):
    before = {p: p.read_bytes() for p in LESSONS.rglob("*.ipynb")}
    code, out, err = cli("--json", str(tmp_path / "r.json"))
    assert code == 0, err
    assert re.search(r"Total: 0 / \d+ points", out)
    assert "Next: Exercise 1 · " in out and f"lessons/{FIRST}/{FIRST}.ipynb" in out
    for r in results(tmp_path / "r.json").values():
        assert r["points"] == 0 and r["max_points"] > 0
        assert all(e["reason"] == "not attempted yet" for e in r["exercises"])
    after = {p: p.read_bytes() for p in LESSONS.rglob("*.ipynb")}
    assert before == after, "make check must not change the learner's files"


def test_solutions_score_full_marks(tmp_path):
    code, out, err = cli("--dir", str(SOLUTIONS), "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    for lesson, r in results(tmp_path / "r.json").items():
        assert r["points"] == r["max_points"] > 0, (lesson, [e for e in r["exercises"] if e["reason"]])
    assert "All graded exercises pass" in out


# --- bad input: each gets a one-line explanation, the other lessons are still graded ----------

@pytest.fixture
def learner(tmp_path):
    """A learner's copy of lessons/ where exercise 2 of the first lesson is solved."""
    dest = tmp_path / "lessons"
    shutil.copytree(LESSONS, dest)
    return dest


def set_answer(folder, lesson, k, source):
    """Replace the answer cell of exercise k (1-based) in the learner's notebook."""
    path = notebook_path(lesson, folder)
    nb = read_notebook(path)
    answers = [c for c in nb.cells if nbgrader_meta(c).get("solution")]
    answers[k - 1].source = source
    nbformat.write(nb, str(path))
    return nb


def solved(lesson, k):
    nb = read_notebook(notebook_path(lesson, SOLUTIONS))
    return [c for c in nb.cells if nbgrader_meta(c).get("solution")][k - 1].source


def exercise(result, k):
    return result["exercises"][k - 1]


def grade(folder, tmp_path, *args):
    code, out, err = cli(FIRST, "--dir", str(folder), "--json", str(tmp_path / "r.json"), *args)
    return code, out, results(tmp_path / "r.json")[FIRST]






def test_unknown_lesson_is_explained_and_others_still_graded(tmp_path):
    code, out, _ = cli("99_nope", FIRST, "--json", str(tmp_path / "r.json"))
    assert code == 1
    assert "99_nope" in out and "no such lesson" in out
    assert FIRST in results(tmp_path / "r.json")
    assert results(tmp_path / "r.json")[FIRST]["exercises"]


def test_corrupt_and_missing_notebooks_are_explained_and_left_untouched(learner, tmp_path):
    broken = notebook_path(FIRST, learner)
    broken.write_text('{"cells": [ this is not json')
    second = LESSON_IDS[1] if len(LESSON_IDS) > 1 else None
    if second:
        notebook_path(second, learner).unlink()
    code, out, _ = cli("--dir", str(learner))
    assert code == 1
    assert f"{FIRST}" in out and "not a readable notebook" in out and "left untouched" in out
    assert broken.read_text() == '{"cells": [ this is not json'
    if second:
        assert "is missing" in out and f"git checkout -- lessons/{second}" in out
    assert "Traceback" not in out
    for lesson in LESSON_IDS[2:]:
        assert re.search(rf"^{lesson}\s+0 / \d+", out, re.M)


def test_edited_and_deleted_test_cells_are_restored(learner, tmp_path):
    set_answer(learner, FIRST, 2, solved(FIRST, 2))
    path = notebook_path(FIRST, learner)
    nb = read_notebook(path)
    tests = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    tests[0].source = "pass  # tests? what tests?"
    nb.cells.remove(tests[2])
    nbformat.write(nb, str(path))
    code, out, r = grade(learner, tmp_path)
    assert code == 0
    assert exercise(r, 1)["points"] == 0 and exercise(r, 1)["reason"] == "not attempted yet"
    assert exercise(r, 2)["points"] == exercise(r, 2)["max_points"]
    assert exercise(r, 3)["points"] == 0
    assert any("edited" in n for n in r["notes"]) and any("missing" in n for n in r["notes"])


@pytest.mark.parametrize("body,reason", [
    ("    while True:\n        pass\n", "did not finish"),
    ("    import time\n    while True:\n        try:\n            time.sleep(0.1)\n"
     "        except KeyboardInterrupt:\n            pass\n", "did not finish"),
    ("    import os\n    os._exit(1)\n", "kernel died"),
], ids=["infinite-loop", "ignores-interrupt", "kills-kernel"])
def test_hostile_answer_gets_a_reason_and_the_rest_is_graded(learner, tmp_path, body, reason):
    first = solved(FIRST, 1)
    signature = re.search(r"^def .*:$", first, re.M).group(0)
    set_answer(learner, FIRST, 1, f"{signature}\n{body}")
    set_answer(learner, FIRST, 2, solved(FIRST, 2))
    # Keep the run short: drop the ungraded cells that call the hostile function (each would
    # hang until its timeout); the graded cells all stay.
    function = re.match(r"def (\w+)", signature).group(1)
    path = notebook_path(FIRST, learner)
    nb = read_notebook(path)
    nb.cells = [c for c in nb.cells if nbgrader_meta(c) or f"{function}(" not in c.source]
    nbformat.write(nb, str(path))
    code, out, r = grade(learner, tmp_path, "--timeout", "5")
    assert code == 0
    assert exercise(r, 1)["points"] == 0 and reason in exercise(r, 1)["reason"]
    assert exercise(r, 2)["points"] == exercise(r, 2)["max_points"], exercise(r, 2)
    assert "Traceback" not in out


def test_run_check_reports_unknown_lesson_in_process(capsys):
    assert run_check(["00_missing"]) == 1
    assert "no such lesson" in capsys.readouterr().out


def test_a_kernel_connection_that_breaks_costs_that_cell_only(tmp_path):
    """A message that fails its signature check (seen under a fork flood) is a died cell: the kernel is
    restarted, earlier cells are replayed and the next cell still runs; nothing raises to the grader."""
    import nbformat

    from autograder.runner import Runner

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 41"), nbformat.v4.new_code_cell("y = 0"),
                                         nbformat.v4.new_code_cell("print(x + 1)")])
    runner = Runner(nb, tmp_path, timeout=30, budget=120)
    execute = runner.client.execute_cell

    def broken_once(cell, index, **kwargs):
        if index == 1 and not getattr(broken_once, "done", False):
            broken_once.done = True
            raise ValueError("Invalid Signature: b'00'")
        return execute(cell, index, **kwargs)

    runner.client.execute_cell = broken_once
    runs = runner.run()
    assert runs[1].status == "died" and "broke its connection" in runs[1].evalue
    assert runs[0].status == runs[2].status == "ok"
    assert "42" in "".join(o.get("text", "") for o in nb.cells[2].outputs)
