"""The sandbox and the plain-data wire on their own: what a student's process can see and do."""

import io
import os
import subprocess
import sys

import nbformat
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


def _cgroups_writable():
    sandbox = Sandbox() if bwrap_path() else None
    try:
        return sandbox is not None and os.geteuid() == 0 and (sandbox.limits() and sandbox.memory_limited)
    finally:
        if sandbox is not None:
            sandbox.close()


@needs_bwrap
@pytest.mark.skipif(not _cgroups_writable(), reason="needs root and a writable memory cgroup (as in CI)")
def test_one_submission_shares_one_memory_limit_across_processes_and_in_memory_folders(tmp_path):
    """Three processes of 150 MiB each, every one under its own 2 GiB address-space limit, are 450 MiB
    together: under a 300 MiB submission limit the group is killed; 150 MiB alone passes."""
    from traitlets.config import Config

    from autograder.nbgrader_plugins import SafeExecute

    def boxed(code):
        config = Config()
        config.SafeExecute.submission_memory_mb = 300
        nb, resources = SafeExecute(config=config).preprocess(
            nbformat.v4.new_notebook(), {"metadata": {"path": str(tmp_path)}})
        sandbox = resources["autograder_sandbox"]
        assert sandbox.total_memory_bytes == 300 * 1024**2  # the nbgrader setting reaches the sandbox
        root = sandbox.scratch(tmp_path)
        try:
            cmd = sandbox.command(["/bin/sh", "-c", code], root)
            return subprocess.run(cmd, capture_output=True, timeout=120, preexec_fn=sandbox.limits())
        finally:
            remove_scratch(root)
            sandbox.close()

    write = "head -c {n}M /dev/zero > /tmp/f{k}"  # the sandbox's /tmp is an in-memory folder
    several = " & ".join(write.format(n=150, k=k) for k in range(3)) + " & wait"
    assert boxed(write.format(n=150, k=0)).returncode == 0
    assert boxed(several + "; test $(du -sm /tmp | cut -f1) -ge 440").returncode != 0


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


# A learner's function that, instead of returning, writes a hostile frame on the worker's channel.
HOSTILE_FRAME = r'''
import io, json, os, struct, zipfile, zlib
import numpy as np

def _frame(body, header=None):
    header = json.dumps(header or {"op": "result", "value": {"__nd__": 0, "scalar": False}}).encode()
    return struct.pack(">Q", len(header)) + header + struct.pack(">Q", len(body)) + body

def _npy(shape, data):
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return out.getvalue() + data

def attack(kind):
    if kind == "bomb":  # 300 MiB of zeros deflated to a few hundred kB
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open("arr_0.npy", "w", force_zip64=True) as member:
                member.write(_npy((300 * 2**17,), b""))
                zero = bytes(2**20)
                for _ in range(300):
                    member.write(zero)
        frame = _frame(buffer.getvalue())
    elif kind == "claims":  # an array header that claims 8 TB, with 8 bytes behind it
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("arr_0.npy", _npy((10**12,), bytes(8)))
        frame = _frame(buffer.getvalue())
    elif kind == "oversized":  # a frame that announces 4 EiB
        frame = struct.pack(">Q", 2**62)
    else:  # a header nested deeper than any parser's recursion
        buffer = io.BytesIO()
        zipfile.ZipFile(buffer, "w").close()
        header = b'{"op": "result", "value": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        frame = struct.pack(">Q", len(header)) + header + struct.pack(">Q", len(buffer.getvalue())) + buffer.getvalue()
    import stat
    for name in os.listdir("/proc/self/fd"):  # the worker's own channel to the grader: a pipe open for writing
        fd = int(name)
        try:
            flags = int(open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0], 8)
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode) and flags & 3 == 1:
                os.write(fd, frame)
        except (OSError, IndexError, ValueError):
            pass
    import time
    time.sleep(30)
'''


@pytest.mark.parametrize("kind", ["bomb", "claims", "oversized", "deep"])
def test_a_hostile_worker_costs_one_exercise_not_the_graders_memory(kind):
    import resource
    import time

    worker = Worker({"setup": ["import numpy as np"], "answers": [("a", HOSTILE_FRAME)]}, timeout=60)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        worker.start_exercise(60)
        start = time.monotonic()
        with pytest.raises(WorkerGone):
            Remote(worker, "attack")(kind)
        assert time.monotonic() - start < 20  # refused when read, not after the worker's timeout
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert grown_mib < 100, f"the grader grew by {grown_mib:.0f} MiB reading a {kind}"
    finally:
        worker.close()


def test_the_wire_reads_only_stored_arrays_of_the_size_they_declare():
    data = wire.pack({"v": np.arange(4.0)}, on_other=None)
    n = int.from_bytes(data[:8], "big")
    header, body = data[8:8 + n], data[16 + n:]
    assert np.array_equal(wire.unpack(header, body, None)["v"], np.arange(4.0))
    compressed = io.BytesIO()
    np.savez_compressed(compressed, np.arange(4.0))
    with pytest.raises(wire.WireError, match="compressed"):
        wire.unpack(header, compressed.getvalue(), None)
    with pytest.raises(wire.WireError, match="mapping"):
        wire.unpack(b"[1]", body, None)


@needs_bwrap
def test_the_sandbox_sees_one_student_package_whatever_else_is_installed(tmp_path, monkeypatch):
    """A second, complete install of rnnkit (in site-packages of a mounted tree, on the grader's
    PYTHONPATH) is covered by the filtered copy: a learner who reaches for it finds the release."""
    import shutil

    from autograder.sandbox import _student_package_dirs

    other = tmp_path / "prefix" / "lib" / "python3.11" / "site-packages"
    shutil.copytree(_student_package_dirs()[0], other / "rnnkit", ignore=shutil.ignore_patterns("__pycache__"))
    assert (other / "rnnkit" / "solved" / "l04_lstm.py").exists()
    monkeypatch.setattr(Sandbox, "_ro_paths", lambda self, base=Sandbox._ro_paths: [*base(self), tmp_path / "prefix"])
    monkeypatch.setattr(sys, "path", [*sys.path, str(other)])
    sandbox = Sandbox(lesson="04_lstm")
    root = sandbox.scratch(None)
    code = (f"import sys; sys.path.insert(0, {str(other)!r}); import os, rnnkit; "
            "d = os.path.dirname(rnnkit.__file__); "
            "print('ANSWERS', os.path.exists(os.path.join(d, 'solved', 'l04_lstm.py')), "
            "os.path.exists(os.path.join(d, 'solved', 'l03_bptt.py')), d)")
    try:
        proc = subprocess.run(sandbox.command([sys.executable, "-I", "-c", code], root), capture_output=True,
                              text=True, timeout=60, preexec_fn=sandbox.limits())
    finally:
        remove_scratch(root)
        sandbox.close()
    assert f"ANSWERS False True {other / 'rnnkit'}" in proc.stdout, proc.stdout + proc.stderr[-2000:]
