"""Every exercise's hidden test: the reference passes, every planted bug fails and is named."""

import numpy as np
import pytest

from autograder import reference
from autograder.checking import check, rel_error
from autograder.exercises import EXERCISES

BUGS = [(gid, bug) for gid, ex in EXERCISES.items() for bug in ex.bugs]
ALTERNATIVES = [(gid, alt) for gid, ex in EXERCISES.items() for alt in ex.alternatives]


def reference_functions(exercise):
    return [getattr(reference, name) for name in exercise.functions]


@pytest.mark.parametrize("grade_id", sorted(EXERCISES))
def test_reference_passes_and_catalogue_is_large_enough(grade_id):
    exercise = EXERCISES[grade_id]
    check(grade_id, *reference_functions(exercise))
    assert len(exercise.bugs) >= 3, f"{grade_id} needs at least 3 planted bugs"


@pytest.mark.parametrize("grade_id,bug", BUGS, ids=[f"{g}-{b.name}" for g, b in BUGS])
def test_planted_bug_fails_and_is_named(grade_id, bug):
    exercise = EXERCISES[grade_id]
    context = exercise.bug_context or exercise.reference  # e.g. a forward with the notebook's cache
    others = [context[name] for name in exercise.functions[1:]]
    with pytest.raises(AssertionError) as info:
        check(grade_id, bug.func, *others)
    message = str(info.value)
    assert "\n" not in message
    assert bug.message in message, f"the feedback does not name the bug: {message}"


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0
    assert rel_error(0.0, 0.0) == 0
    assert rel_error([1.0], [2.0]) == pytest.approx(1 / 3)


def test_alternatives_cover_every_gated_lesson():
    lessons = {gid[:3] for gid, _ in ALTERNATIVES}
    assert {"l01", "l02", "l03", "l04", "l05"} <= lessons


@pytest.mark.parametrize("grade_id,alt", ALTERNATIVES, ids=[f"{g}-{a.name}" for g, a in ALTERNATIVES])
def test_correct_answers_in_other_styles_earn_full_marks(grade_id, alt):
    exercise = EXERCISES[grade_id]
    context = exercise.bug_context or exercise.reference
    check(grade_id, alt.func, *[context[name] for name in exercise.functions[1:]])
