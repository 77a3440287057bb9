"""Reference for lesson 07: the sunspot benchmark split, NMSE, seasonal naive, recursive forecasts."""

import numpy as np

__all__ = ["weigend_split", "nmse", "seasonal_naive", "recursive_forecast"]

FIT, TEST1, TEST2 = (1700, 1920), (1921, 1955), (1956, 1979)


def weigend_split(years, T):
    """Target indices of Weigend et al.'s (1990) sunspot split, for windows of T past years.

    years: (n,) consecutive integer years of the series. A one-step-ahead example with target
    index i reads series[i-T:i], so it exists only for i >= T. Returns three int arrays of target
    indices: fit (target year in 1700-1920), test1 (1921-1955) and test2 (1956-1979), all with
    i >= T. Inputs of the first test examples come from the fit period; that is allowed.
    """
    years = np.asarray(years)
    index = np.arange(len(years))

    def part(first, last):
        return index[(years >= first) & (years <= last) & (index >= T)]

    return part(*FIT), part(*TEST1), part(*TEST2)


def nmse(y_true, y_pred, reference):
    """Normalised MSE: mean((y_true - y_pred)²) / var(reference) (population variance, ddof=0).

    For the sunspot benchmark ``reference`` is the whole 1700-1979 record, so that the scores of
    the two test periods are on one scale (1 = as good as predicting the long-run mean).
    """
    err = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(err**2) / np.var(np.asarray(reference, dtype=np.float64)))


def seasonal_naive(history, season, horizon):
    """Forecast h = 1..horizon steps after ``history`` by the value one season earlier.

    f[h-1] = history[n - season + ((h-1) mod season)]: the last observed season, repeated.
    """
    history = np.asarray(history, dtype=np.float64)
    last_season = history[len(history) - season:]
    return np.array([last_season[h % season] for h in range(horizon)])


def recursive_forecast(step_fn, history, horizon, T):
    """Forecast ``horizon`` steps by feeding a one-step model its own forecasts.

    step_fn maps a window (T,) of the most recent values to the next value (a float). The first
    window is history[-T:]; after each step the forecast is appended and the window slides by one.
    Returns (horizon,).
    """
    window = list(np.asarray(history, dtype=np.float64)[-T:])
    out = []
    for _ in range(horizon):
        y = float(step_fn(np.array(window[-T:])))
        out.append(y)
        window.append(y)
    return np.array(out)
