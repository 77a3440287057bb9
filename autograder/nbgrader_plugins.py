"""nbgrader preprocessors that make plain ``nbgrader autograde`` and ``generate_feedback`` safe.

They are switched on in ``nbgrader_config.py``, so instructors get them with nbgrader's own
commands (and formgrader):

- :class:`SafeExecute` replaces nbgrader's Execute: the kernel runs in a bubblewrap sandbox
  (:mod:`autograder.sandbox`) on a scratch copy of the submission, hidden tests are removed from
  the test cells before the kernel sees them, per-cell timeouts, a kernel that ignores interrupts
  or dies is restarted and the earlier cells replayed, output is capped, and execution never
  raises, so a hostile submission is recorded with a score instead of being dropped;
- :class:`VerifyAnswers` decides every graded cell outside the learner's kernel
  (:mod:`autograder.verify`, its worker in the same sandbox) and replaces the cell's outputs with
  that verdict alone: whatever the kernel printed, returned or displayed cannot add a point;
- :class:`SanitizeOutputs` strips scripts and event handlers from HTML, Markdown and SVG that a
  student's code or cells produced (with ``nh3``), so autograded notebooks and feedback are safe
  to open;
- :class:`ShortTracebacks` reduces the error output of graded cells to one line in feedback;
- :class:`ReleaseAwareOverwriteCells` is nbgrader's OverwriteCells without its false alarm: a test cell
  exactly as released (hidden tests cleared) is not reported as changed, so the warning that remains
  means a student really edited a locked cell.
"""

from __future__ import annotations

import re

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer

from autograder.course import exercise_label, strip_hidden
from autograder.runner import Runner
from autograder.sandbox import SandboxUnavailable, require
from autograder.verify import CHECK_CALL, program_of, verify, verify_in_background


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _graded_code(cell):
    return _meta(cell).get("grade") and cell.cell_type == "code"


class SafeExecute(NbGraderPreprocessor):
    timeout = Integer(60, help="seconds a cell may run").tag(config=True)
    budget = Integer(900, help="seconds a notebook may run").tag(config=True)
    unsafe = Bool(False, help="run students' code without a sandbox (with the grader's rights)").tag(config=True)
    memory_mb = Integer(2048, help="address-space limit of each sandboxed process, MiB").tag(config=True)
    submission_memory_mb = Integer(4096, help="memory of one submission as a whole (its kernel, its workers and "
                                   "their in-memory folders), MiB, where a memory cgroup can be made").tag(config=True)

    def preprocess(self, nb, resources):
        cwd = resources.get("metadata", {}).get("path") or "."
        try:
            sandbox = require(self.unsafe)
        except SandboxUnavailable as exc:
            raise SystemExit(str(exc)) from None
        if sandbox is not None:
            sandbox.memory_bytes = self.memory_mb * 1024**2
            sandbox.total_memory_bytes = self.submission_memory_mb * 1024**2
            sandbox.lesson = resources.get("nbgrader", {}).get("assignment")  # its release's student package
        resources["autograder_sandbox"] = sandbox
        if sandbox is not None:  # VerifyAnswers' worker grades its own copy of the submission: start it now
            resources["autograder_verdicts"] = verify_in_background(
                nb, timeout=VerifyAnswers(config=self.config).timeout, sandbox=sandbox, cwd=cwd)
        full = {}
        for index, cell in enumerate(nb.cells):  # hidden tests never enter the student's kernel
            if _graded_code(cell) and strip_hidden(cell.source) != cell.source:
                full[index] = cell.source
                cell.source = strip_hidden(cell.source)
        try:
            runs = Runner(nb, cwd, timeout=self.timeout, budget=self.budget, sandbox=sandbox).run()
        finally:
            for index, source in full.items():
                nb.cells[index].source = source
        for index, run in runs.items():
            if run.status in ("timeout", "died", "skipped"):
                grade_id = _meta(nb.cells[index]).get("grade_id", f"cell {index}")
                self.log.warning("%s: %s", grade_id, run.evalue)
        return nb, resources


def verdict_outputs(passed, reason, label):
    if passed:
        return [nbformat.v4.new_output("stream", name="stdout",
                                       text=f"✓ {label}: passed the hidden tests (checked outside your notebook)\n")]
    return [nbformat.v4.new_output("error", ename="AssertionError", evalue=reason,
                                   traceback=[f"AssertionError: {reason}"])]


class VerifyAnswers(NbGraderPreprocessor):
    timeout = Integer(60, help="seconds one exercise may run in the verifier").tag(config=True)

    def preprocess(self, nb, resources):
        cwd = resources.get("metadata", {}).get("path") or "."
        sandbox = resources.get("autograder_sandbox")
        if sandbox is None and "autograder_sandbox" not in resources:  # run without SafeExecute
            try:
                sandbox = require(SafeExecute(config=self.config).unsafe)
            except SandboxUnavailable as exc:
                raise SystemExit(str(exc)) from None
        started = resources.pop("autograder_verdicts", None)  # SafeExecute started it beside the kernel
        if started is not None and started.program == program_of(nb):
            verdicts = started.result()
        else:
            verdicts = verify(nb, timeout=self.timeout, sandbox=sandbox, cwd=cwd)
        for cell in nb.cells:
            if not _graded_code(cell):
                continue
            gids = [m.group("gid") for m in CHECK_CALL.finditer(cell.source)]
            failed = [verdicts[g] for g in gids if g in verdicts and not verdicts[g].passed]
            if not gids or any(g not in verdicts for g in gids):
                failed = [None]
            reason = (failed[0].reason if failed and failed[0] is not None
                      else "this test cell has no hidden test the grader knows: no automatic credit")
            cell.outputs = verdict_outputs(not failed, reason, exercise_label(_meta(cell).get("grade_id")))
            notes = [verdicts[g].note for g in gids if not failed and verdicts[g].note]
            if notes:  # passed with the course's version of an earlier exercise's function: say so
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"  ({'; '.join(notes)})\n"))
            for verdict in failed:
                if verdict is not None and verdict.flagged:
                    self.log.warning("%s: %s", verdict.grade_id, verdict.reason)
        return nb, resources


# ------------------------------------------------------------------------------------ sanitising

SAFE_MIME = {"text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/gif",
             "image/svg+xml"}
IMAGE_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/gif": (b"GIF87a", b"GIF89a")}
STREAMS = ("stdout", "stderr")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
SAFE_SCHEMES = ("http", "https", "mailto", "attachment")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,100}$")  # attachment names, tags
CELL_METADATA = {"nbgrader", "tags", "deletable", "editable", "collapsed", "scrolled", "trusted"}


def clean_html(html: str) -> str:
    import nh3

    return nh3.clean(html)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


def _image(mime, value):
    """The canonical base64 of an image that decodes and starts as ``mime`` claims, else None."""
    import base64
    import binascii

    text = re.sub(r"\s+", "", _text(value))
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(IMAGE_MAGIC[mime]):
        return None
    return base64.b64encode(raw).decode("ascii")


def safe_target(target: str) -> bool:
    """True for a link or image target a browser cannot run: no scheme, or http(s), mailto, attachment."""
    import html
    import urllib.parse

    value = html.unescape(urllib.parse.unquote(html.unescape(target)))
    value = re.sub(r"[\x00-\x20\x7f\\]+", "", value).lower()
    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", value)
    if scheme is None:
        return True  # a relative target: a file, an anchor
    return scheme.group(1) in SAFE_SCHEMES


# [text](target "title"), ![alt](<target>), and reference definitions [label]: target
_INLINE_TARGET = re.compile(r"(\]\s*\(\s*)(<[^>\n]*>|[^)\n]*)")
_REFERENCE = re.compile(r"^( {0,3}\[[^\]\n]+\]:[ \t]*)(<[^>\n]*>|\S+)", re.M)
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^<>\s]*)>")


# MathJax renders the TeX of feedback in the browser: these commands make links (\\href, \\url), load code
# (\\require, \\unicode) or set HTML attributes (\\class, \\cssId, \\style, \\data, \\html).
_ACTIVE_TEX = re.compile(r"\\+(href|url|class|cssId|style|unicode|require|data|html)(?![a-zA-Z])", re.I)


def clean_latex(text: str) -> str:
    """TeX without the commands that make a link, load code or set an HTML attribute (each becomes an
    empty ``\\text{}``; its arguments stay, shown as plain maths)."""
    return _ACTIVE_TEX.sub(r"\\text{}", text)


def clean_markdown(source: str) -> str:
    """Markdown with every link or image target that could run (``javascript:``, ``vbscript:``,
    ``data:text/html``, ...) replaced by ``#``, active TeX commands removed, and any HTML cleaned."""
    def fix(match):
        target = match.group(2)
        inner = target[1:-1] if target.startswith("<") and target.endswith(">") else target
        return match.group(0) if safe_target(inner) else match.group(1) + "#"

    source = _INLINE_TARGET.sub(fix, source)
    source = _REFERENCE.sub(fix, source)
    source = _AUTOLINK.sub(lambda m: m.group(0) if safe_target(m.group(1)) else "#", source)
    source = clean_latex(source)
    if re.search(r"<[a-zA-Z!/?]", source):
        source = clean_html(source)
    return source


def plain_markdown(text) -> str:
    """``text`` (a name a student chose) shown literally in Markdown: no link, tag or emphasis."""
    text = str(text).replace("\n", " ")[:300]
    return re.sub(r"([\\`*_{}\[\]()#+!<>&|~:-])", r"\\\1", text)


def _clean_data(data):
    for mime in list(data):
        if mime not in SAFE_MIME or not isinstance(data[mime], str | list):
            del data[mime]  # javascript, widgets, anything a browser would run or we cannot check
        elif mime == "text/html":
            data[mime] = clean_latex(clean_html(_text(data[mime])))
        elif mime == "text/latex":
            data[mime] = clean_latex(_text(data[mime]))
        elif mime == "text/markdown":
            data[mime] = clean_markdown(_text(data[mime]))
        elif mime in IMAGE_MAGIC:
            image = _image(mime, data[mime])
            if image is None:
                del data[mime]
                data.setdefault("text/plain", f"[an image that is not a valid {mime} was removed by the grader]")
            else:
                data[mime] = image
        elif mime == "image/svg+xml":
            del data[mime]  # SVG can carry scripts; matplotlib's PNG is what the course shows
            data.setdefault("text/plain", "[an SVG image was removed by the grader]")
        else:
            data[mime] = _text(data[mime])


def _clean_output_metadata(meta):
    """Only numeric image sizes survive (templates write them into attributes)."""
    kept = {}
    for mime, value in (meta or {}).items():
        if mime in IMAGE_MAGIC and isinstance(value, dict):
            sizes = {k: v for k, v in value.items() if k in ("width", "height")
                     and isinstance(v, int) and not isinstance(v, bool)}
            if sizes:
                kept[mime] = sizes
    return kept


def _clean_cell_metadata(cell):
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        cell["metadata"] = {}
        return
    for key in list(meta):
        if key not in CELL_METADATA:
            del meta[key]
    grading = meta.get("nbgrader")
    if isinstance(grading, dict):  # shown by nbgrader's feedback template
        if not isinstance(grading.get("grade_id", ""), str) or not re.fullmatch(r"[a-zA-Z0-9_-]*",
                                                                                 grading.get("grade_id", "")):
            grading["grade_id"] = "invalid-grade-id"
        if "points" in grading and (not isinstance(grading["points"], int | float) or
                                    isinstance(grading["points"], bool)):
            grading["points"] = 0
    elif "nbgrader" in meta:
        del meta["nbgrader"]
    if "tags" in meta:
        meta["tags"] = [t for t in meta["tags"] if isinstance(t, str) and SAFE_NAME.match(t)] \
            if isinstance(meta["tags"], list) else []


class SanitizeOutputs(NbGraderPreprocessor):
    """No script, event handler or active content from student outputs, Markdown cells, attachments,
    stream names, image payloads or metadata a template shows."""

    def preprocess(self, nb, resources):
        for key in ("title", "authors", "widgets"):
            nb.metadata.pop(key, None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = clean_markdown(cell.source)
        _clean_cell_metadata(cell)
        outputs = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind not in OUTPUT_TYPES:
                continue
            if kind == "stream":
                if out.get("name") not in STREAMS:
                    out["name"] = "stdout"
                out["text"] = _text(out.get("text"))
            if "data" in out:
                _clean_data(out["data"])
            if "metadata" in out:
                out["metadata"] = _clean_output_metadata(out["metadata"])
            outputs.append(out)
        if "outputs" in cell:
            cell.outputs = outputs
        attachments = cell.get("attachments", {}) or {}
        for key in list(attachments):
            if not SAFE_NAME.match(key) or not isinstance(attachments[key], dict):
                del attachments[key]
                continue
            bundle = attachments[key]
            _clean_data(bundle)
            for mime in list(bundle):  # a template writes an attachment into a data: URI: valid images only
                if mime not in IMAGE_MAGIC:
                    del bundle[mime]
            if not bundle:
                del attachments[key]
        if cell.cell_type == "markdown" and "attachment:" in cell.source:
            # a reference to an attachment that is not there (or was removed) makes nbconvert fail: point it nowhere
            cell.source = re.sub(r"attachment:([^\s)\"'<>]*)",
                                 lambda m: m.group(0) if m.group(1) in attachments else "#", cell.source)
        return cell, resources


class ReleaseAwareOverwriteCells(OverwriteCells):
    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.metadata.nbgrader.get("locked"):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except Exception:  # noqa: BLE001 - nbgrader's own handling reports a missing cell
                source_cell = None
            if source_cell is not None and source_cell.locked:
                released = nbformat.v4.new_code_cell(source_cell.source, metadata={"nbgrader": {"grade": True}})
                ClearHiddenTests(config=self.config).preprocess_cell(released, {}, 0)
                if released.source == cell.source:  # untouched: restore the hidden tests silently
                    cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)


class ShortTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if _graded_code(cell):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    first = (out.get("evalue") or "").strip().splitlines()
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {first[0] if first else ''}"]
        return cell, resources
