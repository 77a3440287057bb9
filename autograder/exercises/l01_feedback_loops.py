"""Lesson 01 — feedback loops: hidden tests and planted bugs."""

import numpy as np

from autograder import reference as ref
from autograder.checking import Case, Exercise, returns
from autograder.reference import feedback_loop

REF = {
    name: getattr(ref, name)
    for name in ["feedback_loop", "unroll", "impulse_response", "sensitivity", "fit_loop"]
}


def _loop_cases(rng):
    cases = []
    for T, h0 in [(1, 0.0), (7, 0.0), (25, 1.7)]:
        a, b = rng.uniform(-0.95, 0.95), rng.uniform(0.2, 2.0)
        x = rng.normal(size=T)
        cases.append(Case(f"T={T}, a={a:.2f}, b={b:.2f}, h0={h0}", (x, a, b, h0)))
    return cases


ex_feedback_loop = Exercise(
    "l01_e1_feedback_loop", ("feedback_loop",), returns("h"), _loop_cases, REF
)


@ex_feedback_loop.bug("h[t] should use x[t] itself, not only the inputs before it")
def loop_uses_previous_input(x, a, b, h0=0.0):
    h, state, prev = np.empty(len(x)), h0, 0.0
    for t in range(len(x)):
        state = a * state + b * prev
        prev = x[t]
        h[t] = state
    return h


@ex_feedback_loop.bug("the start value h0 is ignored (the loop must start from h0)")
def loop_ignores_h0(x, a, b, h0=0.0):
    h, state = np.empty(len(x)), 0.0
    for t in range(len(x)):
        state = a * state + b * x[t]
        h[t] = state
    return h


@ex_feedback_loop.bug("a and b are swapped: the state is multiplied by a, the input by b")
def loop_swaps_a_b(x, a, b, h0=0.0):
    h, state = np.empty(len(x)), h0
    for t in range(len(x)):
        state = b * state + a * x[t]
        h[t] = state
    return h


def _matrix_cases(rng):
    return [
        Case(f"T={T}, a={a:.2f}, b={b:.2f}", (a, b, T))
        for T in (1, 4, 9)
        for a, b in [(rng.uniform(-0.9, 0.9), rng.uniform(0.5, 2))]
    ]


ex_unroll = Exercise("l01_e2_unroll", ("unroll",), returns("M"), _matrix_cases, REF)


@ex_unroll.bug("M is transposed: row t must hold the weights of x[0..t] for h[t] (lower triangular)")
def unroll_transposed(a, b, T):
    t = np.arange(T)
    lag = t[None, :] - t[:, None]
    return np.where(lag >= 0, b * float(a) ** np.maximum(lag, 0), 0.0)


@ex_unroll.bug("the powers of a are off by one: x[t] reaches h[t] with weight b·a⁰ = b")
def unroll_off_by_one(a, b, T):
    t = np.arange(T)
    lag = t[:, None] - t[None, :]
    return np.where(lag >= 0, b * float(a) ** (np.maximum(lag, 0) + 1), 0.0)


@ex_unroll.bug("the future leaks in: entries above the diagonal must be zero (h[t] cannot see x[s], s > t)")
def unroll_not_causal(a, b, T):
    t = np.arange(T)
    lag = np.abs(t[:, None] - t[None, :])
    return b * float(a) ** lag


@ex_unroll.bug("b is missing: every entry should carry the input weight b")
def unroll_without_b(a, b, T):
    t = np.arange(T)
    lag = t[:, None] - t[None, :]
    return np.where(lag >= 0, float(a) ** np.maximum(lag, 0), 0.0)


@ex_unroll.bug("the diagonal is missing: x[t] enters h[t] at once, so M[t, t] = b")
def unroll_strictly_lower(a, b, T):
    t = np.arange(T)
    lag = t[:, None] - t[None, :]
    return np.where(lag > 0, b * float(a) ** np.maximum(lag - 1, 0), 0.0)


ex_impulse_response = Exercise(
    "l01_e3_impulse_response", ("impulse_response",), returns("h"), _matrix_cases, REF
)


@ex_impulse_response.bug("the response starts one step late: the impulse is the first input, x[0], so h[0] = b")
def impulse_delayed(a, b, T):
    return np.concatenate([[0.0], b * float(a) ** np.arange(T - 1)])[:T]


@ex_impulse_response.bug("b is missing: the impulse enters through the input weight b")
def impulse_without_b(a, b, T):
    return float(a) ** np.arange(T)


@ex_impulse_response.bug("the response decays linearly; it should decay geometrically, as a^t")
def impulse_linear(a, b, T):
    return b * (1 - (1 - a) * np.arange(T))


def _sensitivity_cases(rng):
    return [Case(f"a={a:.2f}, T={T}", (a, T)) for T, a in [(1, 0.5), (6, rng.uniform(-1.5, -0.2)),
                                                            (30, rng.uniform(0.5, 1.3))]]


ex_sensitivity = Exercise(
    "l01_e4_sensitivity", ("sensitivity",), returns("s"), _sensitivity_cases, REF
)


@ex_sensitivity.bug("the exponent is off by one: ∂h[T-1]/∂h[T-1] = 1, so s[T-1] = a⁰")
def sensitivity_off_by_one(a, T):
    return float(a) ** np.arange(T, 0, -1)


@ex_sensitivity.bug("s is reversed: s[t] belongs to the lag T-1-t, so the last entry is 1")
def sensitivity_reversed(a, T):
    return float(a) ** np.arange(T)


@ex_sensitivity.bug("the sensitivity was taken as |a|^k; the sign of a matters (negative a alternates)")
def sensitivity_abs(a, T):
    return abs(float(a)) ** np.arange(T - 1, -1, -1)


def _fit_cases(rng):
    cases = []
    for T in (40, 120):
        a_true, b_true = rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.7)
        x = np.cumsum(rng.normal(size=T)) * 0.3 + 5 + rng.normal(size=T)
        grid = np.linspace(-0.95, 0.95, 39)
        cases.append(Case(f"T={T}, {len(grid)} values of a (true a≈{a_true:.2f}, b≈{b_true:.2f})",
                          (x, grid)))
    return cases


ex_fit_loop = Exercise("l01_e5_fit_loop", ("fit_loop",), returns("a", "b", "mse"), _fit_cases, REF)


@ex_fit_loop.bug("the forecast of x[t+1] must be h[t], the state after x[t]; this compares h[t] with x[t]")
def fit_same_step(x, a_grid):
    best = None
    for a in a_grid:
        g = feedback_loop(x, a, 1.0)
        b = float(g @ x / (g @ g))
        mse = float(np.mean((b * g - x) ** 2))
        if best is None or mse < best[2]:
            best = (float(a), b, mse)
    return best


@ex_fit_loop.bug("b was fixed to 1 - a (exponential smoothing) instead of fitted by least squares")
def fit_smoothing_only(x, a_grid):
    best = None
    for a in a_grid:
        b = 1.0 - float(a)
        g = feedback_loop(x[:-1], a, b)
        mse = float(np.mean((g - x[1:]) ** 2))
        if best is None or mse < best[2]:
            best = (float(a), b, mse)
    return best


@ex_fit_loop.bug("the returned error is the root mean squared error; return the mean squared error")
def fit_returns_rmse(x, a_grid):
    best = None
    for a in a_grid:
        g = feedback_loop(x[:-1], a, 1.0)
        b = float(g @ x[1:] / (g @ g))
        rmse = float(np.sqrt(np.mean((b * g - x[1:]) ** 2)))
        if best is None or rmse < best[2]:
            best = (float(a), b, rmse)
    return best


@ex_fit_loop.bug("the largest error was kept: pick the a with the smallest mean squared error")
def fit_picks_worst(x, a_grid):
    best = None
    for a in a_grid:
        g = feedback_loop(x[:-1], a, 1.0)
        b = float(g @ x[1:] / (g @ g))
        mse = float(np.mean((b * g - x[1:]) ** 2))
        if best is None or mse > best[2]:
            best = (float(a), b, mse)
    return best


EXERCISES = [ex_feedback_loop, ex_unroll, ex_impulse_response, ex_sensitivity, ex_fit_loop]
