"""Centred finite differences, shared by the tests of the reference implementations."""

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
