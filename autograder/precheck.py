"""Grading checks itself first: the lesson's own solution must earn full marks before any student is graded.

A grader whose sandbox cannot import ``rnnkit``, whose kernel cannot start or whose verifier is broken
would otherwise give every student 0 and report nothing. :func:`precheck` grades the lesson's solution
(``solutions/<lesson>/<lesson>.ipynb`` of the course being graded) exactly as nbgrader's autograde
does with the repository's configuration: the same :class:`~autograder.nbgrader_plugins.SafeExecute`
(the bubblewrap sandbox, the student package as the lesson's release hands it out) and
:class:`~autograder.nbgrader_plugins.VerifyAnswers`, with no gradebook. Anything short of full marks
stops grading with one line saying what failed.

A passed pre-check is cached per (lesson, environment) in ``<course>/.autograder-precheck.json``, so
a class of 1,000 pays it once: the key covers the solution notebook, the interpreter, every installed
distribution's version, the source of the grader and of the student package (and where they are
imported from), the sandbox and the grading settings. A failed pre-check is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

CACHE_NAME = ".autograder-precheck.json"


class PrecheckFailed(RuntimeError):
    """The lesson's solution does not earn full marks in this grading environment; str() is one line."""


# ----------------------------------------------------------------------------------------- the key

# Modules of the grader that grading never imports: editing them does not call for a new pre-check.
NOT_GRADING = ("experiments/", "bench.py", "bench_charlm.py", "diagrams.py")


def _tree_digest(h, package: str):
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        h.update(f"{package}: missing\n".encode())
        return
    for base in spec.submodule_search_locations:
        base = Path(base).resolve()
        h.update(f"{package}: {base}\n".encode())
        for path in sorted(base.rglob("*.py")):
            if package == "autograder" and str(path.relative_to(base)).startswith(NOT_GRADING):
                continue
            h.update(str(path.relative_to(base)).encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())


def environment_key(lesson: str, root: Path, settings: dict) -> str:
    """What the pre-check's verdict depends on, hashed."""
    from importlib import metadata

    from autograder.sandbox import bwrap_path

    h = hashlib.sha256()
    solution = Path(root) / "solutions" / lesson / f"{lesson}.ipynb"
    h.update(lesson.encode())
    h.update(hashlib.sha256(solution.read_bytes()).digest() if solution.is_file() else b"no solution")
    h.update(f"{Path(sys.executable).resolve()} {sys.version} {bwrap_path()}".encode())
    h.update(json.dumps(settings, sort_keys=True).encode())
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata['Name'])
    h.update("\n".join(dists).encode())
    for package in ("autograder", "rnnkit"):
        _tree_digest(h, package)
    return h.hexdigest()


def _cache_path(root: Path) -> Path:
    return Path(root) / CACHE_NAME


def _cached(root: Path, key: str) -> bool:
    try:
        return key in json.loads(_cache_path(root).read_text()).get("passed", {})
    except (OSError, ValueError, AttributeError):
        return False


def _remember(root: Path, lesson: str, key: str):
    import time

    path = _cache_path(root)
    try:
        data = json.loads(path.read_text())
        passed = data.get("passed", {}) if isinstance(data, dict) else {}
    except (OSError, ValueError):
        passed = {}
    passed[key] = {"lesson": lesson, "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        fd, tmp = tempfile.mkstemp(prefix=".precheck-", dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            json.dump({"passed": passed}, fh, indent=1)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the new file
    except OSError:
        pass  # a read-only course folder: the pre-check is simply paid again next time


# ----------------------------------------------------------------------------------------- the check

def _error_of(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            first = (out.get("evalue") or "").strip().splitlines()
            return f"{out.get('ename', 'Error')}: {first[0] if first else ''}"
    return None


def setup_failure(nb) -> str | None:
    """One line when the notebook's setup cell (grade id ``setup``) ended in an error, else None."""
    from autograder.course import nbgrader_meta

    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id", "").startswith("setup"):
            error = _error_of(cell)
            if error:
                return error
    return None


def hint(error: str) -> str:
    """What an instructor should do about an environment error."""
    if "ModuleNotFoundError" in error or "ImportError" in error:
        missing = error.split("'")[1] if error.count("'") >= 2 else "a module"
        return f"the sandbox cannot import {missing}: run make setup (and grade with that environment's python)"
    return error


def _grade_solution(lesson: str, root: Path, config) -> str | None:
    """None when the solution earns full marks through SafeExecute + VerifyAnswers, else one line."""
    import shutil

    import nbformat

    from autograder.course import exercise_label, nbgrader_meta
    from autograder.nbgrader_plugins import SafeExecute, VerifyAnswers

    folder = Path(root) / "solutions" / lesson
    solution = folder / f"{lesson}.ipynb"
    if not solution.is_file():
        return f"no solution notebook {solution} to check the grader with"
    nb = nbformat.read(str(solution), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    with tempfile.TemporaryDirectory(prefix="precheck-") as tmp:
        work = Path(tmp) / lesson
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
        resources = {"metadata": {"path": str(work)}, "nbgrader": {"assignment": lesson, "notebook": lesson}}
        sandbox = None
        try:
            nb, resources = SafeExecute(config=config).preprocess(nb, resources)
            sandbox = resources.get("autograder_sandbox")
            failed_setup = setup_failure(nb)
            if failed_setup:
                return f"the setup cell failed ({failed_setup}): {hint(failed_setup)}"
            nb, resources = VerifyAnswers(config=config).preprocess(nb, resources)
        finally:
            if sandbox is not None:
                sandbox.close()
    missed = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code" and _error_of(cell):
            missed.append(f"{exercise_label(meta.get('grade_id'))}: {_error_of(cell).split(': ', 1)[-1]}")
    if missed:
        more = f" (and {len(missed) - 1} more)" if len(missed) > 1 else ""
        return f"the solution does not earn full marks: {missed[0][:300]}{more}"
    return None


def precheck(lesson: str, root: Path, config=None, use_cache=True, log=None) -> bool:
    """Grade ``lesson``'s solution in this environment; raise :class:`PrecheckFailed` (one line) unless
    it earns full marks. Returns True when it ran, False when a cached pass was used."""
    from traitlets.config import Config

    config = config if config is not None else Config()
    safe = config.get("SafeExecute", {})
    settings = {k: safe.get(k) for k in ("timeout", "budget", "unsafe", "memory_mb", "submission_memory_mb")}
    settings["unsafe_env"] = os.environ.get("AUTOGRADER_UNSAFE", "")
    key = environment_key(lesson, root, settings)
    if use_cache and _cached(root, key):
        return False
    if log:
        log(f"{lesson}: checking the grader on the lesson's solution first")
    import logging

    quiet = logging.getLogger("traitlets")
    level = quiet.level
    try:
        reason = _grade_solution(lesson, root, config)
    except SystemExit as exc:  # SafeExecute's "no sandbox" line
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever broke the grader, in one line
        reason = f"the grader itself failed: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"
    finally:
        quiet.setLevel(level)
    if reason:
        raise PrecheckFailed(f"{lesson}: grading stopped before any student: {reason}")
    if use_cache:
        _remember(root, lesson, key)
    return True


# ------------------------------------------------------------------------- plain `nbgrader autograde`

def _argv_value(argv, *names):
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def lessons_from_argv(argv, root: Path) -> list[str]:
    """The lesson(s) a ``nbgrader autograde ...`` command line grades."""
    rest = argv[argv.index("autograde") + 1:] if "autograde" in argv else []
    takes_value = {"--student", "--assignment", "--notebook", "--course", "--log-level", "--config", "--db"}
    positional, skip = [], False
    for arg in rest:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in takes_value
        else:
            positional.append(arg)
    named = positional[:1] or [_argv_value(rest, "--assignment", "--CourseDirectory.assignment_id")]
    if named and named[0]:
        return named
    submitted = Path(root) / "submitted"  # every lesson with a submission
    return sorted({p.name for s in submitted.iterdir() if s.is_dir() for p in s.iterdir() if p.is_dir()}
                  if submitted.is_dir() else [])


def nbgrader_hook(config, argv=None):
    """Called from nbgrader_config.py: before ``nbgrader autograde`` touches the gradebook, check the grader
    on each lesson's solution (once per lesson and environment); on failure exit with one line."""
    argv = list(sys.argv if argv is None else argv)
    if "autograde" not in argv[1:3]:
        return
    root = Path(config.CourseDirectory.root)
    for lesson in lessons_from_argv(argv, root):
        if not (root / "solutions" / lesson).is_dir():
            continue
        try:
            precheck(lesson, root, config, log=lambda m: print(m, file=sys.stderr))
        except PrecheckFailed as exc:
            sys.exit(f"nbgrader autograde: {exc}")
