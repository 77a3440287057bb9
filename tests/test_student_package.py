"""rnnkit, the package the notebooks import, holds no grader and no answer a learner should not have yet."""

import ast
import functools
import importlib
import json
import re
import subprocess
import sys

import pytest

from autograder.build import GIVEN, solved_module
from autograder.course import ROOT, SOLUTIONS
from autograder.exercises import EXERCISES
from tests.conftest import LESSON_IDS, solution_notebook

PACKAGE = ROOT / "rnnkit"
THIRD_PARTY = {"numpy", "matplotlib", "statsmodels", "tqdm"}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


def imported_modules(tree):
    """Top-level and full names of every module an AST imports (absolute and relative imports)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            yield from (arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_rnnkit_imports_only_itself_numpy_matplotlib_statsmodels_tqdm_and_the_standard_library(path):
    for name in imported_modules(ast.parse(path.read_text())):
        top = name.split(".")[0]
        assert top != "autograder", f"{path.relative_to(ROOT)} imports {name}: rnnkit must never import the grader"
        assert name.startswith(".") or top in THIRD_PARTY | {"rnnkit"} or top in sys.stdlib_module_names, \
            f"{path.relative_to(ROOT)} imports {name}: rnnkit may use only numpy, matplotlib, statsmodels and tqdm"


def test_importing_all_of_rnnkit_loads_no_grader_module():
    modules = [f"rnnkit.{p.relative_to(PACKAGE).with_suffix('').as_posix().replace('/', '.')}"
               for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__init__.py"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'autograder'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "tests", check=True)
    assert out.stdout.strip() == "[]", f"importing rnnkit loaded {out.stdout.strip()}"


def code_outside_hidden_tests(lesson):
    for k, cell in enumerate(solution_notebook(lesson).cells):
        if cell.cell_type == "code":
            yield k, HIDDEN.sub("", cell.source)


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_notebook_code_outside_hidden_tests_never_touches_the_grader(lesson):
    for k, code in code_outside_hidden_tests(lesson):
        assert "autograder" not in code, f"{lesson} cell {k}: only the hidden tests may use autograder"


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_notebooks_import_only_earlier_lessons_answers(lesson):
    number = int(lesson[:2])
    for k, code in code_outside_hidden_tests(lesson):
        for name in imported_modules(ast.parse(code)):
            if name.startswith("rnnkit.solved."):
                solved = int(name.split(".")[2][1:3])
                assert solved < number, f"{lesson} cell {k} imports {name}: a lesson may import earlier lessons only"
            if name == "rnnkit.given":
                owners = [int(g[:2]) for g in GIVEN]
                assert all(number < owner for owner in owners), \
                    f"{lesson} cell {k} imports rnnkit.given: lessons from {min(owners):02d} on use rnnkit.solved"


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_solved_module_passes_the_hidden_tests_of_its_lesson(lesson):
    from autograder.checking import check

    namespace = {}
    for earlier in LESSON_IDS[:LESSON_IDS.index(lesson) + 1]:
        namespace.update(vars(importlib.import_module(f"rnnkit.solved.{solved_module(earlier)}")))
    number = lesson[:2]
    graded = [g for g in EXERCISES if g.startswith(f"l{number}_")]
    assert graded
    for grade_id in graded:
        check(grade_id, *(namespace[name] for name in EXERCISES[grade_id].functions))


def test_no_exercise_is_answered_outside_the_answer_modules():
    """Only rnnkit/solved/ and given.py (handed out per release) may define an exercise's function."""
    names = {name for exercise in EXERCISES.values() for name in exercise.functions}
    found = []
    for path in sorted((ROOT / "rnnkit").rglob("*.py")):
        if "solved" in path.parts or path.name == "given.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.Assign):
                defined = [node.name] if isinstance(node, ast.FunctionDef) else [
                    t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
                found += [f"{path.relative_to(ROOT)}: {n}" for n in defined if n in names]
    assert not found, found


def test_every_solved_module_is_generated_from_a_lesson():
    generated = sorted(p.stem for p in (PACKAGE / "solved").glob("l*.py"))
    assert generated == [solved_module(lesson) for lesson in LESSON_IDS]


def test_committed_experiment_results_reproduce_through_rnnkit():
    """A sample of the committed results, re-run through rnnkit's loops with the reference implementations."""
    from autograder.experiments import forecasting as ex
    from autograder.train import train_adding

    rows = [json.loads(line) for line in (SOLUTIONS / "07_forecasting" / "results.jsonl").read_text().splitlines()]
    d = ex.sunspot_data()
    chosen = min((r for r in rows if r["experiment"] == "sunspots-selection" and r["model"] == "gru"),
                 key=lambda r: r["cv_nmse"])
    fit_rows = d["fit"] - d["T"]
    run = ex.fc.fit("gru", d["X"][fit_rows], d["y"][fit_rows], H=chosen["H"], lr=chosen["lr"], seed=0,
                    epochs=chosen["epochs"], batch=ex.SUN_TRAIN["batch"])
    for split, idx in d["test"].items():
        stored = next(r["nmse"] for r in rows if r["experiment"] == "sunspots" and r["model"] == "gru"
                      and r.get("seed") == 0 and r["split"] == split)
        assert round(ex.nmse(d["values"][idx], ex.sunspot_predict(d, "gru", run["params"], idx), d["variance_ref"]),
                     4) == stored
    co2 = ex.co2_data()
    # the direct model (12 outputs at once): epochs chosen on 1991-1995, then refitted through 1995
    run = ex.protocol.co2_fit(functools.partial(ex.fc.fit, "gru"), co2, 12, ex.make_windows, seed=0)
    origins = ex.co2_origins(co2, 12)
    rmse, _ = ex.co2_score(co2, ex.co2_direct(co2, "gru", run["params"], origins), origins, 12)
    assert rmse == next(r["rmse"] for r in rows if r["experiment"] == "co2" and r["model"] == "gru"
                        and r.get("strategy") == "direct" and r["horizon"] == 12 and r["seed"] == 0)
    adding = [json.loads(line) for line in
              (SOLUTIONS / "08_gated_vs_vanilla" / "adding_results.jsonl").read_text().splitlines()]
    stored = next(r for r in adding if (r["model"], r["T"], r["seed"]) == ("gru", 25, 0))
    run = train_adding("gru", T=25, H=stored["H"], steps=stored["steps"], batch=stored["batch"], lr=stored["lr"],
                       seed=0, record_every=stored["record_every"])
    assert run["test_mse"] == pytest.approx(stored["test_mse"], rel=1e-9)
