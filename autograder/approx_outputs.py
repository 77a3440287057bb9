"""Stored outputs whose digits depend on the machine's arithmetic kernels: compared with a tolerance.

numpy's OpenBLAS chooses its matrix-product kernel for the CPU at run time (Haswell, SkylakeX,
Sandybridge, ...; aarch64 has kernels of its own), and numpy's own loops choose SIMD paths the same
way. The kernels agree to the last bit or two; a training run of hundreds of steps, or a
finite-difference gradient check, turns that into different printed digits.

A code cell whose printed numbers depend on this carries the cell tag ``approx-output`` (:data:`TAG`;
learners do not see tags). nbval then compares that cell (loaded as a pytest plugin by the root
``conftest.py``) like this instead of exactly: the same outputs, the same text once every number is
masked, and every number within tolerance of the stored one,
``|now - stored| <= atol + rtol * max(|now|, |stored|)`` with :data:`RTOL` and :data:`ATOL`, or the
cell's own ``metadata["approx"] = {"rtol": ..., "atol": ...}``. Images are not compared (nbval does
not compare PNGs either). Every other cell stays compared exactly.
"""

from __future__ import annotations

import re

TAG = "approx-output"
# Measured across OpenBLAS kernels Haswell, SkylakeX, Zen and Sandybridge and numpy's SIMD paths limited
# to AVX2 or SSE4.2: a printed number of a training run moved by up to 5 %; cells whose numbers are
# rounding errors themselves (gradient checks) or runs near convergence state their own tolerance.
RTOL = 0.1
ATOL = 0.0
NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def tolerance(cell) -> dict:
    """The ``rtol`` and ``atol`` a tagged cell's numbers are compared with."""
    return {"rtol": RTOL, "atol": ATOL, **cell.get("metadata", {}).get("approx", {})}


def is_approx(cell) -> bool:
    return cell.get("cell_type") == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def output_texts(outputs) -> list[tuple[str, str]]:
    """(kind, text) per output: streams by name, results and displays by their text (images: kind only)."""
    texts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            if texts and texts[-1][0] == out.get("name"):  # consecutive writes to one stream are one text
                texts[-1] = (out.get("name"), texts[-1][1] + out.get("text", ""))
            else:
                texts.append((out.get("name"), out.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            images = any(key.startswith("image/") for key in data)
            texts.append(("image" if images else kind, "" if images else data.get("text/plain", "")))
        elif kind == "error":
            texts.append((kind, f"{out.get('ename')}: {out.get('evalue')}"))
    return texts


def numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in NUMBER.findall(text)]


def _skeleton(text: str) -> str:
    return " ".join(NUMBER.sub("#", text).split())  # a number's width may change with its value


def differences(stored: str, now: str, rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """One line per difference between two texts beyond the tolerance; empty when they agree."""
    if _skeleton(stored) != _skeleton(now):
        return [f"the text differs: stored {stored.strip()[:300]!r}, now {now.strip()[:300]!r}"]
    return [f"{s:g} is now {v:g} (allowed: {atol:g} + {rtol:g} x {max(abs(s), abs(v)):g})"
            for s, v in zip(numbers(stored), numbers(now)) if abs(v - s) > atol + rtol * max(abs(s), abs(v))]


def output_differences(stored_outputs, outputs, rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """The differences between a tagged cell's stored outputs and a new run's, beyond the tolerance."""
    stored, now = output_texts(stored_outputs), output_texts(outputs)
    if [kind for kind, _ in stored] != [kind for kind, _ in now]:
        return [f"other outputs: stored {[k for k, _ in stored]}, now {[k for k, _ in now]}"]
    return [d for (_, s), (_, n) in zip(stored, now) for d in differences(s, n, rtol, atol)]


def pytest_collection_modifyitems(items):
    """nbval's items for tagged cells compare their outputs with :func:`output_differences`."""
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or not hasattr(item, "compare_outputs") or not is_approx(cell):
            continue

        def compare(outputs, stored_outputs, item=item, cell=cell, **_):
            found = output_differences(stored_outputs, outputs, **tolerance(cell))
            item.comparison_traceback = [f"{TAG} cell, numbers compared within {tolerance(cell)}:", *found]
            return not found

        item.compare_outputs = compare


def tagged_notebooks() -> list[str]:
    """The solution notebooks (paths relative to the repository) that hold a tagged cell."""
    from autograder.course import ROOT, SOLUTIONS, lesson_ids, notebook_path, read_notebook

    paths = [notebook_path(lesson, SOLUTIONS) for lesson in lesson_ids()]
    return [str(p.relative_to(ROOT)) for p in paths if any(map(is_approx, read_notebook(p).cells))]


if __name__ == "__main__":  # CI runs these notebooks again under a second BLAS kernel
    print(" ".join(tagged_notebooks()))
