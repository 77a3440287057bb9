"""The hidden-test engine: compare a learner's function with the reference.

A graded test cell in a notebook ends with a hidden part such as::

    from autograder.checking import check
    check("l02_e1_rnn_step_forward", rnn_step_forward)

``check`` looks the exercise up in :mod:`autograder.exercises`, runs the
learner's function and the reference on fresh random inputs (seeded by the
grade id, so grading is deterministic), and raises ``AssertionError`` with a
one-line message when they disagree. When the learner's output matches a
known wrong answer from the exercise's catalogue of planted bugs, the message
names that mistake.
"""

from __future__ import annotations

import copy
import inspect
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rnnkit.checks import rel_error  # the notebooks' comparison, re-exported

__all__ = ["rel_error", "check", "Exercise", "Bug", "Case", "returns"]


@dataclass
class Case:
    """One hidden test input: a label shown in messages and the call's arguments."""

    label: str
    args: tuple


@dataclass
class Bug:
    """A plausible wrong answer to an exercise, written as the learner would.

    ``func`` replaces the learner's function; ``message`` says what the learner
    most likely did (shown in feedback when their output matches this bug).
    """

    name: str
    message: str
    func: Callable

    def plant_source(self, function: str) -> str:
        """Source code that defines the learner's function as this bug (for planting in a notebook)."""
        lines = inspect.getsource(self.func).splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.startswith("def "))
        src = "".join(lines[start:])  # without the registering decorator
        return f"import numpy as np\n\n{src}\n{function} = {self.func.__name__}\n"


@dataclass
class Exercise:
    """A graded exercise: which learner functions it tests and how.

    functions: names of the learner functions passed to ``check``; the first is the one graded,
        the rest are earlier exercises it relies on (e.g. the forward pass for a backward pass).
    run: ``run(target, fns, case) -> {output name: array}``: ``target`` is the graded function,
        ``fns`` maps every name in ``functions`` to a callable.
    cases: ``cases(rng) -> [Case, ...]``, fresh random inputs.
    reference: mapping of function name -> reference implementation.
    bug_context: the functions a planted bug is combined with when diagnosing, when they must
        differ from the reference (e.g. a forward pass whose cache has the notebook's layout).
    """

    grade_id: str
    functions: tuple
    run: Callable
    cases: Callable
    reference: dict
    tol: float = 1e-7
    bugs: list = field(default_factory=list)
    bug_context: dict | None = None  # functions the bugs run with (default: reference)
    alternatives: list = field(default_factory=list)  # correct answers in other styles: must pass

    @property
    def function(self) -> str:
        return self.functions[0]

    def bug(self, name: str) -> Callable:
        """Decorator registering a planted bug: ``@ex.bug("message")``."""

        def register(func):
            self.bugs.append(Bug(func.__name__, name, func))
            return func

        return register

    def correct(self, style: str) -> Callable:
        """Decorator registering a correct answer written in another style: ``@ex.correct("einsum")``."""

        def register(func):
            self.alternatives.append(Bug(func.__name__, style, func))
            return func

        return register

    def outputs(self, fns: dict, case: Case) -> dict:
        return self.run(fns[self.function], fns, copy.deepcopy(case))


class Mismatch(AssertionError):
    """Raised by :func:`check` with a one-line, learner-facing message."""


def returns(*names):
    """Build a ``run`` that calls the graded function on the case's arguments and names its outputs.

    ``names`` label the returned values in order (a single name for a single return value);
    ``None`` marks a value that is not compared (a cache). A dict value (gradients) is
    flattened to ``name[key]`` entries.
    """

    def run(target, fns, case):
        return name_outputs(getattr(target, "__name__", "the function"), target(*case.args), names)

    return run


def name_outputs(fname, out, names) -> dict:
    """Label a function's return values (see :func:`returns`)."""
    values = (out,) if len(names) == 1 else out
    if len(names) > 1 and (not isinstance(values, tuple | list) or len(values) != len(names)):
        raise Mismatch(
            f"{fname} should return a tuple ({', '.join(n or 'cache' for n in names)}); "
            f"it returned {_describe(out)}"
        )
    flat = {}
    for name, value in zip(names, values):
        if name is None:
            continue
        if isinstance(value, dict):
            for key in sorted(value):
                flat[f"{name}[{key!r}]"] = value[key]
        else:
            flat[name] = value
    return flat


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


def _compare(name, got, want, tol):
    """None if ``got`` matches ``want``, else a short description of the difference."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"{name} should be a dict with keys {sorted(want)}"
        for key in want:
            problem = _compare(f"{name}[{key!r}]", got[key], want[key], tol)
            if problem:
                return problem
        return None
    try:
        got_arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} should be numeric, got {_describe(got)}"
    want_arr = np.asarray(want, dtype=np.float64)
    if got_arr.shape != want_arr.shape:
        return f"{name} has shape {got_arr.shape}, expected {want_arr.shape}"
    if not np.all(np.isfinite(got_arr)) and np.all(np.isfinite(want_arr)):
        return f"{name} contains NaN or inf"
    err = rel_error(got_arr, want_arr)
    if not err <= tol:
        return f"{name} is wrong (relative error {err:.1e})"
    return None


def _matches(outs, other, tol) -> bool:
    return set(outs) == set(other) and all(
        _compare(k, outs[k], other[k], tol) is None for k in outs
    )


def diagnose(exercise: Exercise, fns: dict, case: Case, outs: dict):
    """The planted bug whose output equals the learner's on this case, if any."""
    for bug in exercise.bugs:
        try:
            bug_outs = exercise.outputs({**fns, exercise.function: bug.func}, case)
        except Exception:  # a bug that crashes on this input simply does not match
            continue
        if _matches(outs, bug_outs, exercise.tol):
            return bug
    return None


def diagnose_structure(exercise: Exercise, fns: dict, case: Case, message: str):
    """The planted bug that fails this case with the same structural message, if any."""
    for bug in exercise.bugs:
        try:
            exercise.outputs({**fns, exercise.function: bug.func}, case)
        except Mismatch as exc:
            if str(exc) == message:
                return bug
        except Exception:  # noqa: BLE001, S112 - a bug that crashes otherwise does not match
            continue
    return None


def diagnose_crash(exercise: Exercise, fns: dict, case: Case, error: Exception):
    """The planted bug that raises the same error (type name and first line) on this case, if any."""
    said = (type(error).__name__, (str(error).splitlines() or [""])[0])
    for bug in exercise.bugs:
        try:
            exercise.outputs({**fns, exercise.function: bug.func}, case)
        except Mismatch:
            continue
        except Exception as exc:  # noqa: BLE001 - compared by name and message only
            if (type(exc).__name__, (str(exc).splitlines() or [""])[0]) == said:
                return bug
    return None


def exercise_number(grade_id: str) -> int:
    """``l03_e2_rnn_backward`` -> 2."""
    return int(grade_id.split("_")[1][1:])


def earlier_exercise(exercise, name, exercises):
    """The exercise of the same lesson, before ``exercise``, whose function is ``name`` (or None)."""
    lesson = exercise.grade_id.split("_")[0]
    for other in exercises.values():
        if (other.function == name and other.grade_id.split("_")[0] == lesson
                and exercise_number(other.grade_id) < exercise_number(exercise.grade_id)):
            return other
    return None


def course_version(exercise, earlier, name):
    """The course's ``name`` as ``exercise`` uses it (the notebook's cache layout where it differs)."""
    return (exercise.bug_context or {}).get(name) or earlier.reference.get(name) or exercise.reference[name]


def substitution_note(substituted: dict) -> str:
    """``{name: earlier grade id}`` -> "graded with the course's `f`, since yours fails Exercise 1"."""
    parts = [f"graded with the course's `{name}`, since yours fails Exercise {exercise_number(gid)}"
             for name, gid in substituted.items()]
    return "; ".join(parts)


def _substitute_dependencies(exercise, learner, exercises) -> dict:
    """Each point is earned once: an earlier exercise's function that fails its own tests is
    replaced by the course's version. Returns ``{name: earlier grade id}`` of those replaced."""
    substituted = {}
    for name in exercise.functions[1:]:
        dep = earlier_exercise(exercise, name, exercises)
        if dep is None or getattr(learner[name], "__module__", "").startswith("autograder"):
            continue
        try:
            check(dep.grade_id, *[learner.get(n) or dep.reference[n] for n in dep.functions])
        except Exception:  # noqa: BLE001 - failed, crashed or not attempted: the course's version stands in
            learner[name] = course_version(exercise, dep, name)
            substituted[name] = dep.grade_id
    return substituted


def check(grade_id: str, *functions) -> None:
    """Hidden test: raise ``AssertionError`` (one line) unless the functions match the reference."""
    from autograder.exercises import EXERCISES

    exercise = EXERCISES[grade_id]
    if len(functions) != len(exercise.functions):
        raise TypeError(f"check({grade_id!r}) takes the functions {exercise.functions}")
    learner = dict(zip(exercise.functions, functions))
    note = substitution_note(_substitute_dependencies(exercise, learner, EXERCISES))
    try:
        check_cases(exercise, learner)
    except Mismatch as exc:
        raise Mismatch(f"{exc} ({note})" if note else str(exc)) from None


def check_cases(exercise: Exercise, learner: dict) -> None:
    """Run the exercise's hidden cases on ``learner`` (function name -> callable)."""
    rng = np.random.default_rng(zlib.crc32(exercise.grade_id.encode()))
    for case in exercise.cases(rng):
        want = exercise.outputs(exercise.reference, case)
        try:
            got = exercise.outputs(learner, case)
        except Mismatch as exc:  # the output's structure is wrong: name a bug that does the same
            bug = diagnose_structure(exercise, exercise.bug_context or exercise.reference, case, str(exc))
            raise Mismatch(f"{exc}. Likely mistake: {bug.message}" if bug else str(exc)) from None
        except NotImplementedError:
            raise
        except Exception as exc:  # the learner's code crashed on a hidden input
            first = str(exc).splitlines()[0] if str(exc) else ""
            message = f"{exercise.function} raised {type(exc).__name__}: {first} (hidden test {case.label})"
            bug = diagnose_crash(exercise, exercise.bug_context or exercise.reference, case, exc)
            raise Mismatch(f"{message}. Likely mistake: {bug.message}" if bug else message) from None
        if set(got) != set(want):
            raise Mismatch(f"{exercise.function} returned {sorted(got)}, expected {sorted(want)}")
        problems = [p for k in want if (p := _compare(k, got[k], want[k], exercise.tol))]
        if problems:
            message = f"{exercise.function}: {problems[0]} on a hidden test ({case.label})"
            bug = diagnose(exercise, exercise.bug_context or exercise.reference, case, got)
            if bug is not None:
                message += f". Likely mistake: {bug.message}"
            raise Mismatch(message)
