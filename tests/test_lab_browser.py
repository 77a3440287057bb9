"""A learner's view in a real browser (marker ``instructor``): JupyterLab as ``make lab`` starts it.

Lessons 01 and 04 (whole folders) are copied into a temporary folder, which ``jupyter lab`` serves
(as ``make lab`` does, plus a free localhost port, a known token and settings of its own) to headless
Chromium (Debian's ``chromium``, driven by PyPI's ``playwright``, no downloaded browser). In lesson 01
the learner runs the setup cell and exercise 1's visible test cell on the stub and sees the failure,
types the solution into the answer cell through the editor, runs it and the test cell again and sees
the "✓" lines, then runs a cell that draws a figure and sees it. In lesson 04 the LSTM cell diagram
(``lstm_cell.svg``, an image in a markdown cell) must be rendered. Screenshots of each state go to
tests/artifacts/lab_*.png.

Without chromium or playwright the test skips (one line), except in CI (``CI=true``), where it fails.
JupyterLab and its kernels are always stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.browser import ARTIFACTS, WAIT_S, chromium_or_skip, free_port, stop_group

pytestmark = pytest.mark.instructor

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "rnn-course-lab-test"
LESSONS = ("01_feedback_loops", "04_lstm")


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def exercise_1(lesson: Path) -> dict:
    """Indices (among all cells) of lesson 01's setup cell, first answer cell, its test cell and a figure cell."""
    cells = nbformat.read(lesson, as_version=4).cells
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    answer = next(i for i in code if cells[i].metadata.get("nbgrader", {}).get("solution"))
    test = next(i for i in code if i > answer)
    assert cells[test].metadata.get("nbgrader", {}).get("grade"), "the code cell after the answer is not a test cell"
    figure = next(i for i in code if i > test and "plt.subplots" in cells[i].source)
    data = next(i for i in code if "nile = " in cells[i].source)  # the Nile series: x, years
    return {"setup": code[0], "answer": answer, "test": test, "data": data, "figure": figure}


def solution_text(lesson_id: str, grade_id: str) -> str:
    """The solution's answer cell, ``### BEGIN/END SOLUTION`` marker lines removed."""
    cell = next(c for c in nbformat.read(ROOT / "solutions" / lesson_id / f"{lesson_id}.ipynb", as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "\n".join(line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def stop(proc: subprocess.Popen, runtime: Path) -> None:
    """Stop the server (its process group) and any kernel it left (kernels get sessions of their own)."""
    stop_group(proc)
    for pid in ours(runtime):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def ours(runtime: Path) -> list[int]:
    """Processes whose command line names this test's runtime folder: its kernels (``-f <runtime>/kernel-*.json``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(runtime).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


@pytest.fixture
def lab(tmp_path):
    """``jupyter lab <tmp>`` on copies of lessons 01 and 04, as ``make lab`` runs it; always stopped."""
    chromium_or_skip("JupyterLab browser test")
    root = tmp_path / "lessons"
    for lesson in LESSONS:
        shutil.copytree(ROOT / "lessons" / lesson, root / lesson)
    runtime, settings = tmp_path / "runtime", tmp_path / "user-settings"
    # No news or update prompt (nothing is fetched offline anyway); nothing read from the user's own settings.
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    log_path = tmp_path / "lab.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", str(root), "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            assert proc.poll() is None, "jupyter lab exited:\n" + log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not answer within {WAIT_S} s:\n" + \
                log_path.read_text()[-3000:]
            time.sleep(0.5)
        yield url, root
    finally:
        stop(proc, runtime)
        log.close()
    assert not ours(runtime), "a kernel outlived jupyter lab"


class Notebook:
    """One notebook open in JupyterLab: its cells by index, as the learner sees them."""

    def __init__(self, page, url: str, path: str):
        self.page = page
        page.goto(f"{url}/lab/tree/{path}?token={TOKEN}")
        assert "/lab" in page.url and "login" not in page.url, page.url
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        self.panel.locator(".jp-Notebook .jp-Cell").first.wait_for()

    def cell(self, i: int):
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(i)

    def wait_idle(self) -> None:
        """The notebook's kernel is started and idle (the toolbar's execution indicator)."""
        self.panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()

    def prompt(self, i: int) -> str:
        return self.cell(i).locator(".jp-InputArea-prompt").inner_text().strip()

    def run(self, i: int) -> str:
        """Run cell i as the learner does (click it, Ctrl+Enter); wait for its new execution count; its output text."""
        before = self.prompt(i)
        cell = self.cell(i)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_function(
            "([prompt, before]) => /^\\[\\d+\\]:$/.test(prompt.innerText.trim()) && prompt.innerText.trim() !== before",
            arg=[cell.locator(".jp-InputArea-prompt").element_handle(), before])
        self.wait_idle()
        return cell.locator(".jp-Cell-outputArea").inner_text()

    def type_into(self, i: int, text: str) -> None:
        """Replace cell i's text through its editor: click, select all, insert the text as typed input."""
        cell = self.cell(i)
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)

    def editor_text(self, i: int) -> str:
        return self.cell(i).locator(".cm-content").evaluate(
            "e => [...e.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n')")

    def screenshot(self, i: int, name: str) -> Path:
        """The viewport with cell i at its top: what the learner sees."""
        self.cell(i).evaluate("e => e.scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(300)  # let the scroll settle before the picture
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


def test_a_learner_fails_fixes_and_passes_exercise_1_and_sees_figures(lab):
    from playwright.sync_api import sync_playwright

    url, root = lab
    cells = exercise_1(root / "01_feedback_loops" / "01_feedback_loops.ipynb")
    answer = solution_text("01_feedback_loops", "l01_e1_feedback_loop")
    assert "raise NotImplementedError" not in answer and "def feedback_loop" in answer
    ARTIFACTS.mkdir(exist_ok=True)
    shots = []
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's own sandbox refuses to run as root
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_or_skip("JupyterLab browser test"), headless=True,
                                    args=args, timeout=WAIT_S * 1000)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_S * 1000)

            nb = Notebook(page, url, "01_feedback_loops/01_feedback_loops.ipynb")
            nb.wait_idle()
            assert "NotImplementedError" in nb.editor_text(cells["answer"]), "lesson 01's answer cell is not the stub"
            nb.run(cells["setup"])
            nb.run(cells["data"])  # the test cell also runs the loop on the Nile series
            nb.run(cells["answer"])
            out = nb.run(cells["test"])
            shots.append(nb.screenshot(cells["test"], "lab_1_stub_fails.png"))
            assert "NotImplementedError" in out, f"the test cell on the stub shows:\n{out[:2000]}"
            assert "✓" not in out

            nb.type_into(cells["answer"], answer)
            typed = nb.editor_text(cells["answer"])
            assert typed.strip() == answer.strip(), f"the editor holds:\n{typed}"
            assert not nb.run(cells["answer"]).strip(), "the answer cell printed something"
            out = nb.run(cells["test"])
            shots.append(nb.screenshot(cells["answer"], "lab_2_answer_passes.png"))
            assert "NotImplementedError" not in out and "Error" not in out, f"the test cell shows:\n{out[:2000]}"
            assert re.search(r"^✓ ", out, re.M), f"no ✓ line in the test cell's output:\n{out[:2000]}"

            nb.run(cells["figure"])
            img = nb.cell(cells["figure"]).locator(".jp-Cell-outputArea img").first
            img.wait_for()
            img.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
            shots.append(nb.screenshot(cells["figure"], "lab_3_figure.png"))

            nb = Notebook(page, url, "04_lstm/04_lstm.ipynb")
            diagram = nb.panel.locator('.jp-MarkdownOutput img[src*="lstm_cell.svg"]').first
            try:
                diagram.wait_for(state="attached")
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "lab_4_lstm_diagram.png"))
                raise AssertionError("lesson 04 renders no <img> whose src contains lstm_cell.svg") from None
            diagram.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=diagram.element_handle())
            diagram.evaluate("e => e.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "lab_4_lstm_diagram.png"))
            shots.append(ARTIFACTS / "lab_4_lstm_diagram.png")
        finally:
            browser.close()
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot
