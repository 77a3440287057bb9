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


def _stub(*args):
    raise NotImplementedError("Exercise: replace this line with your code")


def test_a_failing_earlier_function_is_replaced_by_the_courses():
    """Each point is earned once: a correct step backward with a stub forward keeps its points; a wrong
    one still loses them, and the message says which function stood in."""
    gid = "l04_e2_lstm_step_backward"
    check(gid, reference.lstm_step_backward, _stub)
    wrong = EXERCISES[gid].bugs[0]
    with pytest.raises(AssertionError) as info:
        check(gid, wrong.func, _stub)
    assert wrong.message in str(info.value)
    assert "graded with the course's `lstm_step_forward`, since yours fails Exercise 1" in str(info.value)


def test_a_cache_in_a_layout_of_the_learners_own_is_not_compared():
    def forward(x, h_prev, c_prev, p):
        h, c, cache = reference.lstm_step_forward(x, h_prev, c_prev, p)
        return h, c, {"steps": cache}

    check("l04_e1_lstm_step_forward", forward)

    def forward_with_a_wrong_cache(x, h_prev, c_prev, p):  # the notebook's layout, a wrong entry
        h, c, (x, h_prev, c_prev, gates, tanh_c, p) = reference.lstm_step_forward(x, h_prev, c_prev, p)
        return h, c, (x, h_prev, c_prev, gates, np.tanh(c_prev), p)

    with pytest.raises(AssertionError, match="the cache's tanh_c is wrong"):
        check("l04_e1_lstm_step_forward", forward_with_a_wrong_cache)


def test_answers_as_a_callable_object_or_a_partial_are_checked_like_functions():
    import functools

    class Count:
        def __call__(self, D, H, K):
            return reference.rnn_param_count(D, H, K)

    check("l02_e3_rnn_param_count", Count())
    check("l02_e3_rnn_param_count", functools.partial(reference.rnn_param_count))
    with pytest.raises(AssertionError):
        check("l02_e3_rnn_param_count", functools.partial(lambda D, H, K: H * D + H * H + K * H))
