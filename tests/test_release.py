"""``python -m autograder release`` / ``make release``: what students get leaks no answer, and works alone.

Lessons 03, 06 and 09 are released (03 through ``make release``, 06 and 09 through the CLI, side by side). Each
release is scanned for the answers of its lesson (solution cells, references, planted bugs, other-
style answers) and its hidden tests, then installed into a fresh virtual environment that sees the
main environment's third-party packages but neither ``autograder`` nor this checkout's ``rnnkit``:
the visible tests must fail on the stubs and pass with the solutions pasted in.
"""

import ast
import inspect
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import tokenize
import tomllib
import zipfile
from pathlib import Path

import pytest

from autograder.course import ROOT, SOLUTIONS, lesson_ids, nbgrader_meta, notebook_path, read_notebook
from autograder.release import ReleaseError, _third_party, answers_in, dependency_graph, plan, resolve

RELEASED = ("03_bptt", "06_training", "09_char_lm")  # 09: the text ships as package data
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def _release_cmd(*args):
    return [sys.executable, "-m", "autograder", "release", *args]


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """Lesson 03 released with ``make release``, lessons 06 and 09 with the CLI, all at once."""
    base = tmp_path_factory.mktemp("release")
    out = {"03_bptt": base / "r03", "06_training": base / "r06", "09_char_lm": base / "r09"}
    # -o: the environment is set up already; do not let a newer pyproject.toml reinstall it.
    runs = [subprocess.Popen(["make", "-s", "-o", ".venv/.installed", "release", "LESSONS=03",
                              f"OUT={out['03_bptt']}"], cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True),
            *[subprocess.Popen(_release_cmd(lesson, "--out", str(out[lesson])), cwd=ROOT, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for lesson in ("06_training", "09_char_lm")]]
    for run in runs:
        text, _ = run.communicate(timeout=300)
        assert run.returncode == 0, f"{run.args}: {text}"
    return out


# ---------------------------------------------------------------- what the release holds


def test_release_layout(releases):
    for lesson, out in releases.items():
        nn = lesson[:2]
        assert (out / "release" / lesson / f"{lesson}.ipynb").is_file()
        for data in (SOLUTIONS / lesson).glob("[!.]*.*"):  # the lesson's data files come along
            assert (out / "release" / lesson / data.name).is_file(), data.name
        project = tomllib.loads((out / "rnnkit" / "pyproject.toml").read_text())["project"]
        assert project["name"] == "rnnkit" and project["version"].endswith(f"+l{nn}")
        imports = set()  # the third-party packages the shipped rnnkit imports
        for path in (out / "rnnkit" / "rnnkit").rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imports |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    imports.add(node.module.split(".")[0])
        imports -= set(sys.stdlib_module_names) | {"rnnkit", "__future__"}
        assert {re.split(r"[<>=!~ ]", d)[0] for d in project["dependencies"]} == imports
        assert {"numpy", "statsmodels"} <= imports
        solved = sorted(p.stem for p in (out / "rnnkit" / "rnnkit" / "solved").glob("l*.py"))
        assert solved == [f"l{k}" for k in lesson_ids() if k < lesson], "solved/ holds exactly the earlier lessons"
        # rnnkit.given holds lesson 06's Adam and readout: handed to 03 (which trains with them), not to 06.
        # lesson 06's Adam and readout gradient: given to the lessons before it, a solved lesson's after it
        assert (out / "rnnkit" / "rnnkit" / "given.py").is_file() == (lesson != "06_training")
        requirements = (out / "requirements.txt").read_text()
        for name in ("numpy", "matplotlib", "statsmodels", "tqdm", "jupyterlab"):
            assert re.search(rf"^{name}\b", requirements, re.M), f"{name} missing from requirements.txt"
        assert "pip install -r requirements.txt ./rnnkit" in (out / "README.md").read_text()


def _no_comments(source: str) -> str:
    """Python source without comments (left as is when it does not tokenize)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    return tokenize.untokenize(t._replace(string="") if t.type == tokenize.COMMENT else t for t in tokens)


def _texts(folder: Path):
    """(path, text) of everything in a release: notebook cells and outputs, Python files, other text
    files and the members of any wheel or zip; code also once more without its comments, so that
    an answer copied with other comments is still found."""
    def both(path, text, code):
        yield path, text
        if code:
            yield path, _no_comments(text)

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".ipynb":
            for cell in json.loads(path.read_text())["cells"]:
                yield from both(path, "".join(cell["source"]), cell["cell_type"] == "code")
                yield path, json.dumps(cell.get("outputs", []))
        elif path.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield from both(path / name, archive.read(name).decode("utf-8", "replace"), name.endswith(".py"))
        else:
            try:
                yield from both(path, path.read_text(), path.suffix == ".py")
            except UnicodeDecodeError:
                continue


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _bodies(source: str) -> list[tuple[str, str, str]]:
    """(function name, body text without docstring, comments and whitespace, ast dump of the body)."""
    out, source = [], _no_comments(textwrap.dedent(source))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                text = "\n".join(ast.get_source_segment(source, s) for s in body)
                out.append((node.name, _squash(text), ast.dump(ast.Module(body=body, type_ignores=[]))))
    return out


def _answers(lesson: str):
    """The answer functions a release of ``lesson`` must not contain: its solution cells, and the
    reference, planted bugs and other-style answers of each of its exercises."""
    from autograder.exercises import EXERCISES

    nb = read_notebook(notebook_path(lesson, SOLUTIONS))
    found = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not (meta.get("solution") and cell.cell_type == "code"):
            continue
        found += [(f"{meta['grade_id']} solution", *b) for b in _bodies(cell.source)]
        exercise = EXERCISES[meta["grade_id"]]
        functions = [("reference", exercise.reference[exercise.function])]
        functions += [(f"bug {b.name}", b.func) for b in exercise.bugs]
        functions += [(f"alternative {a.name}", a.func) for a in exercise.alternatives]
        for kind, func in functions:
            found += [(f"{meta['grade_id']} {kind}", *b) for b in _bodies(inspect.getsource(func))]
    return found


def _hidden_lines(lesson: str) -> list[str]:
    source = read_notebook(notebook_path(lesson, SOLUTIONS))
    return [line.strip() for cell in source.cells for block in HIDDEN_BLOCK.findall(cell.source)
            for line in block.splitlines() if line.strip()]


def _scan(out: Path, lesson: str) -> dict:
    """What of the grader's side a release shows: files named like it, answers, hidden-test lines."""
    texts = list(_texts(out))
    corpus = "\n".join(_squash(text) for _, text in texts)
    dumps = set()
    for path, text in texts:
        if path.suffix in (".py", ".ipynb"):
            try:
                dumps |= {dump for _, _, dump in _bodies(text)}
            except SyntaxError:
                pass
    answers = _answers(lesson)
    assert len(answers) >= 15, "the scan found too few answers to be meaningful"
    # The visible stub of an answer cell is there, so the scan does look where answers would be.
    assert _squash('raise NotImplementedError("Exercise: replace this line with your code")') in corpus
    hidden = _hidden_lines(lesson)
    assert hidden, "the lesson has hidden tests to look for"
    return {
        "names": [str(p.relative_to(out)) for p in out.rglob("*")
                  if {"autograder", "solutions"} & set(p.relative_to(out).parts) or p.name == "gradebook.db"],
        "answers": [f"{where}: {name}" for where, name, text, dump in answers if text in corpus or dump in dumps],
        "hidden": [line for line in hidden if _squash(line) in corpus],
    }


@pytest.mark.parametrize("lesson", RELEASED)
def test_release_holds_no_answer_and_no_hidden_test(releases, lesson):
    found = _scan(releases[lesson], lesson)
    assert not found["names"], f"grader-side files in the release: {found['names']}"
    assert not found["answers"], f"answers of {lesson} found in its release: {found['answers']}"
    assert not found["hidden"], f"hidden-test lines in the release of {lesson}: {found['hidden']}"


def test_the_scan_finds_planted_leaks(releases, tmp_path):
    """The scan can fail: a copy of lesson 03's release with its answers, a reference, a reformatted
    planted bug and a hidden-test line added is caught on each."""
    from autograder.exercises import EXERCISES

    out = tmp_path / "r03"
    shutil.copytree(releases["03_bptt"], out)
    shutil.copy(ROOT / "rnnkit" / "solved" / "l03_bptt.py", out / "rnnkit" / "rnnkit" / "solved")
    (out / "autograder").mkdir()
    shutil.copy(ROOT / "autograder" / "reference" / "bptt.py", out / "autograder" / "bptt.py")
    bug = EXERCISES["l03_e1_rnn_step_backward"].bugs[0]
    reformatted = ast.unparse(ast.parse(textwrap.dedent(inspect.getsource(bug.func))))  # other spacing, no comments
    (out / "rnnkit" / "rnnkit" / "extra.py").write_text(reformatted + "\n# " + _hidden_lines("03_bptt")[-1] + "\n")
    found = _scan(out, "03_bptt")
    assert "autograder" in found["names"]
    assert {f"l03_e{k}" for k in range(1, 6)} <= {a[:6] for a in found["answers"] if "solution" in a}
    assert any("reference" in a for a in found["answers"]) and any(bug.name in a for a in found["answers"])
    assert found["hidden"] == [_hidden_lines("03_bptt")[-1]]


# ---------------------------------------------------------------- which sets are refused


def test_every_notebook_imports_only_earlier_answers():
    """The dependency graph: a lesson needs answers of earlier lessons only (rnnkit.given excepted,
    which holds lesson 06's Adam and readout for lessons 03-05)."""
    graph = dependency_graph()
    for lesson, modules in graph.items():
        for module, owners in modules.items():
            for owner in owners:
                assert owner < lesson or module == "rnnkit.given" and lesson < owner, (lesson, module)
    assert "rnnkit.solved.l03_bptt" in graph["04_lstm"]
    assert "rnnkit.solved.l06_training" in graph["07_forecasting"]


def test_a_set_that_would_leak_an_answer_is_refused(tmp_path):
    result = subprocess.run(_release_cmd("03", "04_lstm", "--out", str(tmp_path / "out")), cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "04_lstm needs rnnkit.solved.l03_bptt (the answers of 03_bptt)" in lines[0], lines
    assert not (tmp_path / "out").exists(), "a refused release writes nothing"


@pytest.mark.parametrize("lessons, owner", [(["06", "07"], "rnnkit.solved.l06_training"),  # 07 needs 06
                                            (["04", "05", "06"], "rnnkit.given"),  # 04 trains with 06's Adam
                                            (["02", "05"], "rnnkit.solved.l02_vanilla_rnn"),
                                            (["01", "04"], "rnnkit.solved.l02_vanilla_rnn")])  # 02 not released
def test_other_leaking_sets_are_refused(lessons, owner):
    with pytest.raises(ReleaseError) as info:
        plan(resolve(lessons))
    assert info.value.status == 1 and owner in str(info.value) and "\n" not in str(info.value)


def test_an_optional_import_is_not_a_requirement():
    optional = "try:\n    import torch\nexcept ImportError:\n    torch = None\nimport numpy as np\n"
    assert _third_party([optional]) == {"numpy"}
    assert _third_party(["import torch\n"]) == {"torch"}


def test_unknown_lesson_exits_2(tmp_path):
    result = subprocess.run(_release_cmd("03", "99", "--out", str(tmp_path / "out")), cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result
    assert "99" in result.stderr


def test_good_sets_are_planned():
    """Sets in which no lesson needs another's answers hand out only earlier lessons' (and rnnkit.given)."""
    for lessons in (["01", "02"], ["03"], ["06"], ["07", "08"]):
        shipped = plan(resolve(lessons))
        earliest = resolve(lessons)[0]
        assert all(k < earliest or m == "rnnkit.given" for m in shipped for k in answers_in(m)), lessons
    with pytest.raises(ReleaseError):
        plan(resolve(["05", "06"]))


# ---------------------------------------------------------------- a student's environment

RUNNER = r'''
import json, sys, traceback
cells, results = json.load(open(sys.argv[1])), []
namespace = {"__name__": "__main__"}
for cell in cells:
    source = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in cell["source"].splitlines())
    try:
        exec(compile(source, f"<cell {cell['id']}>", "exec"), namespace)
        results.append({"id": cell["id"], "error": None})
    except BaseException as exc:  # noqa: B036 - record everything, keep going
        results.append({"id": cell["id"], "error": type(exc).__name__,
                        "import_error": isinstance(exc, ImportError), "message": str(exc)[:300],
                        "trace": traceback.format_exc()[-1500:]})
json.dump({"cells": results, "rnnkit": sys.modules["rnnkit"].__file__ if "rnnkit" in sys.modules else None,
           "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("autograder", "rnnkit"))},
          open(sys.argv[2], "w"))
'''


def _pip_can_build() -> bool:
    """pip builds a setuptools project offline (no build isolation) only with ``wheel`` or setuptools>=70.1."""
    import importlib.metadata
    import importlib.util

    try:
        major, minor = (int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return importlib.util.find_spec("wheel") is not None or (major, minor) >= (70, 1)


def _student_venv(tmp_path: Path, project: Path) -> tuple[Path, str, Path]:
    """A fresh venv that sees the main environment's site-packages through a .pth (a path added by
    a .pth is no site dir: the editable hooks of autograder and this checkout's rnnkit do not run),
    with the released rnnkit installed by pip (offline), or put on its path when pip cannot build."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "main_env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    if _pip_can_build():
        copy = shutil.copytree(project, tmp_path / "rnnkit-project")  # pip builds in the tree: not in the release
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--no-index", str(copy)], check=True, env=_env(), cwd=tmp_path, timeout=300)
        how = "pip"
    else:
        (Path(site) / "released_rnnkit.pth").write_text(f"{project}\n")
        how = "pth"
    return python, how, Path(site)


def _run_cells(python: Path, cells: list[dict], cwd: Path, tmp_path: Path, name: str) -> dict:
    script, cells_file, result_file = tmp_path / "runner.py", tmp_path / f"{name}.json", tmp_path / f"{name}.out"
    script.write_text(RUNNER)
    cells_file.write_text(json.dumps(cells))
    run = subprocess.run([python, str(script), str(cells_file), str(result_file)], cwd=cwd,
                         env=_env(MPLBACKEND="Agg"), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and result_file.is_file(), run.stderr[-3000:]
    return json.loads(result_file.read_text())


def _names(source: str) -> tuple[set[str], set[str]]:
    """The names a cell binds at top level and the names it reads."""
    tree = ast.parse(source)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    bound |= {(a.asname or a.name).split(".")[0] for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
              for a in n.names}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return bound, read


def _independent_of_answers(code) -> set[int]:
    """Indices of the code cells to run on the stubs: setup, answers, graded tests, and every other cell that
    reads nothing an answer cell (or a cell depending on one) defines."""
    keep, tainted = set(), set()
    for k, (meta, source) in enumerate(code):
        bound, read = _names(source)
        if meta.get("solution"):
            tainted |= bound
        if meta.get("grade_id", "").startswith("setup") or meta.get("solution") or meta.get("grade"):
            keep.add(k)
        elif read & tainted:
            tainted |= bound
        else:
            keep.add(k)
    return keep


@pytest.mark.parametrize("lesson", RELEASED)
def test_release_works_in_a_fresh_environment(releases, tmp_path, lesson):
    out = releases[lesson]
    python, how, site = _student_venv(tmp_path, out / "rnnkit")
    print(f"released rnnkit made available by: {how}")
    probe = subprocess.run([python, "-c", "import autograder"], cwd=tmp_path, capture_output=True, text=True,
                           env=_env())
    assert probe.returncode != 0 and "No module named 'autograder'" in probe.stderr, \
        "the student's environment must not see the grader"
    later = f"rnnkit.solved.l{lesson}"
    probe = subprocess.run([python, "-c", f"import rnnkit, {later}"], cwd=tmp_path, capture_output=True, text=True,
                           env=_env())
    assert probe.returncode != 0 and f"No module named '{later}'" in probe.stderr, probe.stderr

    folder = out / "release" / lesson
    student = read_notebook(folder / f"{lesson}.ipynb")
    source = read_notebook(notebook_path(lesson, SOLUTIONS))
    solution = {nbgrader_meta(c).get("grade_id"): c.source for c in source.cells}
    code = [(nbgrader_meta(c), c.source) for c in student.cells if c.cell_type == "code"]

    # The stubs: the setup cell, the answer cells as released, every visible test cell, and the other cells
    # that do not depend on an answer (data, helpers: a visible test may read them).
    stub_cells = [{"id": meta.get("grade_id") or f"cell{k}", "source": source}
                  for k, (meta, source) in enumerate(code) if k in _independent_of_answers(code)]
    stubs = _run_cells(python, stub_cells, folder, tmp_path, "stubs")
    where = site if how == "pip" else out / "rnnkit"
    assert stubs["rnnkit"] and Path(stubs["rnnkit"]).resolve().is_relative_to(where.resolve()), stubs["rnnkit"]
    assert not [m for m in stubs["modules"] if m.startswith("autograder")]
    by_id = {r["id"]: r for r in stubs["cells"]}
    imports = [r for r in stubs["cells"] if r["error"] and r.get("import_error")]
    assert not imports, f"import errors in the student's environment: {imports}"
    setup_ids = [c["id"] for c in stub_cells if c["id"].startswith("setup")]
    assert setup_ids and all(by_id[i]["error"] is None for i in setup_ids), [by_id[i] for i in setup_ids]
    tests = [meta["grade_id"] for meta, _ in code if meta.get("grade")]
    assert tests
    wrong = {t: by_id[t] for t in tests if by_id[t]["error"] not in ("NotImplementedError", "AssertionError")}
    assert not wrong, f"visible tests that do not fail on the stubs: {wrong}"

    # The solutions pasted into the answer cells: the whole notebook (code cells, in order) runs.
    solved_cells = [{"id": meta.get("grade_id") or f"cell{k}",
                     "source": solution[meta["grade_id"]] if meta.get("solution") else source}
                    for k, (meta, source) in enumerate(code)]
    solved = _run_cells(python, solved_cells, folder, tmp_path, "solved")
    failed = [r for r in solved["cells"] if r["error"]]
    assert not failed, f"cells that fail with the solutions pasted in: {failed}"
    assert not [m for m in solved["modules"] if m.startswith("autograder")]
