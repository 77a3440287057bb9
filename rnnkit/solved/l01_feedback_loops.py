"""Lesson 01 — Feedback loops: the one-line recurrent network

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/01_feedback_loops by `make build`; do not edit."""

import numpy as np


def feedback_loop(x, a, b, h0=0.0):
    """Run the scalar feedback loop h_t = a * h_{t-1} + b * x_t over a series.

    x: (T,) the input series; a, b: floats; h0: the initial state h_0, before the first input.
    Returns h: (T,) float array; h[t] is the state right after x[t] has entered.
    Hint: keep the current state in one variable and update it inside a for loop over t.
    """
    h = np.zeros(len(x))
    state = h0
    for t in range(len(x)):
        state = a * state + b * x[t]  # keep a fraction a of the past, add b times the new input
        h[t] = state
    return h


def unroll(a, b, T):
    """The loop h_t = a * h_{t-1} + b * x_t (h0 = 0) as one matrix: h = M @ x.

    a, b: floats; T: number of time steps.
    Returns M: (T, T) lower-triangular, M[t, s] = b * a**(t - s) for s <= t, 0 for s > t.
    Hint: row t holds the weights with which x[0], ..., x[t] reach h[t]; two nested loops
    (or np.arange and broadcasting for the lag t - s) will do.
    """
    M = np.zeros((T, T))
    for t in range(T):
        for s in range(t + 1):  # only the past and the present: s <= t
            M[t, s] = b * a ** (t - s)
    return M


def impulse_response(a, b, T):
    """States of the loop h_t = a * h_{t-1} + b * x_t for x = (1, 0, ..., 0) and h0 = 0.

    a, b: floats; T: number of steps.
    Returns h: (T,) with h[t] = b * a**t (h[t-1] holds h_t = b * a**(t-1)).
    Hint: np.arange(T) gives the exponents 0, 1, ..., T-1.
    """
    return b * float(a) ** np.arange(T)


def sensitivity(a, T):
    """s_t = d h_T / d h_t, t = 1, ..., T, for the loop h_t = a * h_{t-1} + b * x_t.

    a: float; T: number of time steps.
    Returns s: (T,) with s[t-1] = s_t = a**(T-t): s[T-1] = 1 and s[t] = a * s[t+1].
    Hint: fill s from the end, with range(T - 2, -1, -1).
    """
    s = np.zeros(T)
    s[T - 1] = 1.0  # d h[T-1] / d h[T-1]
    for t in range(T - 2, -1, -1):
        s[t] = a * s[t + 1]  # chain rule: d h[T-1]/d h[t] = d h[T-1]/d h[t+1] * d h[t+1]/d h[t]
    return s


def fit_loop(x, a_grid):
    """Fit the one-step forecaster x_hat[t+1] = h[t] (loop from h0 = 0) by least squares.

    x: (T,) the series; a_grid: 1-D sequence of candidate values of a.
    Returns (a, b, mse), floats: the a of a_grid with the smallest one-step mean squared
    error, its best b, and that error.
    Hint: you may call your feedback_loop from Exercise 1 with b = 1 to get g;
    the best b for a given a is g @ y / (g @ g).
    """
    x = np.asarray(x, dtype=np.float64)
    y = x[1:]  # the targets: next year's value
    best_a, best_b, best_mse = None, None, np.inf
    for a in a_grid:
        g = feedback_loop(x[:-1], a, 1.0)  # the state for b = 1; for any b it is b * g
        b = (g @ y) / (g @ g)  # least squares in closed form
        mse = np.mean((b * g - y) ** 2)
        if mse < best_mse:
            best_a, best_b, best_mse = float(a), float(b), float(mse)
    return best_a, best_b, best_mse
