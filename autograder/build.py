"""Generate what learners get from ``solutions/``: the student versions in ``lessons/`` (nbgrader)
and the answer modules ``rnnkit/solved/lNN_slug.py`` (and ``rnnkit/given.py``).

nbgrader's ``generate_assignment --force`` deletes the release folder before writing it, so a
failure can leave it missing. Here every lesson is generated into a temporary folder first, and
``lessons/<id>`` is replaced only when generation succeeded (an atomic rename); a module is
written to a temporary file and renamed over the old one. ``--check`` generates the same way and
reports what differs from what is committed.

``rnnkit/solved/lNN_slug.py`` holds lesson NN's answers, so that later lessons can build on them:
the code of its answer cells (nbgrader ``solution: true``) without the ``### BEGIN/END SOLUTION``
lines, preceded by what they use from the setup cell (imports, functions, constants).
``rnnkit/given.py`` holds the functions of :data:`GIVEN`, which lessons before theirs train with.
"""

from __future__ import annotations

import ast
import filecmp
import os
import re
import shutil
import tempfile
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import LESSONS, ROOT, SOLUTIONS, lesson_ids, nbgrader_meta, notebook_path, read_notebook

STUDENT_PACKAGE = ROOT / "rnnkit"
SOLVED = STUDENT_PACKAGE / "solved"
# Answers that lessons before their own train with (lessons 03-05 use lesson 06's Adam and readout).
GIVEN = {"06_training": ("adam_step", "readout_backward")}
GIVEN_DOC = (
    "Adam and the gradient of the linear readout: lessons 03-05 train with them before lesson 06\n"
    "asks you to derive and write them (its Exercises 3 and 4), so they are given here."
)
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


class BuildError(RuntimeError):
    pass


def _config(workdir: Path) -> Config:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.CourseDirectory.root = str(workdir)
    config.CourseDirectory.source_directory = str(SOLUTIONS)
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    config.Application.log_level = "WARN"
    return config


def generate(lesson: str, workdir: Path) -> Path:
    """Run nbgrader's generate_assignment for one lesson into ``workdir``; return the release folder."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = _config(workdir)
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.generate_assignment(lesson, force=True, create=True)
    out = workdir / "release" / lesson
    if not result.get("success") or not out.is_dir():
        text = f"{result.get('log') or ''}\n{result.get('error') or ''}"
        causes = [line.strip() for line in text.splitlines()
                  if re.match(r"\s*\w+(Error|Exception): ", line) and "NbGraderException" not in line]
        raise BuildError(f"{lesson}: nbgrader could not generate the student version: "
                         f"{causes[-1] if causes else 'see nbgrader generate_assignment ' + lesson}")
    return out


def solved_module(lesson: str) -> str:
    """The module name of a lesson's answers: ``l02_vanilla_rnn`` for ``02_vanilla_rnn``."""
    return f"l{lesson}"


def _answers(lesson: str) -> tuple[str, list[str]]:
    """The setup cell's source and the answer cells' code (solution markers removed), in order."""
    setup, answers = "", []
    for cell in read_notebook(notebook_path(lesson, SOLUTIONS)).cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") == "setup":
            setup = cell.source
        elif meta.get("solution") and cell.cell_type == "code":
            answers.append(SOLUTION_MARKER.sub("", cell.source.strip() + "\n"))
    return setup, answers


def _names_used(tree) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _names_bound(node) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _import_source(setup: str, node, used: set) -> str:
    """The setup cell's import statement; a ``from ... import`` keeps only the names in ``used``."""
    if not isinstance(node, ast.ImportFrom) or any(a.name == "*" for a in node.names):
        return ast.get_source_segment(setup, node)
    names = [a.name + (f" as {a.asname}" if a.asname else "") for a in node.names if (a.asname or a.name) in used]
    return f"from {'.' * node.level}{node.module or ''} import {', '.join(names)}"


def module_source(lesson: str, doc: str, only: tuple[str, ...] | None = None, given: tuple[str, ...] = ()) -> str:
    """A module with a lesson's answers (or the answers named in ``only``) and what they use from
    the setup cell: imports, functions and constants, in the setup cell's order. The answers named
    in ``given`` are imported from rnnkit.given instead of written again."""
    setup, answers = _answers(lesson)
    if only is not None:
        answers = [a for a in answers if _names_bound(ast.parse(a).body[0]) & set(only)]
    answers = [a for a in answers if not _names_bound(ast.parse(a).body[0]) & set(given)]
    used = set().union(*(_names_used(ast.parse(a)) for a in answers))
    setup_nodes = ast.parse(setup).body
    keep, grown = set(), True
    while grown:  # setup definitions the answers use, and what those use in turn
        grown = False
        for k, node in enumerate(setup_nodes):
            if k not in keep and _names_bound(node) & used:
                keep.add(k)
                used |= _names_used(node)
                grown = True
    imports = [_import_source(setup, n, used) for k, n in enumerate(setup_nodes)
               if k in keep and isinstance(n, ast.Import | ast.ImportFrom)]
    helpers = [ast.get_source_segment(setup, n) for k, n in enumerate(setup_nodes)
               if k in keep and not isinstance(n, ast.Import | ast.ImportFrom)]
    text = f'"""{doc}\n\nGenerated from solutions/{lesson} by `make build`; do not edit."""\n'
    if imports:  # third-party imports, then the course's own (rnnkit), as isort groups them
        ours = [i for i in imports if re.match(r"(from|import) rnnkit\b", i)]
        groups = [[i for i in imports if i not in ours], ours]
        text += "\n" + "\n\n".join("\n".join(group) for group in groups if group)
    if given:  # one copy of them, in rnnkit/given.py, which lessons before this one import
        text += f"\n\nfrom rnnkit.given import {', '.join(sorted(given))}  # noqa: F401 - this lesson's, given earlier"
    previous_def = False
    for part in helpers + [a.rstrip("\n") for a in answers]:  # two blank lines around a def, else one
        is_def = isinstance(ast.parse(part).body[0], ast.FunctionDef | ast.ClassDef)
        text += ("\n\n\n" if is_def or previous_def else "\n\n") + part
        previous_def = is_def
    return text + "\n"


def student_modules(lessons: list[str]) -> dict[Path, str]:
    """The generated modules of rnnkit for ``lessons``: path -> source."""
    out = {}
    for lesson in lessons:
        title = read_notebook(notebook_path(lesson, SOLUTIONS)).cells[0].source.splitlines()[0].lstrip("# ")
        out[SOLVED / f"{solved_module(lesson)}.py"] = module_source(
            lesson, f"{title}\n\nThe answers of this lesson's exercises, for the lessons that build on them.",
            given=GIVEN.get(lesson, ()))
        if lesson in GIVEN:
            out[STUDENT_PACKAGE / "given.py"] = module_source(lesson, GIVEN_DOC, GIVEN[lesson])
    return out


def _write_atomically(path: Path, text: str):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the module is read by every learner
    os.replace(tmp, path)


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def build(lessons: list[str] | None = None, check: bool = False) -> list[str]:
    """Regenerate (or, with ``check``, compare) ``lessons/`` and rnnkit's generated modules.

    Returns what differed, as paths relative to the repository (``lessons/02_vanilla_rnn``,
    ``rnnkit/solved/l02_vanilla_rnn.py``).
    """
    lessons = lessons or lesson_ids()
    differ = []
    for path, text in student_modules(lessons).items():
        if path.is_file() and path.read_text() == text:
            continue
        differ.append(str(path.relative_to(ROOT)))
        if not check:
            _write_atomically(path, text)
    with tempfile.TemporaryDirectory(prefix="rnn-course-build-") as tmp:
        for lesson in lessons:
            new = generate(lesson, Path(tmp))
            old = LESSONS / lesson
            if old.is_dir() and _same_tree(new, old):
                continue
            differ.append(f"lessons/{lesson}")
            if check:
                continue
            LESSONS.mkdir(exist_ok=True)
            staged = LESSONS / f".{lesson}.new"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(new, staged)
            if old.exists():
                backup = LESSONS / f".{lesson}.old"
                shutil.rmtree(backup, ignore_errors=True)
                old.rename(backup)
                staged.rename(old)
                shutil.rmtree(backup)
            else:
                staged.rename(old)
    return differ
