"""Honest answers keep every point, and each point is earned once.

Through the learner's self-check (``python -m autograder check``), which decides every exercise as
instructors' grading does, outside the kernel, with the notebook's cells run in order:

- correct answers written the ways learners write them keep full marks: a helper in a cell of their
  own, a helper the lesson gives (lesson 02's ``init_rnn_params``), a module handed in next to the
  notebook, ``!``/``%`` syntax inside an answer (``files = !ls``), a decorated function, a
  ``functools.partial`` and a class with ``__call__``;
- a mistake costs only its own exercise: an exercise that relies on an earlier one that fails is
  graded with the course's version of that earlier function, and its feedback says so.
"""

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course import LESSONS, SOLUTIONS, nbgrader_meta, notebook_path, read_notebook
from autograder.exercises import EXERCISES
from autograder.sandbox import Sandbox, bwrap_path
from autograder.verify import verify


def learner_copy(tmp_path, lesson, answers, extra_cells=(), files=None):
    """A learner's lessons/ folder for ``lesson``: the solutions' answers, with ``answers[k]``
    (1-based exercise number) in place of answer k, ``extra_cells`` as (before answer k, source)
    added code cells, and ``files`` (name -> text) handed in next to the notebook."""
    folder = tmp_path / "lessons"
    shutil.copytree(LESSONS / lesson, folder / lesson)
    nb = read_notebook(notebook_path(lesson, LESSONS))
    solved = [c.source for c in read_notebook(notebook_path(lesson, SOLUTIONS)).cells
              if nbgrader_meta(c).get("solution")]
    cells = [c for c in nb.cells if nbgrader_meta(c).get("solution")]
    for k, cell in enumerate(cells, start=1):
        cell.source = answers.get(k, solved[k - 1])
    for k, source in extra_cells:
        nb.cells.insert(nb.cells.index(cells[k - 1]), nbformat.v4.new_code_cell(source))
    nbformat.write(nb, str(notebook_path(lesson, folder)))
    for name, text in (files or {}).items():
        (folder / lesson / name).write_text(text)
    return folder


def self_check(folder, lesson, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", lesson, "--dir", str(folder),
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout
    [result] = json.loads(out.read_text())
    return result


HONEST_02 = {
    # Exercise 1: a class with __call__, using a helper from a cell the learner added
    1: '''class StepForward:
    """One tanh-RNN step, as an object."""

    def __call__(self, x, h_prev, p):
        h = np.tanh(affine(x, p["W_ih"], p["b_ih"]) + affine(h_prev, p["W_hh"], p["b_hh"]))
        return h, (x, h_prev, h, p)


rnn_step_forward = StepForward()
''',
    # Exercise 2: IPython syntax inside the answer, and a functools.partial
    2: '''import functools

files = !ls
%time n_files = len(files)


def run_steps(x, h0, p, step):
    N, T, _ = x.shape
    hs, h = np.zeros((N, T, h0.shape[1])), h0
    for t in range(T):
        h, _ = step(x[:, t], h, p)
        hs[:, t] = h
    return hs, {"x": x, "h0": h0, "hs": hs, "p": p}


rnn_forward = functools.partial(run_steps, step=rnn_step_forward)
''',
    # Exercise 3: the lesson's own helper, init_rnn_params
    3: '''def rnn_param_count(D, H, K):
    shapes = init_rnn_params(D, H, np.random.default_rng(0))
    return int(sum(v.size for v in shapes.values())) + K * H + K
''',
    # Exercise 4: a decorated function (the decorator from the learner's own cell)
    4: '''@checked
def scale_spectral_radius(W, rho):
    return W * (rho / np.max(np.abs(np.linalg.eigvals(W))))
''',
    # Exercise 5: a module handed in next to the notebook
    5: '''from my_ridge import ridge


def fit_readout(F, y, alpha):
    return ridge(F, y, alpha)
''',
}
EXTRA_02 = [
    (1, "def affine(z, W, b):\n    return z @ W.T + b\n"),
    (4, "%%capture\nimport functools\n\n\ndef checked(f):\n    @functools.wraps(f)\n"
        "    def wrapper(*args, **kwargs):\n        out = f(*args, **kwargs)\n"
        "        assert np.all(np.isfinite(out))\n        return out\n    return wrapper\n\nprint('ready')\n"),
]
MODULE = '''import numpy as np


def ridge(F, y, alpha):
    F_mean, y_mean = F.mean(axis=0), y.mean()
    Fc, yc = F - F_mean, y - y_mean
    w = np.linalg.solve(Fc.T @ Fc + alpha * np.eye(F.shape[1]), Fc.T @ yc)
    return w, float(y_mean - F_mean @ w)
'''


def test_honest_variants_keep_full_marks(tmp_path):
    folder = learner_copy(tmp_path, "02_vanilla_rnn", HONEST_02, EXTRA_02, {"my_ridge.py": MODULE})
    result = self_check(folder, "02_vanilla_rnn", tmp_path)
    lost = [(e["label"], e["reason"]) for e in result["exercises"] if e["points"] < e["max_points"]]
    assert not lost and result["points"] == result["max_points"] == 9, lost


def test_an_honest_variant_that_is_wrong_still_loses_its_points(tmp_path):
    """The variants are graded, not waved through: the same module with the intercept left out fails."""
    folder = learner_copy(tmp_path, "02_vanilla_rnn", {5: HONEST_02[5]}, files={
        "my_ridge.py": MODULE.replace("float(y_mean - F_mean @ w)", "0.0")})
    result = self_check(folder, "02_vanilla_rnn", tmp_path)
    points = [e["points"] for e in result["exercises"]]
    assert points[:4] == [e["max_points"] for e in result["exercises"][:4]] and points[4] == 0


STUB = '''def rnn_step_backward(dh, cache):
    raise NotImplementedError("Student exercise: rnn_step_backward")
'''


def test_a_stub_step_backward_costs_only_its_own_points(tmp_path):
    folder = learner_copy(tmp_path, "03_bptt", {1: STUB})
    result = self_check(folder, "03_bptt", tmp_path)
    assert result["max_points"] == 13 and result["points"] == 10, result["exercises"]
    first, second, *_, fourth, _fifth = result["exercises"]
    assert first["points"] == 0 and first["reason"] == "not attempted yet"
    for later in (second, fourth):
        assert later["points"] == later["max_points"]
        assert "graded with the course's `rnn_step_backward`, since yours fails Exercise 1" in later["reason"]


# ------------------------------------------------ every chain, through the instructors' verifier

def _stubbed(lesson, k):
    """The solution notebook with answer k replaced by the released stub."""
    nb = read_notebook(notebook_path(lesson, SOLUTIONS))
    stubs = {nbgrader_meta(c)["grade_id"]: c.source for c in read_notebook(notebook_path(lesson, LESSONS)).cells
             if nbgrader_meta(c).get("solution")}
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id", "")
        if nbgrader_meta(cell).get("solution") and gid.startswith(f"l{lesson[:2]}_e{k}_"):
            cell.source = stubs[gid]
    return nb


@pytest.mark.parametrize("lesson, earlier, later", [
    ("03_bptt", 1, (2, 4)),
    ("04_lstm", 2, (4,)),
    ("05_gru", 2, (4,)),
    ("08_gated_vs_vanilla", 2, (3,)),
])
def test_each_chain_grades_the_later_exercise_with_the_course_version(lesson, earlier, later):
    sandbox = Sandbox(lesson=lesson) if bwrap_path() else None
    verdicts = verify(_stubbed(lesson, earlier), timeout=120, sandbox=sandbox, cwd=SOLUTIONS / lesson)
    by_number = {int(g.split("_")[1][1:]): v for g, v in verdicts.items()}
    assert by_number[earlier].reason == "not attempted yet"
    name = EXERCISES[next(g for g in verdicts if g.startswith(f"l{lesson[:2]}_e{earlier}_"))].function
    for k, verdict in by_number.items():
        if k == earlier:
            continue
        assert verdict.passed, (k, verdict.reason)
        if k in later:  # the feedback says which function stood in, and why
            assert f"graded with the course's `{name}`, since yours fails Exercise {earlier}" in verdict.note
        else:
            assert verdict.note == "", (k, verdict.note)


# ------------------------------------------------ once through plain nbgrader (the instructor path)

@pytest.mark.instructor
def test_nbgrader_autograde_keeps_honest_points_and_charges_a_mistake_once(tmp_path):
    from tests.nbgrader_course import exported_scores, make_course, nbgrader

    course = make_course(tmp_path / "course")
    learners = {"02_vanilla_rnn": ("dana", learner_copy(tmp_path / "dana", "02_vanilla_rnn", HONEST_02, EXTRA_02,
                                                        {"my_ridge.py": MODULE})),
                "03_bptt": ("eve", learner_copy(tmp_path / "eve", "03_bptt", {1: STUB}))}
    for lesson, (student, folder) in learners.items():
        nbgrader(course, "generate_assignment", lesson, "--force")
        shutil.copytree(folder / lesson, course / "submitted" / student / lesson)
        nbgrader(course, "db", "student", "add", student, check=False)
        nbgrader(course, "autograde", lesson, "--student", student)
    assert exported_scores(course, "02_vanilla_rnn")["dana"] == (9.0, 9.0)
    assert exported_scores(course, "03_bptt")["eve"] == (10.0, 13.0)
    nbgrader(course, "generate_feedback", "03_bptt", "--student", "eve")
    html = (course / "feedback" / "eve" / "03_bptt" / "03_bptt.html").read_text()
    assert "graded with the course&#39;s `rnn_step_backward`" in html or \
        "graded with the course's `rnn_step_backward`" in html
