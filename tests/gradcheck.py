"""Centred finite differences and the relative error, shared by the tests of the reference implementations."""

import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """Gradient of the scalar ``f()`` with respect to the array ``x`` (perturbed in place, restored)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)), as rnnkit.checks, but the shapes must agree exactly."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b)))
