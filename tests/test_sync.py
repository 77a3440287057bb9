"""lessons/ is exactly nbgrader's release of solutions/."""

from autograder.build import build


def test_lessons_are_in_sync_with_solutions():
    differ = build(check=True)
    assert not differ, f"lessons/ is out of date for {differ}: run `make build`"
