"""What an instructor hands out for some lessons: ``python -m autograder release 03 04 --out DIR``.

``DIR/release/<lesson>/``  nbgrader's student version of each lesson (``generate_assignment`` from
                           ``solutions/`` into a temporary folder), with the lesson's data files;
``DIR/rnnkit/``            the student package as a project folder (``pyproject.toml`` + ``rnnkit/``),
                           whose ``rnnkit/solved/`` holds only the answers of the lessons *before* the
                           earliest lesson released;
``DIR/requirements.txt``   the third-party packages a student needs, installed from prebuilt wheels only
                           (``--only-binary``) at the versions the course was tested with
                           (``DIR/constraints.txt``, the course's ``requirements.lock``): pip neither
                           searches for versions nor compiles anything; ``DIR/README.md``: how to start.

Which answers a lesson needs is read from its notebook: the code a student gets (hidden tests
excluded) is scanned for imports of ``rnnkit`` modules, and those modules' own imports are
followed. ``rnnkit.solved.lNN_slug`` holds lesson NN's answers; ``rnnkit.given`` holds answers of
the lessons in :data:`autograder.build.GIVEN`, handed out early on purpose (lessons 03-05 train
with lesson 06's Adam). A set of lessons is refused (:class:`ReleaseError`, exit 1) when a lesson
needs the answers of a lesson in the same set (students still working on that lesson would get
them), or the answers of a later lesson that is not in the set (``solved/`` only holds lessons
before the earliest one released). An unknown lesson id exits 2.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from autograder.course import ROOT, SOLUTIONS, lesson_ids, notebook_path, read_notebook, strip_hidden

PACKAGE = "rnnkit"
PACKAGE_DIR = ROOT / PACKAGE
MENTION = re.compile(r"\b(rnnkit(?:\.\w+)+)")
# What a student needs besides what the notebooks and rnnkit import.
TOOLS = ("jupyterlab",)


class ReleaseError(RuntimeError):
    """A release that cannot or must not be built; ``status`` is the exit status (1, or 2 for bad usage)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- lessons and what they import


def resolve(ids: list[str]) -> list[str]:
    """Lesson ids from ``03`` or ``03_bptt``, in course order; unknown ids raise (status 2)."""
    known = lesson_ids()
    out = []
    for given in ids:
        name = given.strip().rstrip("/").split("/")[-1]
        match = [lesson for lesson in known if lesson == name or lesson.split("_", 1)[0] == name]
        if len(match) != 1:
            raise ReleaseError(f"unknown lesson {given!r} (known: {', '.join(known)})", status=2)
        out.append(match[0])
    return sorted(set(out))


def _python(source: str) -> str:
    """Cell source without IPython magics and shell escapes, so that ``ast`` can read it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def student_code(lesson: str) -> list[str]:
    """The code cells of a lesson as a student meets them: solutions included (an answer may
    import), hidden tests left out (they run on the grader's side)."""
    nb = read_notebook(notebook_path(lesson, SOLUTIONS))
    return [strip_hidden(cell.source) for cell in nb.cells if cell.cell_type == "code"]


def package_modules(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package: dotted name -> file (``rnnkit.solved`` -> ``solved/__init__.py``)."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = (package_dir.name, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def imported(source: str, modules: dict[str, Path], here: str | None = None) -> set[str]:
    """The package's modules that ``source`` imports or reaches (``import rnnkit.solved.l03_bptt``,
    ``from rnnkit.solved import l03_bptt``, ``rnnkit.solved.l03_bptt.f(...)``, a string
    ``"rnnkit.solved.l03_bptt"`` for importlib); ``here`` is the importing module, for relative
    imports. Comments and docstrings that merely mention a module do not count; code that does
    not parse is scanned as text. A name under ``rnnkit.solved.`` that is no module raises."""
    names = set()
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        tree, names = None, set(MENTION.findall(source))
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and here:
                package = here if modules.get(here, Path()).name == "__init__.py" else here.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".rstrip(".")
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Attribute) and (name := _dotted(node)):
            names.add(name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MENTION.fullmatch(node.value):
            names.add(node.value)
    out = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != PACKAGE:
            continue
        for k in range(len(parts), 0, -1):  # the longest prefix that is a module
            if ".".join(parts[:k]) in modules:
                break
        module = ".".join(parts[:k])
        if module == f"{PACKAGE}.solved" and len(parts) > k and re.match(r"l\d\d_", parts[k]):
            raise ReleaseError(f"{name} is imported but rnnkit has no module {module}.{parts[k]} "
                               "(run `make build`)")
        out.add(module)
    return out


def answers_in(module: str) -> set[str]:
    """The lessons whose answers a module holds: ``rnnkit.solved.l03_bptt`` -> {03_bptt}."""
    from autograder.build import GIVEN, solved_module

    if module == f"{PACKAGE}.given":
        return set(GIVEN)
    return {lesson for lesson in lesson_ids() if module == f"{PACKAGE}.solved.{solved_module(lesson)}"}


def given_modules() -> set[str]:
    """Modules of answers handed out early on purpose (see rnnkit.given)."""
    return {f"{PACKAGE}.given"}


def closure(start: dict[str, str], modules: dict[str, Path]) -> dict[str, str]:
    """``start`` (module -> who imports it) and everything those modules import in turn."""
    found, todo = dict(start), list(start)
    while todo:
        module = todo.pop()
        for other in imported(modules[module].read_text(), modules, here=module):
            if other not in found:
                found[other] = f"{found[module]} (through {module})"
                todo.append(other)
    return found


def needs(lesson: str, modules: dict[str, Path] | None = None) -> dict[str, str]:
    """The package's modules a lesson's notebook needs, directly or not: module -> how."""
    modules = modules if modules is not None else package_modules()
    direct = set().union(*(imported(code, modules) for code in student_code(lesson)))
    return closure({m: lesson for m in sorted(direct)}, modules)


def dependency_graph() -> dict[str, dict[str, set[str]]]:
    """lesson -> {module it needs -> the lessons whose answers that module holds}, for answer modules."""
    modules = package_modules()
    graph = {}
    for lesson in lesson_ids():
        graph[lesson] = {m: answers_in(m) for m in needs(lesson, modules) if answers_in(m)}
    return graph


# ---------------------------------------------------------------- what a release may contain


def plan(lessons: list[str]) -> set[str]:
    """The package's modules to hand out with ``lessons``; raises (status 1) for a set that would
    hand out an answer of one of its lessons, or one that cannot work without doing so."""
    modules = package_modules()
    earliest = lessons[0]
    answer_modules = {m for m in modules if answers_in(m)}
    base = {m: f"the package ({m})" for m in modules if m not in answer_modules}
    before = {m: f"the lessons after {'/'.join(sorted(answers_in(m)))}" for m in answer_modules
              if all(k < earliest for k in answers_in(m))}
    wanted = {}
    for lesson in lessons:
        for module, how in needs(lesson, modules).items():
            wanted.setdefault(module, how)
    for module, how in closure({**base, **before}, modules).items():
        wanted.setdefault(module, how)
    for module, how in sorted(wanted.items()):
        for owner in sorted(answers_in(module)):
            if owner in lessons:
                if how.split(" ")[0] == owner:
                    raise ReleaseError(f"{owner} imports its own answers ({module}); "
                                       "a notebook may import only earlier lessons' answers")
                raise ReleaseError(
                    f"{how} needs {module} (the answers of {owner}), but {owner} is released in the same set: "
                    f"students still working on {owner} would get its answers; release {owner} in a set of its own")
            if owner >= earliest and module not in given_modules():
                raise ReleaseError(
                    f"{how} needs {module} (the answers of {owner}), but {owner} comes after {earliest}, which is "
                    f"released in the same set: students on {earliest} would get them; release {earliest} in a set "
                    "of its own")
    return set(wanted)


# ---------------------------------------------------------------- third-party requirements


def _optional_imports(tree) -> set[int]:
    """ids of the import statements inside ``try: ... except ImportError`` (optional: e.g. torch)."""
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return optional


def _third_party(sources) -> set[str]:
    """Top-level names of the non-standard-library modules that ``sources`` import, optional ones
    (imported under ``try: ... except ImportError``) left out."""
    names = set()
    for source in sources:
        try:
            tree = ast.parse(_python(source))
        except SyntaxError:
            continue
        optional = _optional_imports(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in (PACKAGE, "__future__")}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(import_names: set[str]) -> list[str]:
    """Distribution requirements (``numpy>=2.0,<3``) for import names, with the course's version bounds."""
    course = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {_canonical(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]): spec.split(";")[0].strip()
              for spec in course}
    dists = importlib.metadata.packages_distributions()
    out = set()
    for name in import_names:
        dist = _canonical((dists.get(name) or [name])[0])
        out.add(bounds.get(dist, dist))
    return sorted(out, key=_canonical)


# ---------------------------------------------------------------- writing the release


def _title(nb) -> str:
    return nb.cells[0].source.splitlines()[0].lstrip("# ").strip()


def _check_student_version(lesson: str, folder: Path):
    """What nbgrader wrote must work without the grader and show no solution or hidden test."""
    for path in folder.rglob("*.ipynb"):
        for cell in read_notebook(path).cells:
            text = cell.source
            if re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", text):
                raise ReleaseError(f"{lesson}: the student version still has nbgrader markers in {path.name}")
            if cell.cell_type == "code" and "autograder" in _third_party([text]):
                raise ReleaseError(f"{lesson}: the student version imports the grader (autograder), which "
                                   "students do not get; import it only inside hidden tests")


def _check_generated(shipped: set[str], modules: dict[str, Path]):
    """The answer modules handed out must be what ``make build`` generates from solutions/ now."""
    from autograder.build import student_modules

    for path, text in student_modules(lesson_ids()).items():
        name = next((m for m, p in modules.items() if p == path), None)
        if name in shipped and path.read_text() != text:
            raise ReleaseError(f"{path.relative_to(ROOT)} is out of date with solutions/: run `make build`")


def _requirements_txt(deps: list[str]) -> str:
    """The student's requirements: pinned by constraints.txt (no resolver search) and wheels only."""
    return ("# The versions the course was tested with, as prebuilt wheels: nothing is compiled.\n"
            "-c constraints.txt\n--only-binary=:all:\n" + "".join(f"{d}\n" for d in deps))


def _pyproject(version: str, deps: list[str], packages: list[str], lessons: list[str]) -> str:
    course = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    quoted = ", ".join(f'"{d}"' for d in deps)
    return f"""[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{PACKAGE}"
version = "{version}"
description = "What the notebooks of the course's lessons {', '.join(lessons)} import"
requires-python = "{course.get('requires-python', '>=3.11')}"
dependencies = [{quoted}]

[tool.setuptools]
packages = [{', '.join(f'"{p}"' for p in packages)}]

[tool.setuptools.package-data]
rnnkit = ["texts/*.txt", "texts/*.md"]
"""


def _readme(lessons: list[str], titles: dict[str, str], solved: list[str], given: list[str],
            course_title: str) -> str:
    rows = "\n".join(f"- `release/{lesson}/{lesson}.ipynb`: {titles[lesson]}" for lesson in lessons)
    these = "this lesson" if len(lessons) == 1 else "these lessons"
    builds = "it builds" if len(lessons) == 1 else "they build"
    parts = [f"the answers of the lessons before {these} ({', '.join(solved)}), which {builds} on"
             if solved else "no answers of any lesson"]
    parts += [f"`{name}`: {_doc(name).split(':')[0]}, given before the lesson that derives them" for name in given]
    return f"""# {course_title}: {'lesson' if len(lessons) == 1 else 'lessons'} {', '.join(lessons)}

{rows}
- `rnnkit/`: the small package the notebooks import: data sets, training loops, `rel_error`;
  {'; '.join(parts)}.
- `requirements.txt`: the packages the notebooks need, as prebuilt wheels at the versions in
  `constraints.txt` (the ones the course was tested with).

## Install (once per release)

Python 3.11 or newer, in this folder:

```bash
python -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt ./rnnkit
```

## Work

```bash
jupyter lab release/
```

Work through the notebooks in order. Write your code where a cell says `# YOUR CODE HERE`, then run
the test cell below it: it checks shapes and small worked examples and says what looks wrong. Your
instructor grades the notebooks with further, hidden tests. When the next lessons come out, run
`pip install ./rnnkit` from their folder: it adds the answers of the lessons you have finished.
"""


def _doc(module: str) -> str:
    """The first line of a package module's docstring."""
    doc = ast.get_docstring(ast.parse(package_modules()[module].read_text())) or module
    return doc.splitlines()[0]


def copy_package(shipped: set[str], modules: dict[str, Path], dest: Path) -> list[str]:
    """Copy the shipped modules (and the package's other files) to ``dest``; return its packages."""
    files = {modules[m] for m in shipped}
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if path.suffix == ".py" and path not in files:
            continue
        target = dest / PACKAGE / path.relative_to(PACKAGE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return sorted(m for m in shipped if modules[m].name == "__init__.py")


def _wheel(project: Path, out: Path):
    """``pip wheel`` the project (offline, no build isolation) from a scratch copy of it."""
    with tempfile.TemporaryDirectory(prefix="rnnkit-wheel-") as tmp:
        copy = Path(tmp) / "rnnkit"
        shutil.copytree(project, copy)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
             "--quiet", "-w", str(out), str(copy)], capture_output=True, text=True)
    if result.returncode:
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if re.match(r"(error|ERROR):", line) and "-with-error" not in line
                  and "-failed" not in line] or lines[-1:] or ["no output"]
        raise ReleaseError(f"pip wheel failed ({errors[0]}); "
                           "`pip install wheel` (or setuptools>=70.1), or leave out --wheel")


def _check_out(out: Path):
    """``out`` may be missing, empty, or an earlier release (which is replaced), nothing else."""
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a folder", status=2)
    if out.is_dir() and any(out.iterdir()) and not {"release", PACKAGE} <= {p.name for p in out.iterdir()}:
        raise ReleaseError(f"{out} is not empty and holds no earlier release: choose a new or empty folder",
                           status=2)


def _replace(stage: Path, out: Path):
    """Move ``stage`` to ``out``, replacing an earlier release there."""
    _check_out(out)
    if out.exists():
        backup = out.with_name(f".{out.name}.old")
        shutil.rmtree(backup, ignore_errors=True)
        out.rename(backup)
        shutil.move(str(stage), out)
        shutil.rmtree(backup)
    else:
        shutil.move(str(stage), out)


def release(ids: list[str], out: Path, wheel: bool = False) -> dict:
    """Build the release of lessons ``ids`` in ``out`` (see the module docstring); return a summary."""
    from autograder.build import BuildError, generate, solved_module

    lessons = resolve(ids)
    if not lessons:
        raise ReleaseError("no lessons given", status=2)
    modules = package_modules()
    shipped = plan(lessons)
    _check_generated(shipped, modules)
    out = Path(out).resolve()
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    notebooks = {lesson: read_notebook(notebook_path(lesson, SOLUTIONS)) for lesson in lessons}
    titles = {lesson: _title(nb) for lesson, nb in notebooks.items()}
    course_title = (ROOT / "README.md").read_text().splitlines()[0].lstrip("# ").strip()
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        stage, work = Path(tmp) / "stage", Path(tmp) / "nbgrader"
        work.mkdir()
        for lesson in lessons:
            try:
                generated = generate(lesson, work)
            except BuildError as exc:
                raise ReleaseError(str(exc)) from exc
            _check_student_version(lesson, generated)
            shutil.copytree(generated, stage / "release" / lesson,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        project = stage / PACKAGE
        packages = copy_package(shipped, modules, project)
        solved = sorted(k for m in shipped for k in answers_in(m) if m not in given_modules())
        package_code = [modules[m].read_text() for m in shipped]
        notebook_code = [cell.source for lesson in lessons
                         for cell in read_notebook(stage / "release" / lesson / f"{lesson}.ipynb").cells
                         if cell.cell_type == "code"]
        version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        version = f"{version}+l{lessons[0].split('_')[0]}"
        deps = requirements(_third_party(package_code))
        (project / "pyproject.toml").write_text(_pyproject(version, deps, packages, lessons))
        student_deps = requirements(_third_party(package_code + notebook_code) | set(TOOLS))
        (stage / "requirements.txt").write_text(_requirements_txt(student_deps))
        shutil.copy(ROOT / "requirements.lock", stage / "constraints.txt")
        given = sorted(given_modules() & shipped)
        (stage / "README.md").write_text(_readme(lessons, titles, solved, given, course_title))
        if wheel:
            _wheel(project, stage)
        _replace(stage, out)
    return {"lessons": lessons, "out": out, "solved": [f"{PACKAGE}.solved.{solved_module(k)}" for k in solved],
            "given": given, "requirements": student_deps, "version": version}


def main(ids: list[str], out: str, wheel: bool = False) -> int:
    """The ``release`` command: one line on stderr and exit 1 (2 for bad usage) when refused."""
    try:
        summary = release(ids, Path(out), wheel=wheel)
    except ReleaseError as exc:
        print(f"release refused: {exc}", file=sys.stderr)
        return exc.status
    solved = ", ".join(summary["solved"] + summary["given"]) or "none"
    print(f"released {', '.join(summary['lessons'])} to {summary['out']} (rnnkit {summary['version']}; "
          f"answers included: {solved})")
    print(f"students: pip install -r requirements.txt ./rnnkit   (needs {', '.join(summary['requirements'])})")
    return 0
