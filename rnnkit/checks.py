"""The comparison behind every visible check of the notebooks."""

from __future__ import annotations

import numpy as np

__all__ = ["rel_error"]


def rel_error(a, b) -> float:
    """max|a - b| / max(1e-8, max(|a| + |b|)): 0 for equal arrays, ~1 for unrelated ones."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))
