"""Intake: what the grader copies out of a submission, and what it refuses.

A submission is a folder a student controls. The grader copies it with its own rights (as the
instructor, often as root) twice before a sandbox sees it: ``nbgrader collect`` from the exchange's
inbound into ``submitted/``, and ``nbgrader autograde`` from ``submitted/`` into ``autograded/``.
nbgrader copies with ``shutil``, which follows symbolic links and opens whatever a name points to,
so a link to the gradebook, to ``solutions/`` or to ``/etc/shadow`` would be copied as if the student
had written it, and a FIFO or a link to ``/dev/zero`` would block the copy.

:func:`copy_submission` copies only what the student really handed in:

- regular files and folders that lie inside the submission, walked with ``openat``-style calls
  relative to an open folder, every name opened with ``O_NOFOLLOW`` (a name swapped for a link
  after it was checked is still refused) and ``O_NONBLOCK`` (a FIFO never blocks), and checked with
  ``fstat`` to be the same regular file that was looked at;
- when the submitting account is known (the exchange used with separate Unix accounts), only files
  and folders that account owns (a hard link to someone else's file belongs to someone else);
- at most :data:`MAX_FILES` files and :data:`MAX_BYTES` bytes in all, and :data:`MAX_DEPTH` folders deep.

Everything else is *refused*: left out of the copy and reported, one line per submission in the
log (student, file, why) and in the student's feedback (:class:`IntakeReport`). A notebook that is
refused is not graded (0 points, "not gradable"), never read through the link.

``nbgrader_config.py`` puts this in nbgrader's own commands: ``c.ExchangeFactory.collect`` selects
:class:`SafeExchangeCollect`, and the autograde application is given :class:`SafeAutograde`.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 200 * 1024 * 1024  # one submission, all files together
MAX_FILES = 2000
MAX_DEPTH = 8
CHUNK = 1 << 20
NOTICE = "intake.txt"  # the note copied next to the autograded notebook when something was refused

_KIND = [(stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
         (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")]


def _kind(mode) -> str:
    for test, name in _KIND:
        if test(mode):
            return name
    return "not a regular file"


@dataclass
class Intake:
    """What one copy took (relative paths) and what it refused: (relative path, why)."""

    copied: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    bytes: int = 0

    def line(self, student: str) -> str:
        """One line for the log: student, and each refused file with why."""
        items = "; ".join(f"{path}: {why}" for path, why in self.refused)
        return f"intake refused from {student}: {items}"

    def note(self) -> str:
        """What the student reads in their feedback."""
        lines = ["Files of your submission the grader did not take (only regular files you own are taken):"]
        lines += [f"- {path}: {why}" for path, why in self.refused]
        return "\n".join(lines) + "\n"


def _owner_name(uid) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return f"uid {uid}"


def account_uid(student: str) -> int | None:
    """The uid of the Unix account named ``student``, or None where there is no such account."""
    try:
        import pwd

        return pwd.getpwnam(student).pw_uid
    except (KeyError, ImportError):
        return None


def _ignored(name, ignore) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in ignore or ())


def _open_dir(name, dir_fd=None):
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                   dir_fd=dir_fd)


def copy_submission(src, dest, *, owner_uid=None, ignore=(), skip=None, max_bytes=MAX_BYTES,
                    max_files=MAX_FILES, max_depth=MAX_DEPTH, dest_filter=None) -> Intake:
    """Copy the regular files and folders of ``src`` into ``dest`` (created); refuse the rest.

    ``owner_uid``: when set, only files and folders owned by that uid are taken. ``ignore``: name
    patterns left out silently (nbgrader's ``CourseDirectory.ignore``). ``skip(relpath, is_dir)``:
    True for names the caller copies itself (left out silently). ``src`` itself must be a folder,
    not a link: otherwise nothing is copied and the whole submission is refused.
    """
    result = Intake()
    dest = Path(dest)
    try:
        st = os.lstat(src)
    except OSError as exc:
        result.refused.append((".", f"cannot be read ({exc.strerror})"))
        return result
    if not stat.S_ISDIR(st.st_mode):
        result.refused.append((".", f"the submission is {_kind(st.st_mode)}, not a folder"))
        return result
    if owner_uid is not None and st.st_uid != owner_uid:
        result.refused.append((".", f"the submission folder belongs to {_owner_name(st.st_uid)}"))
        return result
    try:
        top = _open_dir(src)
    except OSError as exc:
        result.refused.append((".", f"cannot be opened ({exc.strerror})"))
        return result
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _copy_dir(top, dest, "", result, owner_uid, ignore, skip, max_bytes, max_files, max_depth,
                  (st.st_dev, st.st_ino))
    finally:
        os.close(top)
    return result


def _copy_dir(dfd, dest: Path, prefix, result, owner_uid, ignore, skip, max_bytes, max_files, depth, top_id):
    try:
        names = sorted(os.listdir(dfd))
    except OSError as exc:
        result.refused.append((prefix or ".", f"cannot be listed ({exc.strerror})"))
        return
    for name in names:
        rel = f"{prefix}{name}"
        if _ignored(name, ignore):
            continue
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except OSError as exc:
            result.refused.append((rel, f"cannot be read ({exc.strerror})"))
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        if skip is not None and skip(rel, is_dir):
            continue
        if not is_dir and not stat.S_ISREG(st.st_mode):
            result.refused.append((rel, f"{_kind(st.st_mode)}"))
            continue
        if owner_uid is not None and st.st_uid != owner_uid:
            result.refused.append((rel, f"belongs to {_owner_name(st.st_uid)}, not to the student"))
            continue
        if is_dir:
            if depth <= 0:
                result.refused.append((rel, "folders nested too deep"))
                continue
            try:
                sub = _open_dir(name, dir_fd=dfd)
            except OSError as exc:
                why = "a symbolic link" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else exc.strerror
                result.refused.append((rel, f"cannot be opened ({why})"))
                continue
            try:
                again = os.fstat(sub)
                if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) or (again.st_dev, again.st_ino) == top_id:
                    result.refused.append((rel, "changed while it was copied"))
                    continue
                (dest / name).mkdir(exist_ok=True)
                _copy_dir(sub, dest / name, rel + "/", result, owner_uid, ignore, skip, max_bytes, max_files,
                          depth - 1, top_id)
            finally:
                os.close(sub)
            continue
        if len(result.copied) >= max_files:
            result.refused.append((rel, f"more than {max_files} files in the submission"))
            continue
        if result.bytes + st.st_size > max_bytes:
            result.refused.append((rel, f"the submission would be over {max_bytes // 1024**2} MiB"))
            continue
        _copy_file(dfd, name, st, dest / name, rel, result, max_bytes)


def _copy_file(dfd, name, st, target: Path, rel, result, max_bytes):
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
    except OSError as exc:
        why = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        result.refused.append((rel, f"cannot be opened ({why})"))
        return
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            result.refused.append((rel, "changed while it was copied"))
            return
        left = max_bytes - result.bytes
        written = 0
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            while True:
                chunk = os.read(fd, min(CHUNK, left - written + 1))
                if not chunk:
                    break
                written += len(chunk)
                if written > left:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
        finally:
            os.close(out)
        if written > left:
            target.unlink()
            result.refused.append((rel, f"the submission would be over {max_bytes // 1024**2} MiB"))
            return
        result.copied.append(rel)
        result.bytes += written
    finally:
        os.close(fd)


def _earlier_refusals(notice: Path) -> list:
    """The refusals ``collect`` wrote into the submission's note (a regular file, as copied)."""
    if notice.is_symlink() or not notice.is_file() or notice.stat().st_size > 1 << 20:
        return []
    found = []
    for line in notice.read_text(errors="replace").splitlines()[1:]:
        if line.startswith("- ") and ": " in line:
            path, why = line[2:].split(": ", 1)
            found.append((path, why + " (at collect)"))
    return found


def submission_time(path) -> str | None:
    """When a submission collected without nbgrader's ``timestamp.txt`` was handed in: the newest
    modification time of its regular files (links are not followed; nothing is written), as
    nbgrader's timestamp text, or None for a folder without a regular file."""
    from datetime import UTC, datetime

    newest = None
    for folder, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            if name in ("timestamp.txt", NOTICE):
                continue
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
    if newest is None:
        return None
    return datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def regular_file(path) -> str | None:
    """None when ``path`` is a regular file (not a link); otherwise why it is not."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)


# ------------------------------------------------------------------------------------------ nbgrader

def _exchange_collect_class():
    from nbgrader.exchange.default.collect import ExchangeCollect

    class SafeExchangeCollect(ExchangeCollect):
        """nbgrader's collect, copying each submission with :func:`copy_submission`.

        As root, or whenever the student id names a Unix account, only that account's files are taken."""

        def do_copy(self, src, dest, log=None):
            student = os.path.basename(src).rsplit("+", 3)[0]  # as nbgrader's collect reads the name
            uid = account_uid(student)
            intake = copy_submission(src, dest, owner_uid=uid, ignore=self.coursedir.ignore,
                                     max_bytes=min(MAX_BYTES, 1000 * int(self.coursedir.max_dir_size)))
            secret = Path(dest, "submission_secret.txt")  # release_feedback needs one for every notebook's feedback
            if not secret.is_file() or secret.is_symlink():
                os.makedirs(dest, exist_ok=True)
                if os.path.lexists(secret):
                    secret.unlink()
                import secrets

                secret.write_text(secrets.token_hex(16))
                intake.refused.append(("submission_secret.txt", "missing: a new one was made, so feedback can be "
                                       "released (this submission's own fetch_feedback will not find it)"))
            if intake.refused:
                self.log.warning(intake.line(student))
                os.makedirs(dest, exist_ok=True)
                notice = Path(dest, NOTICE)
                if os.path.lexists(notice):
                    notice.unlink()
                notice.write_text(intake.note())
            if self.coursedir.groupshared:
                for dirname, _, _ in os.walk(dest):
                    try:
                        os.chmod(dirname, (os.stat(dirname).st_mode | 0o2770) & 0o2777)
                    except PermissionError:
                        pass

    return SafeExchangeCollect


def __getattr__(name):  # the nbgrader classes are built on first use, so importing intake needs no nbgrader
    if name == "SafeExchangeCollect":
        cls = _exchange_collect_class()
    elif name == "SafeAutograde":
        cls = _autograde_class()
    elif name == "IntakeReport":
        cls = _report_class()
    else:
        raise AttributeError(name)
    globals()[name] = cls
    return cls


def _autograde_class():
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde, BaseConverter, NbGraderException
    from nbgrader.utils import parse_utc

    class _SafeCopy(BaseConverter):
        """BaseConverter's copy of a submission's other files, made with :func:`copy_submission`
        (Autograde calls it through ``super(Autograde, self)``)."""

        def init_assignment(self, assignment_id, student_id):
            source = self._format_source(assignment_id, student_id)
            dest = self._format_dest(assignment_id, student_id)
            ours = {os.path.basename(n) for n in self.notebooks}

            def skip(rel, is_dir):  # notebooks are read by nbgrader once they are checked, below
                return not is_dir and rel.endswith(".ipynb")

            intake = copy_submission(source, dest, ignore=self.coursedir.ignore, skip=skip)
            intake.refused = _earlier_refusals(Path(dest, NOTICE)) + intake.refused
            for notebook in sorted(ours - {rel for rel, _ in intake.refused}):
                why = regular_file(os.path.join(source, notebook))
                if why is not None:
                    intake.refused.append((notebook, why))
            self._intake = intake

    class SafeAutograde(Autograde, _SafeCopy):
        """nbgrader's Autograde that takes only a submission's regular files, never through a link;
        a notebook that is not a regular file scores 0 as not gradable and is never opened."""

        def init_assignment(self, assignment_id, student_id):
            self._intake = Intake()
            super().init_assignment(assignment_id, student_id)
            intake = self._intake
            refused = {rel for rel, _ in intake.refused}
            if "." in refused:
                refused |= {os.path.basename(n) for n in self.notebooks}
            gone = [n for n in self.notebooks if os.path.basename(n) in refused]
            if gone:
                names = {os.path.basename(n) for n in gone}
                intake.refused = [(rel, f"{why}: not gradable, scored 0" if rel in names else why)
                                  for rel, why in intake.refused]
                intake.refused += [(name, "not gradable, scored 0") for name in sorted(names - refused)]
                self.notebooks = [n for n in self.notebooks if n not in gone]
                with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                    for notebook in gone:
                        name = os.path.splitext(os.path.basename(notebook))[0]
                        submission = gb.find_submission_notebook(name, assignment_id, student_id)
                        for grade in submission.grades:
                            grade.auto_score = 0
                            grade.needs_manual_grade = False
                        for comment in submission.comments:
                            comment.auto_comment = dict(intake.refused).get(
                                os.path.basename(notebook), "not gradable, scored 0")
                    gb.db.commit()
            if intake.refused:
                self.log.warning(intake.line(student_id))
                dest = self._format_dest(assignment_id, student_id)
                os.makedirs(dest, exist_ok=True)
                notice = Path(dest, NOTICE)
                if notice.is_symlink() or notice.exists():
                    notice.unlink()
                notice.write_text(intake.note())

        def start(self):
            # nbgrader reads timestamp.txt with open(): never through a link, never a FIFO or device
            coursedir, read = self.coursedir, self.coursedir.get_existing_timestamp

            def existing_timestamp(path):
                if not os.path.lexists(os.path.join(path, "timestamp.txt")):
                    # collected without the exchange: the notebook's own time, read, never written
                    when = submission_time(path)
                    return parse_utc(when) if when else None
                why = regular_file(os.path.join(path, "timestamp.txt"))
                if why is not None:
                    self.log.warning("%s: timestamp.txt is %s: not read", path, why)
                    return None
                return read(path)

            coursedir.get_existing_timestamp = existing_timestamp
            try:
                super().start()
            finally:
                del coursedir.get_existing_timestamp

        def init_notebooks(self):
            """nbgrader's, plus submissions whose notebook collect refused: they are graded as not gradable."""
            try:
                super().init_notebooks()
            except NbGraderException:
                self.assignments = {}
            pattern = self._format_source(self.coursedir.assignment_id, self.coursedir.student_id)
            for folder in sorted(glob.glob(pattern)):
                if folder in self.assignments or os.path.islink(folder):
                    continue
                refused = [path for path, _why in _earlier_refusals(Path(folder, NOTICE))]
                if "." in refused:  # the whole submission was refused: every notebook is not gradable
                    refused += [f"{name}.ipynb" for name in self._notebook_names()]
                for path in refused:
                    if path.endswith(".ipynb") and "/" not in path and \
                            fnmatch.fnmatch(path, self.coursedir.notebook_id + ".ipynb"):
                        found = self.assignments.setdefault(folder, [])
                        if os.path.join(folder, path) not in found:
                            found.append(os.path.join(folder, path))
            if not self.assignments:
                raise NbGraderException(f"No notebooks were matched by '{pattern}'")

        def _notebook_names(self):
            try:
                with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                    return [nb.name for nb in gb.find_assignment(self.coursedir.assignment_id).notebooks]
            except Exception:  # noqa: BLE001 - no such assignment yet: nbgrader reports it
                return []

        def init_single_notebook_resources(self, notebook_filename):
            resources = super().init_single_notebook_resources(notebook_filename)
            resources["autograder_intake"] = list(getattr(self, "_intake", Intake()).refused)
            return resources

    return SafeAutograde


def _report_class():
    import nbformat
    from nbgrader.preprocessors import NbGraderPreprocessor

    class IntakeReport(NbGraderPreprocessor):
        """A Markdown cell at the top of the autograded notebook (and so of the feedback) listing
        what intake refused, in plain text."""

        def preprocess(self, nb, resources):
            refused = resources.get("autograder_intake") or []
            if refused:
                from autograder.nbgrader_plugins import plain_markdown

                lines = ["**Files of your submission the grader did not take** "
                         "(only regular files you own are taken):", ""]
                lines += [f"- {plain_markdown(path)}: {plain_markdown(why)}" for path, why in refused]
                nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
            return nb, resources

    return IntakeReport


def install():
    """Make ``nbgrader autograde`` (and formgrader's autograde) use :class:`SafeAutograde`."""
    import nbgrader.apps.autogradeapp as app
    import nbgrader.converters as converters

    safe = __getattr__("SafeAutograde")
    app.Autograde = safe
    try:
        import nbgrader.server_extensions.formgrader.apihandlers  # noqa: F401 (uses nbgrader.apps.api)
    except Exception:  # noqa: BLE001 - formgrader is optional
        pass
    try:
        import nbgrader.apps.api as api

        api.Autograde = safe
    except (ImportError, AttributeError):
        pass
    converters.SafeAutograde = safe
