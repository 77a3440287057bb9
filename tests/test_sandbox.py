"""The sandbox and the plain-data wire on their own: what a student's process can see and do."""

import os
import subprocess
import sys

import numpy as np
import pytest

from autograder import wire
from autograder.course import ROOT
from autograder.sandbox import Sandbox, bwrap_path, remove_scratch
from autograder.verify import Handle, Remote, Worker, WorkerGone

needs_bwrap = pytest.mark.skipif(not bwrap_path(), reason="needs bubblewrap (apt-get install bubblewrap)")


def run_boxed(code, tmp_path):
    sandbox = Sandbox()
    (tmp_path / "data.txt").write_text("the submission's own file")
    root = sandbox.scratch(tmp_path)
    try:
        cmd = sandbox.command([sys.executable, "-I", "-c", code], root)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, preexec_fn=sandbox.limits())
    finally:
        remove_scratch(root)
        sandbox.close()


@needs_bwrap
def test_the_sandbox_sees_no_grader_no_course_and_no_network(tmp_path):
    code = f"""
import importlib.util, os, socket, pathlib
print("autograder", importlib.util.find_spec("autograder") is not None)
print("repo", sorted(os.listdir({str(ROOT)!r})))
print("own", open("data.txt").read())
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2); print("net yes")
except OSError as exc:
    print("net no")
for path in [{str(ROOT / 'nbgrader_config.py')!r}, {sys.prefix!r} + "/pyvenv.cfg"]:
    try:
        open(path, "a").write("x"); print("wrote", path)
    except OSError:
        print("refused", path)
print("pids", len([p for p in os.listdir("/proc") if p.isdigit()]))
"""
    config = (ROOT / "nbgrader_config.py").read_bytes()
    out = run_boxed(code, tmp_path).stdout
    assert (ROOT / "nbgrader_config.py").read_bytes() == config  # (a write lands in the sandbox's own memory)
    assert "autograder False" in out
    repo = next(line for line in out.splitlines() if line.startswith("repo"))
    assert "nbgrader_config.py" not in repo and "solutions" not in repo and "autograder" not in repo
    assert "own the submission's own file" in out
    assert "net no" in out and f"refused {sys.prefix}/pyvenv.cfg" in out
    assert int(out.split("pids ")[1]) <= 3  # its own process namespace


@needs_bwrap
def test_memory_is_limited(tmp_path):
    proc = run_boxed("b = bytearray(8 * 1024**3)", tmp_path)
    assert proc.returncode != 0 and "MemoryError" in proc.stderr


def test_wire_round_trip_keeps_types_and_refuses_objects():
    value = {"a": np.arange(6.0).reshape(2, 3), "n": np.int64(3), "t": (1, 2.5, float("nan")), "s": "x",
             "l": [True, None, {"k": np.float32(1.5)}]}
    data = wire.pack({"v": value}, on_other=lambda v: pytest.fail(f"unexpected {v!r}"))
    header_len = int.from_bytes(data[:8], "big")
    header = data[8:8 + header_len]
    body = data[16 + header_len:]
    back = wire.unpack(header, body, on_other=None)["v"]
    assert np.array_equal(back["a"], value["a"]) and isinstance(back["n"], np.integer)
    assert isinstance(back["t"], tuple) and np.isnan(back["t"][2]) and back["l"][2]["k"] == 1.5
    with pytest.raises(Exception):  # noqa: B017 - a corrupt body is refused, whatever numpy calls it
        wire.unpack(header, b"not an npz", on_other=None)


def test_worker_imports_nothing_of_the_grader_and_returns_plain_data():
    program = {"setup": ["import numpy as np"], "answers": [("a", "import sys\n"
               "def modules():\n    return sorted(m for m in sys.modules if m.startswith('autograder'))\n"
               "def double(x, f=None):\n    x *= 2\n    return {'y': x + 0, 'f': f(x) if f else None}\n"
               "class Box:\n    pass\n"
               "def opaque():\n    return Box()\n")]}
    worker = Worker(program, timeout=20, cwd=os.getcwd())
    try:
        assert Remote(worker, "modules")() == []
        x = np.ones(3)
        out = Remote(worker, "double")(x, lambda v: float(np.sum(v)))
        assert np.array_equal(out["y"], 2 * np.ones(3)) and out["f"] == 6.0
        assert np.array_equal(x, 2 * np.ones(3))  # an in-place change is mirrored back
        assert isinstance(Remote(worker, "opaque")(), Handle)
        with pytest.raises(Exception, match="is not defined"):
            Remote(worker, "missing")()
    finally:
        worker.close()


def test_a_hanging_learner_function_times_out():
    worker = Worker({"setup": [], "answers": [("a", "def spin():\n    while True:\n        pass\n")]}, timeout=2)
    try:
        worker.start_exercise(2)
        with pytest.raises(WorkerGone):
            Remote(worker, "spin")()
    finally:
        worker.close()


def test_grading_without_bwrap_stops_with_one_line(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on PATH
    code = f"import sys; from autograder.grade import grade; sys.exit(grade(['01'], cwd={str(tmp_path)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bubblewrap" in lines[0] and "--unsafe" in lines[0]


@pytest.mark.parametrize("lesson, hidden, shown", [
    ("01_feedback_loops", ["solved/l01_feedback_loops.py", "solved/l02_vanilla_rnn.py"], ["checks.py"]),
    ("04_lstm", ["solved/l04_lstm.py", "solved/l05_gru.py"], ["solved/l03_bptt.py", "given.py"]),
    ("06_training", ["solved/l06_training.py", "given.py"], ["solved/l05_gru.py", "train.py"]),
])
def test_the_sandbox_shows_the_student_package_as_the_graded_lessons_release(lesson, hidden, shown):
    sandbox = Sandbox(lesson=lesson) if bwrap_path() else None
    if sandbox is None:
        pytest.skip("needs bubblewrap (apt-get install bubblewrap)")
    try:
        [(package, target)] = sandbox._student_package()
        assert target.name == "rnnkit" and package != target
        for name in hidden:
            assert not (package / name).exists(), f"grading {lesson}, the sandbox shows {name}"
        for name in shown:
            assert (package / name).exists(), f"grading {lesson}, the sandbox lacks {name}"
    finally:
        sandbox.close()
