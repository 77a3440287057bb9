"""Reference for lesson 01: the scalar feedback loop h_t = a·h_{t-1} + b·x_t."""

import numpy as np

__all__ = ["feedback_loop", "unroll", "impulse_response", "sensitivity", "fit_loop"]


def feedback_loop(x, a, b, h0=0.0):
    """Run the loop over a 1-D series x (T,); returns h (T,) with h[t] the state after x[t]."""
    h = np.empty(len(x))
    state = h0
    for t, xt in enumerate(x):
        state = a * state + b * xt
        h[t] = state
    return h


def unroll(a, b, T):
    """The loop as one matrix: h = M @ x for h0 = 0, with M[t, s] = b·a^(t-s) for s <= t."""
    t = np.arange(T)
    lag = t[:, None] - t[None, :]
    return np.where(lag >= 0, b * float(a) ** np.maximum(lag, 0), 0.0)


def impulse_response(a, b, T):
    """h (T,) for x = (1, 0, 0, ...) and h0 = 0: b·a^t."""
    return b * float(a) ** np.arange(T)


def sensitivity(a, T):
    """s (T,) with s[t-1] = ∂h_T/∂h_t = a^(T-t) (so s[T-1] = 1)."""
    return float(a) ** np.arange(T - 1, -1, -1)


def fit_loop(x, a_grid):
    """Fit the one-step forecaster x̂[t+1] = h[t] (h0 = 0) by least squares.

    For each a in a_grid the best b has a closed form, because h is linear in b:
    with g = feedback_loop(x[:-1], a, 1), b = <g, y> / <g, g> where y = x[1:].
    Returns (a, b, mse) for the a with the smallest one-step mean squared error.
    """
    x = np.asarray(x, dtype=np.float64)
    y = x[1:]
    best = None
    for a in a_grid:
        g = feedback_loop(x[:-1], a, 1.0)
        b = float(g @ y / (g @ g))
        mse = float(np.mean((b * g - y) ** 2))
        if best is None or mse < best[2]:
            best = (float(a), b, mse)
    return best
