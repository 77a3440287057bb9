"""``make check``: grade a learner's notebooks in ``lessons/`` and print a scorecard.

For each lesson the learner's notebook is read (never written), its graded test cells are
replaced by the full tests from ``solutions/`` (hidden tests included; edited or deleted test
cells are restored and reported), the result is executed in a fresh kernel in a temporary folder,
and each graded cell scores its points when it runs without error. Failure reasons are one line,
taken from the exception's message only, so hidden test code is never shown.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder.course import (
    GRADING_ENV,
    LESSONS,
    SOLUTIONS,
    exercise_label,
    graded_cells,
    lesson_ids,
    nbgrader_meta,
    notebook_path,
    strip_hidden,
)
from autograder.runner import CellRun, Runner
from autograder.verify import CHECK_CALL, verify_in_background


@dataclass
class ExerciseResult:
    grade_id: str
    label: str
    points: float
    max_points: float
    reason: str = ""


@dataclass
class LessonResult:
    lesson: str
    exercises: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    error: str = ""  # set when the lesson could not be graded at all
    max_points: float = 0.0

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def prepare(learner, source):
    """The notebook to execute: the learner's cells with the source's full test cells.

    Returns (notebook, notes); notes say which test cells were edited or missing.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(learner)))
    notes = []
    by_id = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells) if nbgrader_meta(c)}
    for test in graded_cells(source):
        gid = nbgrader_meta(test)["grade_id"]
        full = nbformat.from_dict(json.loads(json.dumps(test)))
        full.outputs, full.execution_count = [], None
        if gid in by_id:
            cell = nb.cells[by_id[gid]]
            if _norm(strip_hidden(cell.get("source", ""))) != _norm(strip_hidden(test.source)):
                notes.append(f"{exercise_label(gid)}: its test cell was edited; the original was used")
            nb.cells[by_id[gid]] = full
        else:
            notes.append(f"{exercise_label(gid)}: its test cell is missing; the original was used")
            answer = by_id.get(gid.removesuffix("_tests"))
            at = answer + 1 if answer is not None else len(nb.cells)
            nb.cells.insert(at, full)
            by_id = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)
                     if nbgrader_meta(c)}
    return nb, notes


def failure_reason(run: CellRun) -> str:
    if run.status == "ok":
        return ""
    first = (run.evalue or "").strip().splitlines()
    message = first[0] if first else ""
    if run.ename == "NotImplementedError":
        return "not attempted yet"
    if run.status in ("timeout", "died", "skipped"):
        return message
    if run.ename == "NameError":
        return f"{message} (run the cells above it, or restore a deleted cell)"
    if run.ename in ("AssertionError", "Mismatch"):  # Mismatch: the hidden tests' own message
        return message or "a check failed"
    return f"{run.ename}: {message}" if message else run.ename


def _read(path: Path, what: str):
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing ({what})")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook gets the same one-line answer
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path} is not a readable notebook ({detail[:120]}); "
                         "it was left untouched") from None


def grade_lesson(lesson, learner_dir=LESSONS, timeout=60, budget=600, progress=None) -> LessonResult:
    result = LessonResult(lesson)
    try:
        source = _read(notebook_path(lesson, SOLUTIONS), "the course source")
    except (FileNotFoundError, ValueError) as exc:
        result.error = str(exc)
        return result
    tests = graded_cells(source)
    result.max_points = float(sum(nbgrader_meta(c).get("points", 0) for c in tests))
    path = notebook_path(lesson, learner_dir)
    try:
        learner = _read(path, f"restore the original with: git checkout -- lessons/{lesson}")
    except (FileNotFoundError, ValueError) as exc:
        result.error = str(exc)
        return result
    nb, result.notes = prepare(learner, source)
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    done = []

    def on_cell(index, run):
        done.append(index)
        if progress:
            progress(lesson, len(done), code_cells)

    with (tempfile.TemporaryDirectory(prefix=f"check-{lesson}-") as tmp,
          tempfile.TemporaryDirectory(prefix=f"check-{lesson}-worker-") as tmp_worker):
        for item in path.parent.iterdir():
            if item.is_file() and item.suffix != ".ipynb":
                shutil.copy(item, tmp)
                shutil.copy(item, tmp_worker)
        # The same exercises, outside the learner's kernel, on their own copy of the same files: this
        # decides them. The worker runs beside the kernel (neither sees what the other writes).
        pending = verify_in_background(nb, timeout=timeout, cwd=tmp_worker)
        runs = Runner(nb, tmp, timeout=timeout, budget=budget, on_cell=on_cell, env=GRADING_ENV).run()
        verdicts = pending.result()
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        run = runs.get(index, CellRun("skipped", "", "not run"))
        reason, notes = failure_reason(run), []
        gids = [match.group("gid") for match in CHECK_CALL.finditer(cell.source)]
        if gids and all(g in verdicts for g in gids) and run.status not in ("timeout", "died"):
            # as for instructors: the verdict alone decides a cell with hidden tests (a correct answer
            # that relies on a failing earlier one is graded with the course's version of that one)
            failed = [verdicts[g] for g in gids if not verdicts[g].passed]
            reason = failed[0].reason if failed else ""
            notes = [verdicts[g].note for g in gids if verdicts[g].passed and verdicts[g].note]
        points = float(meta.get("points", 0))
        result.exercises.append(ExerciseResult(
            meta["grade_id"], exercise_label(meta["grade_id"]), 0.0 if reason else points, points,
            reason or "; ".join(notes)))
    return result


def _fmt(x: float) -> str:
    return f"{x:g}"


def scorecard(results: list[LessonResult]) -> str:
    lines = []
    next_up = None
    total = possible = 0.0
    for r in results:
        possible += r.max_points
        total += r.points
        head = f"{r.lesson}"
        if r.error:
            lines.append(f"{head:<44} not graded: {r.error}")
            continue
        lines.append(f"{head:<44} {_fmt(r.points):>4} / {_fmt(r.max_points)}")
        for note in r.notes:
            lines.append(f"  ! {note}")
        for e in r.exercises:
            mark = "✓" if e.points == e.max_points else ("·" if e.reason == "not attempted yet" else "✗")
            line = f"  {mark} {e.label:<40} {_fmt(e.points):>4} / {_fmt(e.max_points)}"
            if e.reason:
                line += f"   {e.reason}"
            lines.append(line)
            if next_up is None and e.points < e.max_points:
                next_up = (r.lesson, e.label)
    lines.append("")
    lines.append(f"Total: {_fmt(total)} / {_fmt(possible)} points")
    if next_up:
        lesson, label = next_up
        lines.append(f"Next: {label} in lessons/{lesson}/{lesson}.ipynb")
    elif results and not any(r.error for r in results):
        lines.append("All graded exercises pass. Well done!")
    return "\n".join(lines)


def run_check(lessons=None, learner_dir=LESSONS, timeout=60, budget=600, json_out=None,
              stream=None) -> int:
    """Grade the lessons and print the scorecard. Exit status: 0 when every requested lesson was
    graded (whatever the score), 1 when some lesson could not be graded (each says why)."""
    known = lesson_ids()
    requested = lessons or known
    results = []
    for lesson in requested:
        if lesson not in known:
            match = [k for k in known if k.startswith(lesson) or k.split("_", 1)[1] == lesson]
            if len(match) == 1:
                lesson = match[0]
            else:
                results.append(LessonResult(lesson, error=f"no such lesson (known: {', '.join(known)})"))
                continue

        def progress(name, done, total):
            if sys.stderr.isatty():
                print(f"\rgrading {name}: cell {done}/{total}", end="", file=sys.stderr, flush=True)

        if not sys.stderr.isatty():
            print(f"grading {lesson} ...", file=sys.stderr, flush=True)
        results.append(grade_lesson(lesson, learner_dir, timeout, budget, progress))
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(scorecard(results), file=stream or sys.stdout)
    if json_out:
        Path(json_out).write_text(json.dumps([asdict(r) | {"points": r.points} for r in results], indent=1))
    return 1 if any(r.error for r in results) else 0
