"""Run a learner's code in a bubblewrap sandbox, away from the grader, the course and classmates.

Every process that runs student code (the notebook's kernel and the verifier's worker) is started
through :meth:`Sandbox.command`, which wraps it in ``bwrap`` (Debian package ``bubblewrap``) with:

- a read-only view of the system (``/usr``, a few files of ``/etc``), the Python installation and
  the virtual environment, and of the student package ``rnnkit`` as a release of the lesson being
  graded would hand it out (``lesson``: earlier lessons' answers only, never this lesson's own, see
  :mod:`autograder.release`); no view of ``autograder/``, ``solutions/``, the gradebook, other
  submissions or anything else of the course;
- a private working folder holding a copy of the submission's regular files, and a private ``/tmp``,
  both in the sandbox's own size-limited memory (nothing is written to the host's disk), thrown away
  after;
- no network, its own process, IPC, UTS and user namespaces, no capabilities, a new session;
  ``--die-with-parent``: when grading of the submission ends, every process in it is killed;
- limits: address space (2 GiB by default), file size, open files, and processes (RLIMIT_NPROC for
  an unprivileged grader; a pids cgroup when the grader runs as root and cgroups are writable).

Without bwrap, :func:`require` stops instructor grading with a one-line message, unless the
instructor passes ``--unsafe`` (or sets ``AUTOGRADER_UNSAFE=1``), which is then printed on every run.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import stat
import sys
import tempfile
import uuid
from pathlib import Path

from autograder.course import GRADING_ENV

WORKDIR = "/home/student/work"  # the submission's files, copied into the sandbox's own memory
SUBMISSION = "/submission"  # the scratch copy on disk, read-only inside: WORKDIR is copied from it
TMP_BYTES = 512 * 1024**2  # size of each private in-memory folder (/tmp, the home folder)
INSTALL_HINT = "install the Debian/Ubuntu package 'bubblewrap' (apt-get install bubblewrap)"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
             "fonts", "mime.types")
MAX_COPY_BYTES = 200 * 1024 * 1024  # a submission folder larger than this is not copied whole


class SandboxUnavailable(RuntimeError):
    pass


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def unsafe_requested() -> bool:
    return os.environ.get("AUTOGRADER_UNSAFE", "") not in ("", "0")


def require(unsafe=False):
    """The sandbox to grade with, or None when the instructor asked for unsafe grading."""
    if unsafe or unsafe_requested():
        print("WARNING: grading WITHOUT a sandbox (--unsafe): students' code runs with your rights",
              file=sys.stderr)
        return None
    if not bwrap_path():
        raise SandboxUnavailable(f"no sandbox for students' code: {INSTALL_HINT}, or pass --unsafe")
    return Sandbox()


def _student_package_dirs() -> list[Path]:
    spec = importlib.util.find_spec("rnnkit")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p).resolve() for p in spec.submodule_search_locations]


def copy_regular_tree(src: Path, dest: Path, budget=MAX_COPY_BYTES, depth=8):
    """Copy regular files and folders only (no symlink, FIFO or device), at most ``budget`` bytes."""
    dest.mkdir(parents=True, exist_ok=True)
    if depth < 0:
        return budget
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            if Path(entry.path).resolve() in Path(dest).resolve().parents or entry.name.startswith("sandbox-"):
                continue  # never copy the scratch folder into itself
            budget = copy_regular_tree(Path(entry.path), dest / entry.name, budget, depth - 1)
        elif stat.S_ISREG(st.st_mode) and st.st_size <= budget:
            shutil.copyfile(entry.path, dest / entry.name, follow_symlinks=False)
            budget -= st.st_size
    return budget


class Sandbox:
    """One submission's sandbox settings; :meth:`scratch` makes its private folders."""

    def __init__(self, memory_bytes=2 * 1024**3, max_procs=256, max_file_bytes=256 * 1024**2, lesson=None):
        self.memory_bytes, self.max_procs, self.max_file_bytes = memory_bytes, max_procs, max_file_bytes
        self.lesson = lesson  # the lesson being graded: the student package is filtered for it
        self._package = None  # a folder holding that filtered copy
        self.bwrap = bwrap_path()
        self.groups = []  # pids cgroups made for this sandbox's processes, removed by close()
        if not self.bwrap:
            raise SandboxUnavailable(f"no sandbox for students' code: {INSTALL_HINT}")

    # ------------------------------------------------------------------------------- folders

    def scratch(self, submission: Path | None) -> Path:
        """A fresh folder: ``work/`` (a copy of the submission's regular files) and ``ipc/``."""
        root = Path(tempfile.mkdtemp(prefix="sandbox-"))
        (root / "ipc").mkdir()
        if submission is not None and Path(submission).is_dir():
            copy_regular_tree(Path(submission), root / "work")
        else:
            (root / "work").mkdir()
        return root

    # ------------------------------------------------------------------------------- command

    def _student_package(self) -> list[tuple[Path, Path]]:
        """(source, where it appears) for the student package: filtered for ``lesson`` when set."""
        dirs = _student_package_dirs()
        if self.lesson is None or not dirs:
            return [(d, d) for d in dirs]
        from autograder import release

        if self._package is None or not self._package.exists():
            self._package = Path(tempfile.mkdtemp(prefix="sandbox-package-"))
            modules = release.package_modules()
            try:
                shipped = release.plan([self.lesson])
            except release.ReleaseError:  # a lesson that needs its own answers: hand out no answer at all
                shipped = {m for m in modules if not release.answers_in(m)}
            release.copy_package(shipped, modules, self._package)
            for path in [self._package, *self._package.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        return [(self._package / release.PACKAGE, dirs[0])]

    def _ro_paths(self) -> list[Path]:
        paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent}
        # The interpreter may be a symlink chain into another installation (pyenv, a venv's python).
        exe = Path(sys.executable)
        while exe.is_symlink():
            exe = (exe.parent / os.readlink(exe)).resolve()
            paths.add(exe.parent.parent)
        keep = sorted(p for p in paths if p.exists() and not str(p).startswith("/usr/"))
        return [p for p in keep if not any(p != q and q in p.parents for q in keep)]

    def command(self, argv: list[str], root: Path, cwd=WORKDIR, env=None) -> list[str]:
        """``argv`` wrapped in bwrap; ``root`` is a :meth:`scratch` folder."""
        cmd = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               "--hostname", "sandbox", "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
               "--size", str(TMP_BYTES), "--tmpfs", "/tmp", "--size", str(TMP_BYTES), "--tmpfs", "/home/student"]
        for name in ("bin", "lib", "lib64", "sbin"):
            top = Path("/") / name
            if top.is_symlink():
                cmd += ["--symlink", os.readlink(top), str(top)]
            elif top.is_dir():
                cmd += ["--ro-bind", str(top), str(top)]
        for name in ETC_FILES:
            if (Path("/etc") / name).exists():
                cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for path in self._ro_paths():
            cmd += ["--ro-bind", str(path), str(path)]
        for source, target in self._student_package():
            cmd += ["--ro-bind", str(source), str(target)]
        cmd += ["--ro-bind", str(root / "work"), SUBMISSION, "--bind", str(root / "ipc"), str(root / "ipc"),
                "--remount-ro", "/", "--chdir", "/home/student", "--clearenv"]
        environment = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/home/student", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib",
            "IPYTHONDIR": "/tmp/ipython", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter", "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8",
            # no progress bars; nbgrader's NBGRADER_EXECUTION lets demonstrations load stored results
            **GRADING_ENV, "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"),
            **(env or {}),
        }
        for key, value in environment.items():
            cmd += ["--setenv", key, value]
        # The writable working folder lives in the sandbox's size-limited memory, not on the host's disk.
        start = f'mkdir -p {WORKDIR} && cp -R {SUBMISSION}/. {WORKDIR}/ && cd "$0" && exec "$@"'
        return cmd + ["--", "/bin/sh", "-c", start, cwd, *argv]

    def limits(self):
        """A ``preexec_fn`` for the bwrap process: resource limits every sandboxed process inherits."""
        if os.geteuid() == 0 and not self.groups:
            cleanup_cgroups()  # empty groups an interrupted run left behind
        cgroup = _pids_cgroup(self.max_procs) if os.geteuid() == 0 else None
        if cgroup is not None:
            self.groups.append(cgroup)

        def apply():
            resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.max_file_bytes, self.max_file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
            if os.geteuid() != 0:
                resource.setrlimit(resource.RLIMIT_NPROC, (self.max_procs, self.max_procs))
            if cgroup is not None:
                try:
                    (cgroup / "cgroup.procs").write_text(str(os.getpid()))
                except OSError:
                    pass

        return apply

    def close(self):
        if self._package is not None:
            shutil.rmtree(self._package, ignore_errors=True)
            self._package = None
        for group in self.groups:
            _remove_cgroup(group)
        self.groups = []


def _remove_cgroup(group: Path, attempts=20):
    """Kill what is left in a sandbox's cgroup and remove it (a process may take a moment to exit)."""
    import signal
    import time

    for _ in range(attempts):
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def _pids_cgroup(max_procs) -> Path | None:
    """A fresh pids cgroup (v1 or v2) limited to ``max_procs``, when this process may make one."""
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
            continue
        if base.name == "cgroup" and "pids" not in (base / "cgroup.controllers").read_text(errors="ignore"):
            continue
        group = base / f"autograder-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(max_procs))
            return group
        except OSError:
            return None
    return None


def remove_scratch(root: Path):
    shutil.rmtree(root, ignore_errors=True)


def cleanup_cgroups(min_age=120.0):
    """Remove empty cgroups this module made that are older than ``min_age`` seconds (left behind by
    killed sandboxes; a younger one may belong to a sandbox another grading process is starting)."""
    import time

    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        for group in base.glob("autograder-*"):
            try:
                if time.time() - group.stat().st_mtime > min_age:
                    group.rmdir()
            except OSError:
                pass
