"""The diagrams of lessons 03-07: committed SVGs equal a fresh render, are inert, and are shown."""

import re
from pathlib import Path

import nbformat
import pytest

from autograder.course import SOLUTIONS
from autograder.diagrams import DIAGRAMS, render

FILES = {"03_bptt": ["tanh_saturation.svg"], "04_lstm": ["lstm_cell.svg", "lstm_backward_streams.svg",
                                                     "lstm_backward.svg"],
         "05_gru": ["gru_cell.svg", "gru_backward_streams.svg", "gru_backward.svg"],
         "06_training": ["sliding_windows.svg"],
         "07_forecasting": ["recursive_vs_direct.svg"]}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagrams")
    return {p.name: p.read_bytes() for p in render(out)}


def test_every_lesson_diagram_is_drawn():
    assert {lesson: [f.__name__ + ".svg" for f in fs] for lesson, fs in DIAGRAMS.items()} == FILES


@pytest.mark.parametrize("lesson,name", [(lesson, n) for lesson, names in FILES.items() for n in names])
def test_committed_svg_equals_a_fresh_render(fresh, lesson, name):
    committed = SOLUTIONS / lesson / name
    assert committed.is_file(), f"{committed} is missing: run `python -m autograder.diagrams`"
    assert committed.read_bytes() == fresh[name], (
        f"{lesson}/{name} differs from a fresh render: run `python -m autograder.diagrams`")


@pytest.mark.parametrize("lesson,name", [(lesson, n) for lesson, names in FILES.items() for n in names])
def test_svg_has_no_script_or_event_handler(lesson, name):
    text = (SOLUTIONS / lesson / name).read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "<script" not in text.lower()
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), f"{name} has an on...= attribute"
    assert "javascript:" not in text.lower()


@pytest.mark.parametrize("lesson", FILES)
def test_notebook_shows_its_diagrams(lesson):
    nb = nbformat.read(SOLUTIONS / lesson / f"{lesson}.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for name in FILES[lesson]:
        assert re.search(rf"!\[[^\]]+\]\({re.escape(name)}\)", markdown), f"{lesson} does not show {name}"


def test_diagrams_are_rendered_in_a_given_folder_only(tmp_path):
    before = {p: p.stat().st_mtime_ns for lesson in FILES for p in (SOLUTIONS / lesson).glob("*.svg")}
    written = render(tmp_path)
    assert sorted(p.name for p in written) == sorted(n for names in FILES.values() for n in names)
    assert all(Path(p).parent == tmp_path for p in written)
    assert before == {p: p.stat().st_mtime_ns for lesson in FILES for p in (SOLUTIONS / lesson).glob("*.svg")}
