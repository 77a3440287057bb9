"""formgrader in a real browser (marker ``instructor``): the scores an instructor sees are the gradebook's.

A throwaway course with two autograded submissions of the first lesson (alice: the solution,
bob: one planted bug) is served by ``jupyter server`` with nbgrader's formgrader on a free localhost
port, with a known token, from the course folder; headless Chromium (Debian's ``chromium``, driven by
PyPI's ``playwright``, no downloaded browser) opens ``/formgrader``, goes to "Manage Students" and
reads every student's overall score. A full-page screenshot is saved to tests/artifacts/formgrader.png.

Without chromium or playwright the test skips (one line), except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, WAIT_S, chromium_or_skip, free_port, stop_group
from tests.nbgrader_course import (
    COURSE_ID,
    answer_cells,
    defined_function,
    graded_course,
    independent_exercises,
    release_notebook,
    solution_notebook,
    solved,
)

pytestmark = pytest.mark.instructor

SCREENSHOT = ARTIFACTS / "formgrader.png"
TOKEN = "rnn-course-formgrader-test"


@pytest.fixture(scope="module")
def chromium():
    return chromium_or_skip("formgrader browser test")


@pytest.fixture(scope="module")
def course(chromium, tmp_path_factory):
    solution, release = solution_notebook(), release_notebook()
    gid = independent_exercises(solution)[-1]
    from autograder.exercises import EXERCISES

    bug = EXERCISES[gid].bugs[0].plant_source(defined_function(answer_cells(solution)[gid]))
    return graded_course(tmp_path_factory.mktemp("formgrader") / "course",
                         {"alice": solved(release, solution), "bob": solved(release, solution, {gid: bug})})


def gradebook_scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        return {s.id: (s.score, s.max_score) for s in gb.students}


@pytest.fixture
def server(course, tmp_path):
    """``jupyter server`` with formgrader, in the course folder; always stopped (its whole process group)."""
    port = free_port()
    config = tmp_path / "jupyter-config"
    config.mkdir()
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    (config / "nbgrader_config.py").write_text(f"c = get_config()  # noqa: F821\nc.Exchange.root = {str(exchange)!r}\n")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
         f"--ServerApp.root_dir={course}"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            assert proc.poll() is None, "jupyter server exited:\n" + (tmp_path / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/formgrader/api/students?token={TOKEN}", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"formgrader did not answer within {WAIT_S} s:\n" + \
                (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        stop_group(proc, term_wait=10)
        log.close()


def test_formgrader_shows_the_gradebook_scores(chromium, course, server):
    from playwright.sync_api import sync_playwright

    want = gradebook_scores(course)
    assert sorted(want) == ["alice", "bob"] and want["alice"][0] > want["bob"][0] > 0, want
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's own sandbox refuses to run as root
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=args, timeout=WAIT_S * 1000)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(WAIT_S * 1000)
            page.goto(f"{server}/formgrader?token={TOKEN}")
            assert "/formgrader" in page.url and "login" not in page.url, page.url
            page.get_by_role("link", name="Manage Students").click()
            page.wait_for_url(re.compile(r".*/formgrader/manage_students$"))
            page.wait_for_function("n => document.querySelectorAll('#main-table td.score').length === n",
                                   arg=len(want))
            page.wait_for_function("() => [...document.querySelectorAll('#main-table td.score')]"
                                   ".every(td => td.textContent.includes('/'))")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            rows = page.eval_on_selector_all(
                "#main-table tr", "rows => rows.map(r => [r.querySelector('td.id').textContent.trim(),"
                                  " r.querySelector('td.score').textContent.trim()])")
        finally:
            browser.close()
    shown = {}
    for student, text in rows:
        match = re.fullmatch(r"([\d.]+) / ([\d.]+)", text)
        assert match, f"{student}: score shown as {text!r}"
        shown[student] = (float(match.group(1)), float(match.group(2)))
    assert sorted(shown) == sorted(want), f"formgrader lists {sorted(shown)}, the gradebook {sorted(want)}"
    for student, (score, max_score) in want.items():
        assert shown[student] == pytest.approx((score, max_score), abs=0.005), \
            f"{student}: formgrader shows {shown[student]}, the gradebook holds {(score, max_score)}"
    assert SCREENSHOT.stat().st_size > 10_000
