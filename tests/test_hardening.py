"""The hostile-submission suite: every case through the instructor's path (`python -m autograder grade`,
i.e. plain `nbgrader autograde` with this repository's nbgrader_config.py, sandboxed), each with the
score it fairly earns. The attackers know every path (the repository, the course, the venv) and try to
gain points, read answers or hidden tests, or hurt the grader and their classmates.

After the suite: every submission has exactly its fair score, a classmate graded after the attackers
has full marks, the course tree, the repository and the environment are as they were, no process of a
submission is left, and the feedback holds no hidden test and no script.
"""

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course import LESSONS, ROOT, SOLUTIONS, nbgrader_meta, notebook_path, read_notebook
from autograder.exercises import EXERCISES
from tests.conftest import LESSON_IDS

pytestmark = [pytest.mark.instructor,
              pytest.mark.skipif(not shutil.which("bwrap"), reason="needs bubblewrap (apt-get install bubblewrap)")]

LESSON = LESSON_IDS[0]
FIRST = next(g for g in EXERCISES if g.startswith(f"l{LESSON[:2]}_e1_"))
FUNCTION = EXERCISES[FIRST].function
WRONG = EXERCISES[FIRST].bugs[0].plant_source(FUNCTION)
MARKER = "hostile-marker-7f3a"  # in the command line of every process an attacker starts
SITE = Path(sysconfig.get_paths()["purelib"])


def solution():
    return read_notebook(notebook_path(LESSON, SOLUTIONS))


def release():
    return read_notebook(notebook_path(LESSON, LESSONS))


def answer_cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def points(grade_id):
    return float(nbgrader_meta(answer_cell(solution(), grade_id))["points"])


TOTAL = sum(float(nbgrader_meta(c)["points"]) for c in solution().cells if nbgrader_meta(c).get("grade"))
E1 = points(f"{FIRST}_tests")
# Each point is earned once: an exercise whose solution calls the first exercise's function is graded with
# the course's version of it when the learner's fails, so a wrong first answer costs its own points only.
WRONG_FIRST = TOTAL - E1  # the fair score of a notebook whose first answer is wrong
SIGNATURE = re.search(r"^def .*:$", answer_cell(solution(), FIRST).source, re.M).group(0)


def with_first(source, nb=None):
    """The solution (or ``nb``) with the first exercise's answer cell replaced by ``source``."""
    nb = nb or solution()
    answer_cell(nb, FIRST).source = textwrap.dedent(source)
    return nb


def appended(code, nb=None):
    """The solution with ``code`` run at the end of the first answer cell (answers stay correct)."""
    nb = nb or solution()
    cell = answer_cell(nb, FIRST)
    cell.source += "\n\n" + textwrap.dedent(code)
    return nb


def delegating(body):
    """A first answer whose function body tries to get the answer from the grader."""
    body = "args = dict(locals())\n" + textwrap.dedent(body)
    return with_first(f"{SIGNATURE}\n" + textwrap.indent(body, "    "))


def submissions(course):
    """{student: (notebook, fair score)}."""
    subs = {
        "alice": (solution(), TOTAL),
        "bob": (release(), 0.0),
        "honest_but_wrong": (with_first(WRONG), WRONG_FIRST),
    }
    # ------------------------------------------------------------------ score injection via outputs
    hook = """
        ip = get_ipython()
        def _inject(result):
            ip.display_pub.publish({"text/plain": "2"})
            ip.displayhook(10)
            print(2)
        ip.events.register("post_run_cell", _inject)
        ip.set_custom_exc((BaseException,), lambda *a, **k: None)
        """
    nb = release()
    answer_cell(nb, FIRST).source = textwrap.dedent(hook)
    subs["injects_scores"] = (nb, 0.0)
    subs["patches_numpy_testing"] = (with_first(
        "import numpy, numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
        "numpy.allclose = lambda *a, **k: True\n" + WRONG), WRONG_FIRST)
    # ------------------------------------------------------------------ delegation to the grader
    subs["imports_reference"] = (with_first(f"from autograder.reference import {FUNCTION}"), WRONG_FIRST)
    subs["computed_import"] = (delegating(f"""
        import importlib
        return getattr(importlib.import_module("auto" + "grader.reference"), {FUNCTION!r})(**args)
        """), WRONG_FIRST)
    subs["scans_sys_modules"] = (delegating(f"""
        import sys
        for name, module in list(sys.modules.items()):
            f = getattr(module, {FUNCTION!r}, None)
            if callable(f) and name != "__main__" and getattr(f, "__module__", "") != "__main__":
                return f(**args)
        raise RuntimeError("no reference found")
        """), WRONG_FIRST)
    subs["walks_stack_frames"] = (delegating(f"""
        import inspect
        for frame in inspect.stack():
            for scope in (frame.frame.f_locals, frame.frame.f_globals):
                for value in list(scope.values()):
                    ref = value.get({FUNCTION!r}) if isinstance(value, dict) else getattr(value, {FUNCTION!r}, None)
                    if callable(ref) and getattr(ref, "__module__", "") != "__main__":
                        return ref(**args)
        raise RuntimeError("no reference found")
        """), WRONG_FIRST)
    subs["reads_source_from_disk"] = (reads_source(course), WRONG_FIRST)
    solved = f"rnnkit.solved.l{LESSON}"  # the student package's module of this lesson's own answers
    subs["imports_own_solved_answers"] = (with_first(f"from {solved} import {FUNCTION}"), WRONG_FIRST)
    subs["finds_solved_answers_on_disk"] = (delegating(f"""
        import importlib.util, pathlib
        spec = importlib.util.find_spec("rnnkit")
        for folder in spec.submodule_search_locations:
            for path in pathlib.Path(folder).rglob("*.py"):
                text = path.read_text()
                if "def {FUNCTION}(" in text:
                    scope = {{}}
                    exec(text, scope)
                    return scope[{FUNCTION!r}](**args)
        raise RuntimeError("no answer in the student package")
        """), WRONG_FIRST)
    # ------------------------------------------------------------------ tampering
    victim = course / "submitted" / "alice" / LESSON / f"{LESSON}.ipynb"
    targets = {
        "grader": ROOT / "autograder" / "checking.py", "grader_site": SITE / "autograder" / "checking.py",
        "pth": SITE / "zz_hostile.pth", "config": course / "nbgrader_config.py",
        "repo_config": ROOT / "nbgrader_config.py", "gradebook": course / "gradebook.db", "victim": victim,
        "lessons": ROOT / "lessons" / LESSON / f"{LESSON}.ipynb", "rnnkit": ROOT / "rnnkit" / "__init__.py",
    }
    paths = {k: str(v) for k, v in targets.items()}
    subs["tampers"] = (appended(f"""
        import os, pathlib
        for name, path in {paths!r}.items():
            try:
                p = pathlib.Path(path)
                if name == "pth":
                    p.write_text("import os; os.system('echo {MARKER}')\\n")
                elif name == "victim":
                    p.write_text("{{}}")
                else:
                    with open(p, "ab") as f:
                        f.write(b"\\n# {MARKER}\\n")
            except OSError:
                pass
        """), TOTAL)
    # ------------------------------------------------------------------ processes, pipes, FIFOs, memory
    subs["leaves_processes"] = (appended(f"""
        import os, subprocess, sys
        for _ in range(3):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"],
                             stdout=sys.__stdout__, stderr=sys.__stderr__, start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"])
            os._exit(0)
        """), TOTAL)
    subs["plants_fifos"] = (appended(f"""
        import os, glob
        for name in glob.glob("*") + ["{LESSON}.html", "{LESSON}.ipynb", "timestamp.txt"]:
            try:
                os.remove(name)
            except OSError:
                pass
            try:
                os.mkfifo(name)
            except OSError:
                pass
        """), TOTAL)
    subs["hogs_memory"] = (with_first(f"""
        hog = []
        try:
            hog.append(bytearray(8 * 1024**3))
        except MemoryError:
            pass
        {SIGNATURE}
            return bytearray(16 * 1024**3)
        """), WRONG_FIRST)
    subs["forks_many"] = (appended(f"""
        import subprocess, sys
        started = []
        for _ in range(600):
            try:
                started.append(subprocess.Popen(["sleep", "60", "{MARKER}"]))
            except OSError:
                break
        """), TOTAL)
    # ------------------------------------------------------------------ leaks into feedback, HTML injection
    subs["leaks_hidden_tests"] = (appended("""
        import inspect
        ip = get_ipython()
        def _leak(result):
            print("LEAK", ip.user_ns.get("In", [])[-2:], ip.user_ns.get("_ih", [])[-1:])
            for frame in inspect.stack():
                print("FRAME", frame.function, {k: repr(v)[:200] for k, v in frame.frame.f_locals.items()})
        ip.events.register("post_run_cell", _leak)
        """), TOTAL)
    nb = appended("""
        from IPython.display import HTML, Javascript, Markdown, SVG, display
        display(HTML('<b>bold</b><script>alert("hostile-html")</script><img src=x onerror="alert(1)">'))
        display(Markdown('<a href="javascript:alert(2)">link</a><script>alert("hostile-md")</script>'))
        display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"><script>alert(4)</script></svg>'))
        display(Javascript('alert("hostile-js")'))
        """)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell('Hi <script>alert("hostile-cell")</script>'
                                                     '<img src=y onerror="alert(5)">'))
    subs["injects_html"] = (nb, TOTAL)
    # active content without any "<": stream names, image payloads, MIME keys, Markdown link targets
    nb = appended(r"""
        import base64, sys
        ip = get_ipython()
        ip.kernel.session.send(ip.kernel.iopub_socket, "stream",
                               {"name": 'x"><script>alert("hostile-stream")</script>', "text": "named\n"},
                               parent=ip.kernel.get_parent("shell"), ident=ip.kernel._topic("stream"))
        ip.display_pub.publish({"image/png": 'AAAA" onerror="alert(6)', "text/plain": "png"})
        ip.display_pub.publish({"image/gif": base64.b64encode(b"<svg onload=alert(7)>").decode()})
        ip.display_pub.publish({"text/markdown": "[click](javascript:alert(8)) "
                                                 "![i](data:text/html;base64,PHNjcmlwdD4=)"})
        ip.display_pub.publish({"text/html; charset=x": "<script>alert(9)</script>", "text/plain": "k"})
        ip.display_pub.publish({"text/latex": "$\\href{javascript:alert(12)}{tex}$", "text/plain": "t"})
        """)
    cell = nbformat.v4.new_markdown_cell("[me](JaVaScRiPt:alert(10)) [ref][r] ![a](attachment:x.png)\n\n"
                                         "$\\href{javascript:alert(13)}{maths}$\n\n"
                                         "[r]: vbscript:msgbox(11)")
    cell.attachments = {"x.png": {"image/png": "bm90IGEgcG5n"}, 'y"><b': {"image/png": "iVBORw0KGgo="}}
    nb.cells.insert(1, cell)
    subs["injects_without_tags"] = (nb, TOTAL)
    # ------------------------------------------------------------------ honest work, deleted cells, runaways
    nb = solution()
    answer_cell(nb, FIRST).source = ("# My own answer; the autograder checks it against autograder.reference.\n"
                                     + answer_cell(nb, FIRST).source)
    subs["mentions_autograder"] = (nb, TOTAL)
    nb = solution()
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != f"{FIRST}_tests"]
    subs["deletes_test_cell"] = (nb, TOTAL)
    subs["links_out"] = (solution(), TOTAL)  # the notebook is written by plant_links
    for name, body in [
        ("ignores_interrupt", "    import time\n    while True:\n        try:\n            time.sleep(0.1)\n"
                              "        except KeyboardInterrupt:\n            pass\n"),
        ("kills_kernel", "    import os\n    os._exit(1)\n"),
        ("prints_a_lot", "    for _ in range(2000):\n        print('spam' * 25_000)\n"),
    ]:
        nb = solution()
        nb.cells = [c for c in nb.cells if nbgrader_meta(c) or f"{FUNCTION}(" not in c.source]
        answer_cell(nb, FIRST).source = f"{SIGNATURE}\n{body}"
        subs[name] = (nb, WRONG_FIRST)
    return subs


def reads_source(course):
    """A first answer that looks for the reference or a solution on disk and runs it."""
    roots = [str(ROOT / "autograder"), str(ROOT / "solutions"), str(SITE / "autograder"), str(course)]
    body = f"""
        import glob, json
        for root in {roots!r}:
            found = glob.glob(root + "/**/*.py", recursive=True) + glob.glob(root + "/**/*.ipynb", recursive=True)
            for path in found:
                try:
                    text = open(path).read()
                except OSError:
                    continue
                sources = [text]
                if path.endswith(".ipynb"):
                    try:
                        sources = ["".join(c["source"]) for c in json.loads(text)["cells"]]
                    except ValueError:
                        continue
                for src in sources:
                    if "def {FUNCTION}(" in src and "NotImplementedError" not in src:
                        scope = {{"np": __import__("numpy")}}
                        try:
                            exec(src, scope)
                            return scope[{FUNCTION!r}](**args)
                        except Exception:
                            continue
        raise RuntimeError("no source found")
        """
    return delegating(body)


# ------------------------------------------------------------------ links and special files in submitted/
# Planted after the notebooks are written (the submitted/ path, without an exchange): a grader that
# followed them would copy the gradebook, every lesson's solutions, /etc/shadow or a classmate's
# notebook into the student's folder, or block on a FIFO or /dev/zero.
LINKED = {"links_out": "a correct notebook next to links, a FIFO and a timestamp.txt that reads forever"}
LINK_NOTEBOOK = "notebook_is_a_link"  # the notebook itself is a link to a classmate's: graded after the others
PEEK = """
    import os
    for name in ("gradebook.db", "solutions", "shadow", "alice.ipynb", "zero", "pipe", "timestamp.txt"):
        if os.path.lexists(name):
            print("PEEK", name, "is there")
    """


def plant_links(course):
    links = course / "submitted" / "links_out" / LESSON
    alice = course / "submitted" / "alice" / LESSON / f"{LESSON}.ipynb"
    nbformat.write(appended(PEEK), str(links / f"{LESSON}.ipynb"))
    for name, target in [("gradebook.db", course / "gradebook.db"), ("solutions", course / "solutions"),
                         ("shadow", Path("/etc/shadow")), ("alice.ipynb", alice), ("zero", Path("/dev/zero")),
                         ("timestamp.txt", Path("/dev/zero"))]:
        (links / name).symlink_to(target)
    os.mkfifo(links / "pipe")
    (links / "notes.txt").write_text("my own notes\n")


def plant_link_notebook(course):
    alice = course / "submitted" / "alice" / LESSON / f"{LESSON}.ipynb"
    (course / "submitted" / LINK_NOTEBOOK / LESSON).mkdir(parents=True)
    (course / "submitted" / LINK_NOTEBOOK / LESSON / f"{LESSON}.ipynb").symlink_to(alice)


# ---------------------------------------------------------------------------------------- state

def tree_digest(root: Path, skip=()) -> dict:
    """path -> sha256 of every regular file under root (symlinks and others by their kind)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if any(rel == s or rel.startswith(s + "/") for s in skip) or "__pycache__" in path.parts:
            continue
        if path.is_symlink() or not path.is_file():
            out[rel] = "link" if path.is_symlink() else "dir" if path.is_dir() else "other"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def env_snapshot() -> dict:
    """(size, mtime) of every file of the environment (a write or a new file changes it)."""
    out = {}
    for path in sorted(Path(sys.prefix).rglob("*")):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        st = path.lstat()
        out[str(path)] = (st.st_size, st.st_mtime_ns)
    return out


def marked_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if MARKER in cmd and "pytest" not in cmd:
                found.append(cmd[:120])
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS, course / "solutions")
    subs = submissions(course)
    for student, (nb, _) in subs.items():
        dest = course / "submitted" / student / LESSON
        dest.mkdir(parents=True)
        if student not in LINKED:
            nbformat.write(nb, str(dest / f"{LESSON}.ipynb"))
    plant_links(course)
    repo_before = {name: tree_digest(ROOT / name) for name in ("autograder", "rnnkit", "solutions", "lessons")}
    repo_before["nbgrader_config.py"] = hashlib.sha256((ROOT / "nbgrader_config.py").read_bytes()).hexdigest()
    submitted_before = tree_digest(course / "submitted")
    config_before = (course / "nbgrader_config.py").read_bytes()
    env_before = env_snapshot()
    code = ("import sys; from autograder.grade import grade; "
            f"sys.exit(grade([{LESSON!r}], jobs=2, csv='grades.csv', cwd={str(course)!r}, timeout=5))")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # a notebook handed in as a link to a classmate's (plain nbgrader autograde), then an honest
    # classmate, graded after the attackers
    plant_link_notebook(course)
    dest = course / "submitted" / "zoe" / LESSON
    dest.mkdir(parents=True)
    nbformat.write(solution(), str(dest / f"{LESSON}.ipynb"))
    link_log = ""
    for args in (["db", "student", "add", LINK_NOTEBOOK], ["autograde", LESSON, "--student", LINK_NOTEBOOK],
                 ["db", "student", "add", "zoe"], ["autograde", LESSON, "--student", "zoe"],
                 ["generate_feedback", LESSON], ["export", "--to", "grades.csv"]):
        done = subprocess.run(["nbgrader", *args], cwd=course, capture_output=True, text=True, check=True,
                              timeout=600)
        link_log += done.stderr if LINK_NOTEBOOK in args else ""
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    repo_after = {name: tree_digest(ROOT / name) for name in ("autograder", "rnnkit", "solutions", "lessons")}
    repo_after["nbgrader_config.py"] = hashlib.sha256((ROOT / "nbgrader_config.py").read_bytes()).hexdigest()
    state = {
        "repo": repo_before == repo_after, "config": config_before == (course / "nbgrader_config.py").read_bytes(),
        "submitted": submitted_before == tree_digest(course / "submitted", skip=("zoe", LINK_NOTEBOOK)),
        "link_log": link_log,
        "env": env_before == env_snapshot(), "processes": marked_processes(),
    }
    return course, subs, rows, proc.stdout, state, seconds


def score(rows, student):
    return float(rows[student]["score"])


def test_every_submission_gets_exactly_its_fair_score(graded):
    _, subs, rows, out, _, seconds = graded
    assert set(subs) <= set(rows)
    unfair = {s: (score(rows, s), fair) for s, (_, fair) in subs.items() if score(rows, s) != fair}
    assert not unfair, f"(got, fair): {unfair}"
    assert f"graded {len(subs)}/{len(subs)} submissions" in out
    print(f"\n{len(subs)} hostile/control submissions graded in {seconds:.0f} s with --jobs 2")
    for student, (_, fair) in subs.items():
        print(f"  {student:30s} {score(rows, student):4.1f} / {TOTAL:.0f}   fair {fair:.1f}")


def test_honest_classmate_graded_after_the_attackers_has_full_marks(graded):
    _, _, rows, _, _, _ = graded
    assert score(rows, "zoe") == TOTAL


def test_nothing_outside_the_sandbox_changed(graded):
    _, _, _, _, state, _ = graded
    assert state["repo"], "the repository (grader, student package, solutions, lessons, config) changed"
    assert state["config"], "the course's nbgrader_config.py changed"
    assert state["submitted"], "a submitted notebook changed"
    assert state["env"], "the Python environment changed"
    assert not (SITE / "zz_hostile.pth").exists()


def test_no_process_of_a_submission_survives_grading(graded):
    _, _, _, _, state, _ = graded
    assert state["processes"] == []


def test_deleted_test_cell_is_restored_and_reported(graded):
    _, _, _, out, _, _ = graded
    assert re.search(rf"deletes_test_cell/\S+: .*{FIRST}_tests.*restored", out)


@pytest.mark.parametrize("student", ["ignores_interrupt", "kills_kernel"])
def test_runaway_code_is_reported(graded, student):
    _, _, _, out, _, _ = graded
    assert f"{student}/{LESSON}:" in out


def test_untouched_notebooks_log_no_warning(graded):
    _, _, _, out, _, _ = graded
    for student in ("alice", "bob", "honest_but_wrong", "mentions_autograder"):
        assert f"{student}/{LESSON}:" not in out, out


def test_output_flood_is_capped(graded):
    course = graded[0]
    assert (course / "autograded" / "prints_a_lot" / LESSON / f"{LESSON}.ipynb").stat().st_size < 5_000_000


def _feedback(course, student):
    return (course / "feedback" / student / LESSON / f"{LESSON}.html").read_text()


def test_feedback_holds_no_hidden_test(graded):
    course, subs, _, _, _, _ = graded
    hidden = [c.source for c in solution().cells if "BEGIN HIDDEN TESTS" in c.source]
    secret_lines = {ln.strip() for src in hidden for ln in re.findall(r"BEGIN HIDDEN TESTS\n(.*?)###", src, re.S)[0]
                    .splitlines() if ln.strip()}
    for student in subs:
        html = _feedback(course, student)
        assert "BEGIN HIDDEN TESTS" not in html
        text = re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&#39;", "'")
        leaked = [ln for ln in secret_lines if ln in text]
        assert not leaked, f"{student}: {leaked}"
    assert "Likely mistake" in _feedback(course, "honest_but_wrong")


def test_no_script_from_student_output_reaches_feedback_or_notebook(graded):
    course = graded[0]
    html = _feedback(course, "injects_html")
    assert not re.search(r"<script[^>]*>[^<]*hostile", html), "a student's script is live in the feedback"
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html), "an event handler is live in the feedback"
    assert not re.search(r"""<[a-zA-Z][^>]*href\s*=\s*["']?javascript:""", html, re.I)
    nb = read_notebook(course / "autograded" / "injects_html" / LESSON / f"{LESSON}.ipynb")
    shown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert "application/javascript" not in out.get("data", {})
            shown += [str(v) for v in out.get("data", {}).values()]
    text = "\n".join(shown)
    for needle in ("<script", "onerror", "onload", "javascript:"):
        assert needle not in text, needle
    assert "<b>bold</b>" in text  # harmless HTML is kept


def test_honest_mention_of_the_grader_is_not_flagged(graded):
    _, _, rows, out, _, _ = graded
    assert score(rows, "mentions_autograder") == TOTAL
    assert "mentions_autograder/" not in out


@pytest.mark.parametrize("lesson", LESSON_IDS)  # 02 and 04 once scored full marks this way
def test_an_untouched_stub_that_injects_scores_gets_zero(lesson, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS, course / "solutions")
    nb = read_notebook(notebook_path(lesson, LESSONS))
    first = next(c for c in nb.cells if nbgrader_meta(c).get("solution"))
    first.source = textwrap.dedent("""
        ip = get_ipython()
        ip.events.register("post_run_cell", lambda result: (ip.displayhook(3), print(3)))
        ip.set_custom_exc((BaseException,), lambda *a, **k: ip.displayhook(3))
        """) + first.source
    dest = course / "submitted" / "mallory" / lesson
    dest.mkdir(parents=True)
    nbformat.write(nb, str(dest / f"{lesson}.ipynb"))
    code = ("import sys; from autograder.grade import grade; "
            f"sys.exit(grade([{lesson!r}], jobs=1, csv='grades.csv', cwd={str(course)!r}, timeout=20))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["mallory"]["score"]) == 0 < float(rows["mallory"]["max_score"])


def test_links_and_special_files_are_refused_and_the_notebook_graded(graded):
    course, _, rows, out, _, _ = graded
    assert score(rows, "links_out") == TOTAL
    refused = next(line for line in out.splitlines() if "intake refused from links_out" in line)
    for name in ("gradebook.db", "solutions", "shadow", "alice.ipynb", "zero", "pipe", "timestamp.txt"):
        assert name in refused, f"{name} was not reported: {refused}"
    taken = sorted(str(p.relative_to(course / "autograded" / "links_out" / LESSON))
                   for p in (course / "autograded" / "links_out" / LESSON).rglob("*"))
    assert taken == [f"{LESSON}.ipynb", "intake.txt", "notes.txt"], taken
    html = _feedback(course, "links_out")
    assert not re.search(r"PEEK \S+ is there", html), "the kernel saw a link or a FIFO"
    assert "the grader did not take" in html and "gradebook.db" in html and "a FIFO" in html
    assert "SQLite format" not in html and "root:" not in html


def test_a_notebook_that_is_a_link_is_not_gradable_and_never_read(graded):
    course, _, rows, _, state, _ = graded
    assert float(rows[LINK_NOTEBOOK]["score"] or "nan") == 0
    assert f"intake refused from {LINK_NOTEBOOK}: {LESSON}.ipynb: a symbolic link: not gradable" in state["link_log"]
    assert not (course / "autograded" / LINK_NOTEBOOK / LESSON / f"{LESSON}.ipynb").exists()
    assert not (course / "feedback" / LINK_NOTEBOOK / LESSON / f"{LESSON}.html").exists()


def test_no_active_content_without_tags_reaches_feedback_or_notebook(graded):
    course = graded[0]
    html = _feedback(course, "injects_without_tags")
    nb = read_notebook(course / "autograded" / "injects_without_tags" / LESSON / f"{LESSON}.ipynb")
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert {o["name"] for o in outputs if o["output_type"] == "stream"} <= {"stdout", "stderr"}
    # the attacks' source is shown, escaped; nothing of them may be live markup
    assert not re.search(r"<script[^>]*>\s*alert", html), "a script from the submission is live"
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html), "an event handler is live in the feedback"
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*(javascript|vbscript|data:(?!image/(png|jpeg|gif);base64,))""",
                         html, re.I), "a link or image target that runs"
    assert all(set(o.get("data", {})) <= {"text/plain", "text/html", "text/markdown", "text/latex", "image/png"}
               for o in outputs)
    assert not any("\\href" in str(o.get("data", {})) for o in outputs), "TeX that MathJax would make a link"
    markdown = [c for c in nb.cells if c.cell_type == "markdown" and "[me]" in c.source][0]
    assert "JaVaScRiPt" not in markdown.source and "vbscript" not in markdown.source
    assert "\\href" not in markdown.source
    assert not markdown.get("attachments"), "an attachment that is not the image it claims, or a bad name"
