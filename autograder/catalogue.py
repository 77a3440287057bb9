"""``python -m autograder catalogue``: the planted-bug catalogue, killed / total per exercise.

Each planted bug is run through its exercise's hidden test (in-process: a quick report; the test
suite proves the same inside the notebooks, tests/test_planted_bugs.py). A bug is *killed* when the
test fails and *named* when the feedback names it. Alternative correct answers must pass.
"""

from __future__ import annotations

from autograder import reference
from autograder.checking import check
from autograder.exercises import EXERCISES


def _run(grade_id, func):
    exercise = EXERCISES[grade_id]
    context = exercise.bug_context or exercise.reference
    others = [context.get(n) or getattr(reference, n) for n in exercise.functions[1:]]
    try:
        check(grade_id, func, *others)
    except AssertionError as exc:
        return str(exc)
    return None


def report() -> int:
    totals = [0, 0, 0, 0, 0]  # bugs, killed, named, alternatives, passed
    print(f"{'exercise':<34} {'bugs killed':>11} {'named':>6} {'other styles pass':>18}")
    for gid, exercise in EXERCISES.items():
        results = [(_run(gid, bug.func), bug) for bug in exercise.bugs]
        killed = sum(msg is not None for msg, _ in results)
        named = sum(msg is not None and bug.message in msg for msg, bug in results)
        alts = [_run(gid, alt.func) is None for alt in exercise.alternatives]
        for i, value in enumerate((len(results), killed, named, len(alts), sum(alts))):
            totals[i] += value
        alt_text = f"{sum(alts)}/{len(alts)}" if alts else "–"
        print(f"{gid:<34} {killed:>5}/{len(results):<5} {named:>6} {alt_text:>18}")
    print(f"{'total':<34} {totals[1]:>5}/{totals[0]:<5} {totals[2]:>6} {totals[4]:>15}/{totals[3]}")
    return 0 if totals[1] == totals[0] and totals[4] == totals[3] else 1
