"""Layout and naming: a newcomer finds any exercise, its tests and its reference in seconds."""

import re
import tomllib
from pathlib import Path

import nbformat
import pytest

from autograder.course import LESSONS, ROOT, SOLUTIONS, nbgrader_meta
from autograder.exercises import EXERCISES
from tests.conftest import LESSON_IDS, solution_notebook, student_notebook

ANSWER_ID = re.compile(r"^l(\d\d)_e(\d+)_([a-z0-9_]+)$")


def test_lessons_exist_and_are_named_nn_slug():
    assert LESSON_IDS, "no lessons in solutions/"
    for folder in (SOLUTIONS, LESSONS):
        names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        assert names == LESSON_IDS, f"{folder.name}/ holds {names}, solutions/ defines {LESSON_IDS}"
    for lesson in LESSON_IDS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", lesson)
        for folder in (SOLUTIONS, LESSONS):
            assert (folder / lesson / f"{lesson}.ipynb").is_file()


def test_exercise_modules_are_named_after_lessons():
    modules = sorted(p.stem for p in (ROOT / "autograder" / "exercises").glob("l*.py"))
    assert modules == [f"l{lesson}" for lesson in LESSON_IDS]


def answer_and_test_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution")]


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_every_answer_cell_is_followed_by_its_graded_test(lesson):
    nb = solution_notebook(lesson)
    nbformat.validate(nb)
    number = lesson[:2]
    answers = answer_and_test_cells(nb)
    assert len(answers) >= 4, "a lesson has at least 4 graded exercises"
    seen_ids = set()
    for k, (i, cell) in enumerate(answers, start=1):
        gid = nbgrader_meta(cell)["grade_id"]
        m = ANSWER_ID.match(gid)
        assert m, f"grade id {gid!r} should look like l{number}_e{k}_<function>"
        assert m.group(1) == number and int(m.group(2)) == k, f"{gid}: expected l{number}_e{k}_..."
        function = m.group(3)
        assert cell.cell_type == "code"
        assert re.search(rf"^def {function}\(", cell.source, re.M), f"{gid} should define {function}()"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        test = nb.cells[i + 1]
        meta = nbgrader_meta(test)
        assert meta.get("grade_id") == f"{gid}_tests", f"the cell after {gid} must be {gid}_tests"
        assert meta.get("grade") and meta.get("locked") and meta.get("points", 0) > 0
        hidden = re.search(r"### BEGIN HIDDEN TESTS(.*)### END HIDDEN TESTS", test.source, re.S)
        assert hidden and f'check("{gid}", {function}' in hidden.group(1), f"{gid}_tests hidden part"
        assert gid in EXERCISES, f"{gid} has no hidden-test definition in autograder/exercises"
        assert EXERCISES[gid].function == function
        seen_ids.add(gid)
    defined = {g for g in EXERCISES if g.startswith(f"l{number}_")}
    assert defined == seen_ids, f"exercise definitions without a notebook cell: {defined - seen_ids}"
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", g) for g in ids)


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_student_version_has_no_solutions_hidden_tests_or_outputs(lesson):
    nb = student_notebook(lesson)
    for cell in nb.cells:
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "checking import check"):
            assert marker not in cell.source, f"{lesson}: student version contains {marker!r}"
        if cell.cell_type == "code":
            assert not cell.outputs
    assert sum(1 for c in nb.cells if nbgrader_meta(c).get("solution")) == len(
        answer_and_test_cells(solution_notebook(lesson)))


def _requirement_names(specs):
    return {re.split(r"[<>=!~ ]", s.strip(), maxsplit=1)[0].lower(): s.replace(" ", "") for s in specs}


# Words for maintainers, not learners: the test tools, CI, the build and the solutions folder. nbval's
# markers go into cell tags (nbval-ignore-output), which a learner does not see.
MAINTAINER_WORDS = re.compile(r"nbval|\bCI\b|make (execute|build|lock)|solutions/|maintainer|\bissues?\b|pytest",
                              re.IGNORECASE)


def test_learners_notebooks_do_not_talk_to_maintainers(lesson):
    found = [f"cell {k}: {m.group(0)!r}" for k, cell in enumerate(student_notebook(lesson).cells)
             for m in MAINTAINER_WORDS.finditer(cell.source)]
    assert not found, f"{lesson} speaks to maintainers: {found}"


def test_the_maintainer_words_check_can_fail():
    assert MAINTAINER_WORDS.search("# NBVAL_IGNORE_OUTPUT") and MAINTAINER_WORDS.search("run make execute")
    assert not MAINTAINER_WORDS.search("the cell state carries the gradient")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirement_names(project["dependencies"] + project["optional-dependencies"]["dev"])
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("dependencies:") + 1
    conda = [ln.strip()[2:] for ln in lines[start:] if re.match(r"^  - [a-z]", ln)]
    listed = _requirement_names(s for s in conda if not s.startswith(("python", "pip")))
    assert listed == wanted, "environment.yml and pyproject.toml list different dependencies"
    assert "      - -e ." in lines, "environment.yml should pip-install the project itself"


def test_readme_gives_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    for command in ("make check", "make test", "make lab", "conda env create -f environment.yml"):
        assert command in readme
    assert "make test" in Path(ROOT / ".ci" / "run").read_text()
