"""Quiet, honest logs for nbgrader's autograde and generate_feedback (switched on in nbgrader_config.py).

An instructor who sees the same warnings on every run learns to ignore warnings. Three that an
honest run printed are not about the run:

- SQLAlchemy's "Object of type <SubmittedAssignment> not in session, add operation ... will not
  proceed", raised inside nbgrader's ``update_or_create_submission`` (nbgrader 0.9 with SQLAlchemy 2:
  the object is added right after; the gradebook is correct). Only that message is silenced;
- "Config option `display_data_priority` not recognized by `ClearHiddenTests`" (and by every other
  nbgrader preprocessor in feedback): nbconvert's HTML exporter configures that option for every
  preprocessor, and nbgrader's base class declares it without making it configurable. It is made
  configurable (nothing reads it there);
- "Alternative text is missing on N image(s)": figures in feedback had none. :class:`AltText` gives
  each image output one, from the titles the cell's code sets, so the feedback is readable with a
  screen reader and the warning has nothing to report.
"""

from __future__ import annotations

import ast
import warnings

from nbgrader.preprocessors import NbGraderPreprocessor

IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
TITLE_CALLS = {"set_title", "suptitle", "title", "set_xlabel", "set_ylabel", "xlabel", "ylabel"}


def quiet_logs():
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)
    trait = NbGraderPreprocessor.class_traits().get("display_data_priority")
    if trait is not None:
        trait.metadata["config"] = True


def _strings(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, the fields as "…"
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values)
    return None


def describe(source: str) -> str:
    """Alternative text for a figure drawn by ``source``: its titles, then its axis labels."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    titles, labels = [], []
    for node in ast.walk(tree) if tree is not None else []:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name in TITLE_CALLS and node.args:
                text = _strings(node.args[0])
                if text and text.strip():
                    (titles if "title" in name else labels).append(" ".join(text.split()))
    if titles:
        return "Figure: " + "; ".join(dict.fromkeys(titles))[:400]
    if labels:
        return "Figure plotting " + " against ".join(dict.fromkeys(labels))[:400]
    return "Figure drawn by the code cell above"


class AltText(NbGraderPreprocessor):
    """Every image output gets alternative text (``metadata[mime]["alt"]``, which nbconvert's HTML uses)."""

    def preprocess_cell(self, cell, resources, index):
        alt = None
        for out in cell.get("outputs", []):
            for mime in IMAGE_MIMES:
                if mime in out.get("data", {}):
                    meta = out.setdefault("metadata", {}).setdefault(mime, {})
                    if not meta.get("alt"):
                        alt = alt or describe(cell.get("source", ""))
                        meta["alt"] = alt
        return cell, resources
