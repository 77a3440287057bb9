"""lessons/ is exactly nbgrader's release of solutions/, and rnnkit's generated modules match it."""

from autograder.build import build


def test_lessons_and_solved_modules_are_in_sync_with_solutions():
    differ = build(check=True)
    assert not differ, f"out of date with solutions/: {differ}: run `make build`"
