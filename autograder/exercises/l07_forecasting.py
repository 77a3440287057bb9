"""Lesson 07 — forecasting real series: hidden tests and planted bugs."""

import numpy as np

from autograder.checking import Case, Exercise, returns
from autograder.reference.forecasting import nmse, recursive_forecast, seasonal_naive, weigend_split

REF = {"weigend_split": weigend_split, "nmse": nmse, "seasonal_naive": seasonal_naive,
       "recursive_forecast": recursive_forecast}


# ------------------------------------------------------------------------------ 1. weigend_split

def _split_cases(rng):
    cases = []
    for start, end, T in [(1700, 2008, 12), (1700, 1979, 1), (1690, 1990, 9), (1700, 1985, 30)]:
        cases.append(Case(f"years {start}-{end}, T={T}", (np.arange(start, end + 1), T)))
    return cases


ex_weigend_split = Exercise(
    "l07_e1_weigend_split", ("weigend_split",), returns("fit", "test1", "test2"), _split_cases, REF,
)


@ex_weigend_split.bug("the first T years cannot be targets: a window needs T earlier values, so fit starts at index T")
def split_no_window_offset(years, T):
    years = np.asarray(years)
    index = np.arange(len(years))
    return (index[(years >= 1700) & (years <= 1920)], index[(years >= 1921) & (years <= 1955) & (index >= T)],
            index[(years >= 1956) & (years <= 1979) & (index >= T)])


@ex_weigend_split.bug("the year bounds are inclusive: 1920 is the last fit year, 1955 and 1979 the last test years")
def split_exclusive_bounds(years, T):
    years = np.asarray(years)
    index = np.arange(len(years))
    ok = index >= T
    return (index[(years >= 1700) & (years < 1920) & ok], index[(years >= 1921) & (years < 1955) & ok],
            index[(years >= 1956) & (years < 1979) & ok])


@ex_weigend_split.bug("the test periods were shortened by T years: a test window may read fit years, only "
                      "targets may not")
def split_windows_inside_test(years, T):
    years = np.asarray(years)
    index = np.arange(len(years))
    ok = index >= T
    return (index[(years >= 1700) & (years <= 1920) & ok], index[(years >= 1921 + T) & (years <= 1955) & ok],
            index[(years >= 1956 + T) & (years <= 1979) & ok])


@ex_weigend_split.bug("the fit period must start in 1700: the benchmark fits on 1700-1920 only")
def split_fit_from_start(years, T):
    years = np.asarray(years)
    index = np.arange(len(years))
    ok = index >= T
    return (index[(years <= 1920) & ok], index[(years >= 1921) & (years <= 1955) & ok],
            index[(years >= 1956) & (years <= 1979) & ok])


# --------------------------------------------------------------------------------------- 2. nmse

def _nmse_cases(rng):
    cases = []
    for n, m, scale in [(5, 20, 1.0), (35, 280, 40.0), (24, 280, 60.0)]:
        reference = 50 + scale * rng.normal(size=m) + 3 * scale * np.sin(np.arange(m) / 1.8)
        y_true = reference[-n:] + scale * rng.normal(size=n)  # a test period more variable than the rest
        y_pred = y_true + 0.4 * scale * rng.normal(size=n)
        cases.append(Case(f"{n} forecasts, reference of {m} values", (y_true, y_pred, reference)))
    return cases


ex_nmse = Exercise("l07_e2_nmse", ("nmse",), returns("nmse"), _nmse_cases, REF)


@ex_nmse.bug("normalised by the variance of y_true (the test period); the benchmark divides by the "
             "variance of `reference`")
def nmse_test_variance(y_true, y_pred, reference):
    return float(np.mean((y_true - y_pred) ** 2) / np.var(y_true))


@ex_nmse.bug("the variance uses ddof=1; use the population variance np.var(reference)")
def nmse_ddof1(y_true, y_pred, reference):
    return float(np.mean((y_true - y_pred) ** 2) / np.var(reference, ddof=1))


@ex_nmse.bug("divided by the standard deviation; NMSE divides the MSE by the variance")
def nmse_by_std(y_true, y_pred, reference):
    return float(np.mean((y_true - y_pred) ** 2) / np.std(reference))


@ex_nmse.bug("the errors were summed, not averaged: NMSE uses the mean squared error")
def nmse_sum(y_true, y_pred, reference):
    return float(np.sum((y_true - y_pred) ** 2) / np.var(reference))


# ----------------------------------------------------------------------------- 3. seasonal_naive

def _seasonal_cases(rng):
    cases = []
    for n, season, horizon in [(24, 12, 12), (30, 12, 24), (40, 12, 5), (20, 4, 10), (15, 7, 1)]:
        t = np.arange(n)
        history = 10 + 0.1 * t + np.sin(2 * np.pi * t / season) + 0.1 * rng.normal(size=n)
        cases.append(Case(f"history of {n}, season {season}, horizon {horizon}", (history, season, horizon)))
    return cases


ex_seasonal_naive = Exercise(
    "l07_e3_seasonal_naive", ("seasonal_naive",), returns("forecast"), _seasonal_cases, REF,
)


@ex_seasonal_naive.bug("this is persistence (the last value repeated); seasonal naive repeats the value one "
                       "season earlier")
def seasonal_persistence(history, season, horizon):
    return np.full(horizon, float(history[-1]))


@ex_seasonal_naive.bug("beyond one season the index history[-season + h] runs past the end: repeat the last "
                       "season (h mod season)")
def seasonal_no_wrap(history, season, horizon):
    history = np.asarray(history, dtype=float)
    n = len(history)
    return np.array([history[n - season + h] if n - season + h < n else history[(n - season + h) % n]
                     for h in range(horizon)])


@ex_seasonal_naive.bug("off by one: step h = 1 repeats history[n - season], the value one season before "
                       "it")
def seasonal_off_by_one(history, season, horizon):
    history = np.asarray(history, dtype=float)
    last = history[len(history) - season - 1:len(history) - 1]
    return np.array([last[h % season] for h in range(horizon)])


@ex_seasonal_naive.bug("the last season was reversed: step h repeats the same phase of the cycle, not its mirror image")
def seasonal_reversed(history, season, horizon):
    history = np.asarray(history, dtype=float)
    last = history[::-1][:season]
    return np.array([last[h % season] for h in range(horizon)])


# ------------------------------------------------------------------------- 4. recursive_forecast

class _Step:
    """A one-step model: tanh of a fixed linear map of the window (a class, so it survives deepcopy)."""

    def __init__(self, coefs, bias):
        self.coefs, self.bias = coefs, bias

    def __call__(self, window):
        window = np.asarray(window, dtype=np.float64)
        if window.shape != self.coefs.shape:
            raise ValueError(f"step_fn expects a window of shape {self.coefs.shape}, got {window.shape}")
        return float(np.tanh(self.coefs @ window + self.bias))


def _recursive_cases(rng):
    cases = []
    for n, T, horizon in [(10, 3, 1), (20, 5, 8), (40, 12, 24), (8, 8, 6)]:
        coefs = rng.normal(scale=0.6, size=T)
        cases.append(Case(f"history of {n}, T={T}, horizon {horizon}",
                          (_Step(coefs, float(rng.normal(scale=0.3))), rng.normal(size=n), horizon, T)))
    return cases


ex_recursive_forecast = Exercise(
    "l07_e4_recursive_forecast", ("recursive_forecast",), returns("forecast"), _recursive_cases, REF,
)


@ex_recursive_forecast.bug("the forecasts were not fed back: each step must see the previous forecasts in its window")
def recursive_no_feedback(step_fn, history, horizon, T):
    window = np.asarray(history, dtype=float)[-T:]
    return np.array([step_fn(window) for _ in range(horizon)])


@ex_recursive_forecast.bug("the forecast was put at the start of the window; the newest value goes last, the oldest "
                           "drops out")
def recursive_prepend(step_fn, history, horizon, T):
    window = list(np.asarray(history, dtype=float)[-T:])
    out = []
    for _ in range(horizon):
        y = float(step_fn(np.array(window)))
        out.append(y)
        window = [y] + window[:-1]
    return np.array(out)


@ex_recursive_forecast.bug("the first window must end with the last observation: history[-T:], not history[-T-1:-1]")
def recursive_stale_window(step_fn, history, horizon, T):
    history = np.asarray(history, dtype=float)
    window = list(history[len(history) - T - 1:len(history) - 1]) if len(history) > T else list(history[-T:])
    out = []
    for _ in range(horizon):
        y = float(step_fn(np.array(window[-T:])))
        out.append(y)
        window.append(y)
    return np.array(out)


EXERCISES = [ex_weigend_split, ex_nmse, ex_seasonal_naive, ex_recursive_forecast]
