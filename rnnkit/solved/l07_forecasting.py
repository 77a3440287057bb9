"""Lesson 07 — Forecasting real series: baselines first

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/07_forecasting by `make build`; do not edit."""

import numpy as np


def weigend_split(years, T):
    """Target indices of the sunspot benchmark for one-step forecasts from windows of T years.

    years: (n,) consecutive integer years of the series.  T: window length.
    Returns fit, test1, test2: int arrays of indices i >= T whose year is in 1700-1920,
    1921-1955 and 1956-1979 (inclusive).
    Hint: np.flatnonzero of a boolean mask, or np.arange(n)[mask].
    """
    years = np.asarray(years)
    index = np.arange(len(years))
    has_window = index >= T                        # T earlier values are needed as input

    def targets(first, last):
        return index[(years >= first) & (years <= last) & has_window]

    return targets(1700, 1920), targets(1921, 1955), targets(1956, 1979)


def nmse(y_true, y_pred, reference):
    """Normalised mean squared error.

    y_true, y_pred: (N,) targets and forecasts.  reference: (M,) the series whose variance
    normalises (for the sunspot benchmark: all values 1700-1979).
    Returns a float: mean((y_true - y_pred)**2) / var(reference), population variance.
    """
    squared_errors = (np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) ** 2
    return float(np.mean(squared_errors) / np.var(reference))


def seasonal_naive(history, season, horizon):
    """Seasonal naive forecast: repeat the last observed season.

    history: (n,) observed values, n >= season.  season: period (12 for monthly data).
    horizon: number of steps to forecast.
    Returns (horizon,): step h = 1..horizon gets history[n - season + (h - 1) % season].
    """
    history = np.asarray(history, dtype=float)
    last_season = history[len(history) - season:]          # the most recent full season
    return np.array([last_season[(h - 1) % season] for h in range(1, horizon + 1)])


def recursive_forecast(step_fn, history, horizon, T):
    """Multi-step forecast by feeding a one-step model its own forecasts.

    step_fn: callable, step_fn(window (T,)) -> float, the next value after the window.
    history: (n,) observed values, n >= T.  horizon: steps to forecast.  T: window length.
    Returns (horizon,) forecasts.
    Hint: keep a list of values; after each step append the forecast and pass the last T values.
    """
    values = list(np.asarray(history, dtype=float)[-T:])
    forecasts = []
    for _ in range(horizon):
        next_value = float(step_fn(np.array(values[-T:])))   # the T most recent values, oldest first
        forecasts.append(next_value)
        values.append(next_value)                            # the forecast becomes an input
    return np.array(forecasts)
