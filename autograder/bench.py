"""``make bench``: time what users wait for, and print the figures.

- ``notebooks``: each solution notebook, executed as a learner runs it (live training included, not the
  grading mode that loads stored results), with its slowest cell;
- ``check``: ``make check`` for one lesson (a learner's fresh copy, as a subprocess: start-up included);
- ``autograde``: ``nbgrader autograde`` of one submission (the solution) per lesson, through nbgrader's
  Python API in a temporary course folder (the hardened pipeline of nbgrader_config.py included);
- ``grade``: ``python -m autograder grade`` on a batch of submissions, ``--jobs 1`` against ``--jobs 2``;
- ``torch``: forward + backward of the reference RNN / LSTM / GRU against ``torch.nn`` on the CPU,
  one thread each, at the course's sizes (N=32, T=100, D=1, H=32), when torch is installed; and one
  training step of lesson 09's character LSTM (H=128, T=64, N=32) in numpy against torch.nn.LSTM.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import ROOT, SOLUTIONS, lesson_ids, notebook_path

SECTIONS = ("notebooks", "check", "autograde", "grade", "torch")


def _time(fn, repeat, clock=time.perf_counter):
    """The best of ``repeat`` calls of ``fn``, timed by ``clock``."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def _row(label, seconds, extra=""):
    print(f"{label:<58} {seconds:7.2f} s{extra}", flush=True)


def _course(tmp: Path) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    shutil.copytree(SOLUTIONS, tmp / "solutions")
    return tmp


def autograde_once(lesson, course: Path, student: str, unsafe=False) -> float:
    """Submit the solution as ``student`` and time nbgrader's autograde of it (API, in-process).

    ``unsafe``: without the sandbox, to measure what the sandbox costs.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.CourseDirectory.release_directory = str(course / "release")
    config.Application.log_level = "ERROR"
    config.SafeExecute.unsafe = unsafe
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.generate_assignment(lesson, force=True, create=True)
    dest = course / "submitted" / student / lesson
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook_path(lesson, SOLUTIONS), dest)
    api.gradebook.update_or_create_student(student)
    start = time.perf_counter()
    result = api.autograde(lesson, student, force=True, create=True)
    seconds = time.perf_counter() - start
    if not result.get("success"):
        raise RuntimeError(f"autograde of {lesson} failed: {result.get('error')}")
    return seconds


def learner_run(path):
    """Execute a solution notebook as a learner runs it: live training included, not grading mode.

    Returns (notebook, seconds, (slowest cell's first line, its seconds)).
    """
    from datetime import datetime

    saved = os.environ.pop("NBGRADER_EXECUTION", None)  # grading mode would load stored results instead
    try:
        nb = nbformat.read(str(path), as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
    finally:
        if saved is not None:
            os.environ["NBGRADER_EXECUTION"] = saved
    cells = []
    for cell in nb.cells:
        stamps = cell.metadata.get("execution", {})
        if "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            took = (datetime.fromisoformat(stamps["shell.execute_reply"].replace("Z", "+00:00"))
                    - datetime.fromisoformat(stamps["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
            cells.append((took, (cell.source.strip().splitlines() or [""])[0][:50]))
    took, first = max(cells) if cells else (0.0, "")
    return nb, seconds, (first, took)


def bench_torch(repeat=20):
    try:
        import torch
    except ImportError:
        print("torch is not installed: reference-vs-torch timings skipped (pip install torch)")
        return
    import numpy as np

    from autograder import reference as ref
    from autograder.train import init_params

    torch.set_num_threads(1)
    N, T, D, H = 32, 100, 1, 32
    rng = np.random.default_rng(0)
    x, h0, dhs = rng.normal(size=(N, T, D)), np.zeros((N, H)), rng.normal(size=(N, T, H))
    for model, cls in [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
        p = init_params(model, D, H, rng)

        def ours(model=model, p=p):
            if model == "lstm":
                hs, cache = ref.lstm_forward(x, h0, h0, p)
            else:
                hs, cache = getattr(ref, f"{model}_forward")(x, h0, p)
            getattr(ref, f"{model}_backward")(dhs, cache)

        net = cls(D, H, batch_first=True, dtype=torch.float64)
        xt, dt = torch.tensor(x, requires_grad=True), torch.tensor(dhs)

        def theirs(net=net, xt=xt, dt=dt):
            out, _ = net(xt)
            out.backward(dt)

        for fn in (ours, theirs):
            fn()  # warm up
        a, b = _time(ours, repeat), _time(theirs, repeat)
        print(f"{model.upper():<4} forward+backward, N={N} T={T} D={D} H={H}, one thread: numpy reference "
              f"{a * 1000:6.1f} ms, torch.nn {b * 1000:6.1f} ms, ratio {a / b:.2f}", flush=True)


def bench(repeat=1, only=SECTIONS) -> int:
    warnings.filterwarnings("ignore")  # nbgrader's SQLAlchemy chatter
    if "notebooks" in only:
        for lesson in lesson_ids():
            timings, path = [], notebook_path(lesson, SOLUTIONS)
            seconds = _time(lambda path=path, timings=timings: timings.append(learner_run(path)), repeat)
            name, slowest = min(timings, key=lambda t: t[1])[2]
            _row(f"solutions/{lesson}, run as a learner runs it", seconds,
                 f"   (slowest cell {slowest:.1f} s: {name})")
    if "check" in only:
        first = lesson_ids()[0]
        _row(f"make check {first} (fresh copy, start-up included)", _time(lambda: subprocess.run(
            [sys.executable, "-m", "autograder", "check", first], capture_output=True, check=False), repeat))
    if "autograde" in only:
        with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
            course = _course(Path(tmp))
            autograde_once(lesson_ids()[0], course, "warm-up")  # imports and caches: not part of any row
            for lesson in lesson_ids():
                boxed = _time(lambda lesson=lesson: autograde_once(lesson, course, f"s{time.time_ns()}"), repeat)
                bare = _time(lambda lesson=lesson: autograde_once(lesson, course, f"u{time.time_ns()}", True), repeat)
                _row(f"nbgrader autograde, 1 submission of {lesson}", boxed,
                     f"   (without the sandbox {bare:.1f} s: overhead {boxed - bare:+.1f} s)")
    if "grade" in only:
        first, students = lesson_ids()[0], 20
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
                course = _course(Path(tmp))
                nb = nbformat.read(str(notebook_path(first, SOLUTIONS)), as_version=4)
                for k in range(students):
                    dest = course / "submitted" / f"student{k}" / first
                    dest.mkdir(parents=True)
                    nbformat.write(nb, str(dest / f"{first}.ipynb"))
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "autograder", "grade", first, "--jobs", str(jobs)],
                               cwd=course, capture_output=True, check=False)
                seconds = time.perf_counter() - start
                _row(f"autograder grade {first}: {students} submissions, --jobs {jobs}", seconds,
                     f"   ({seconds / students:.1f} s per submission)")
    if "torch" in only:  # a fresh process, so numpy's BLAS is also limited to one thread
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        subprocess.run([sys.executable, "-c", "from autograder.bench import bench_torch; bench_torch()"],
                       env=env, check=False)
        from autograder.bench_charlm import bench_char_lstm_subprocess

        bench_char_lstm_subprocess()  # lesson 09: one training step of a character LSTM, numpy vs torch
    return 0
