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
import sys
import tempfile
import threading
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
    """Copy regular files and folders only, as :func:`autograder.intake.copy_submission` does: never
    through a link, never a FIFO, device or socket (each name opened with O_NOFOLLOW|O_NONBLOCK and
    checked with fstat), at most ``budget`` bytes. Returns the :class:`~autograder.intake.Intake`."""
    from autograder.intake import copy_submission

    dest_resolved = Path(dest).resolve()

    def skip(rel, is_dir):  # never copy the scratch folder into itself
        if not is_dir:
            return False
        return rel.rsplit("/", 1)[-1].startswith("sandbox-") or \
            (Path(src) / rel).resolve() in [dest_resolved, *dest_resolved.parents]

    return copy_submission(src, dest, skip=skip, max_bytes=budget, max_depth=depth)


class Sandbox:
    """One submission's sandbox settings; :meth:`scratch` makes its private folders."""

    def __init__(self, memory_bytes=2 * 1024**3, max_procs=256, max_file_bytes=256 * 1024**2, lesson=None):
        self.memory_bytes, self.max_procs, self.max_file_bytes = memory_bytes, max_procs, max_file_bytes
        self.lesson = lesson  # the lesson being graded: the student package is filtered for it
        self._package = None  # a folder holding that filtered copy
        self.bwrap = bwrap_path()
        self.groups = []  # cgroups (pids, memory) of this sandbox's processes, removed by close()
        self.total_memory_bytes = 4 * 1024**3  # every process of the submission and its in-memory folders
        self.memory_limited = False  # whether a memory cgroup holds the submission (root, cgroups writable)
        self.refused = []  # what the last scratch() did not copy: (relative path, why)
        self._lock = threading.Lock()
        self._holders = set()  # the kernel runner and the workers using it now (they may run side by side)
        if not self.bwrap:
            raise SandboxUnavailable(f"no sandbox for students' code: {INSTALL_HINT}")

    # ------------------------------------------------------------------------------- folders

    def scratch(self, submission: Path | None) -> Path:
        """A fresh folder: ``work/`` (a copy of the submission's regular files) and ``ipc/``."""
        root = Path(tempfile.mkdtemp(prefix="sandbox-"))
        (root / "ipc").mkdir()
        if submission is not None and Path(submission).is_dir():
            taken = copy_regular_tree(Path(submission), root / "work")
            self.refused = taken.refused
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

        with self._lock:  # made once, whichever of the kernel and the worker starts first
            if self._package is None or not self._package.exists():
                package = Path(tempfile.mkdtemp(prefix="sandbox-package-"))
                modules = release.package_modules()
                try:
                    shipped = release.plan([self.lesson])
                except release.ReleaseError:  # a lesson that needs its own answers: hand out no answer at all
                    shipped = {m for m in modules if not release.answers_in(m)}
                release.copy_package(shipped, modules, package)
                for path in [package, *package.rglob("*")]:
                    path.chmod(0o755 if path.is_dir() else 0o644)
                self._package = package
        # The filtered copy appears wherever a student package could be imported from inside:
        # where the grader found it and every other install the sandbox can see (a second copy in
        # site-packages, a folder on the grader's PYTHONPATH inside a mounted tree).
        return [(self._package / release.PACKAGE, target) for target in self._package_targets(dirs[0])]

    def _package_targets(self, found: Path) -> list[Path]:
        """``found`` and every other ``rnnkit`` folder under the trees mounted into the sandbox."""
        targets = [found]
        visible = [Path("/usr"), *self._ro_paths()]
        seen = {found}
        entries = [Path(p or ".").resolve() for p in [*sys.path, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
                   if p and not p.endswith((".zip", "__path_hook__"))]
        for top in visible:
            entries += list(top.glob("lib*/python3*/*-packages")) + list(top.glob("local/lib*/python3*/*-packages"))
            entries += list(top.glob("lib/python3/dist-packages")) + list(top.glob("lib*/python3.*"))
        for entry in entries:
            candidate = entry / "rnnkit"
            try:
                real = candidate.resolve()
            except OSError:
                continue
            if real in seen or not candidate.is_dir():
                continue
            if any(real == v or v in real.parents for v in visible):
                seen.add(real)
                targets.append(real)
        return targets

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
                "--remount-ro", "/", "--remount-ro", "/dev", "--chdir", "/home/student", "--clearenv"]
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
        """A ``preexec_fn`` for the bwrap process: resource limits every sandboxed process inherits.

        The kernel and the worker start from two threads (they run side by side): the groups are made
        once under a lock, and the function run in the child between fork and exec makes only system
        calls on values prepared here (nothing that could wait for a lock another thread held at fork).
        """
        with self._lock:
            if os.geteuid() == 0 and not self.groups:
                cleanup_cgroups()  # empty groups an interrupted run left behind
                # one set of groups for the whole submission: its kernel, its workers, their in-memory folders
                for group in (_pids_cgroup(self.max_procs), _memory_cgroup(self.total_memory_bytes)):
                    if group is not None:
                        self.groups.append(group)
                self.memory_limited = any(g.name.startswith("autograder-mem-") or (g / "memory.max").exists()
                                          for g in self.groups)
        procs = [os.fsencode(group / "cgroup.procs") for group in self.groups]
        limits = [(resource.RLIMIT_AS, self.memory_bytes), (resource.RLIMIT_FSIZE, self.max_file_bytes),
                  (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 1024)]
        if os.geteuid() != 0:
            limits.append((resource.RLIMIT_NPROC, self.max_procs))

        def apply():
            for kind, value in limits:
                resource.setrlimit(kind, (value, value))
            pid = b"%d" % os.getpid()
            for path in procs:
                try:
                    fd = os.open(path, os.O_WRONLY)
                    try:
                        os.write(fd, pid)
                    finally:
                        os.close(fd)
                except OSError:
                    pass

        return apply

    def hold(self, holder):
        """``holder`` (a kernel runner or a worker) uses the sandbox until it calls ``close(holder)``."""
        with self._lock:
            self._holders.add(id(holder))

    def close(self, holder=None):
        """Kill what is left in the submission's cgroups and remove them, and the filtered package.

        ``close(holder)``: that holder is done; the rest waits for the last holder (the kernel and the
        worker share the groups, and one finishing must not kill the other). ``close()``: now.
        """
        with self._lock:
            if holder is not None:
                self._holders.discard(id(holder))
                if self._holders:
                    return
            self._close()

    def _close(self):
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
        except OSError:
            return None
        if base.name == "cgroup":  # cgroup v2: the same group limits memory, where the controller is on
            try:
                (group / "memory.max").write_text(str(_memory_limit_v2_bytes))
                (group / "memory.swap.max").write_text("0")
            except OSError:
                pass
        return group
    return None


_memory_limit_v2_bytes = 4 * 1024**3


def _own_cgroup(controller) -> str:
    """This process's cgroup (v1) for ``controller``, e.g. ``/`` or ``/machine/abc``."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path
    except (OSError, ValueError):
        pass
    return "/"


def _memory_cgroup(limit) -> Path | None:
    """A fresh memory cgroup (v1) under this process's own, limited to ``limit`` bytes of memory and
    swap together (tmpfs pages written inside count); on cgroup v2 the pids group carries the limit."""
    global _memory_limit_v2_bytes
    _memory_limit_v2_bytes = limit
    mount = Path("/sys/fs/cgroup/memory")
    if not (mount / "cgroup.procs").exists():
        return None
    base = mount / _own_cgroup("memory").lstrip("/")
    if not os.access(base, os.W_OK):
        return None
    group = base / f"autograder-mem-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(limit))
    except OSError:
        _remove_cgroup(group)
        return None
    try:
        (group / "memory.memsw.limit_in_bytes").write_text(str(limit))
    except OSError:
        pass  # no swap accounting: the limit holds for memory alone
    return group


def remove_scratch(root: Path):
    shutil.rmtree(root, ignore_errors=True)


def cleanup_cgroups(min_age=120.0):
    """Remove empty cgroups this module made that are older than ``min_age`` seconds (left behind by
    killed sandboxes; a younger one may belong to a sandbox another grading process is starting)."""
    import time

    memory = Path("/sys/fs/cgroup/memory") / _own_cgroup("memory").lstrip("/")
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"), memory):
        for group in base.glob("autograder-*"):
            try:
                if time.time() - group.stat().st_mtime > min_age:
                    group.rmdir()
            except OSError:
                pass
