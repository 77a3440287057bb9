"""Lesson 07's protocol: the data preparation and the multi-step forecasts of its experiments.

Sunspots, one year ahead, on Weigend et al.'s (1990) split: windows of ``SUN_T`` years standardised
with the statistics of 1700-1920. CO2 at Mauna Loa, monthly: the network models the monthly change
(windows of ``CO2_T`` months, standardised with statistics up to 1990; early stopping on 1991-1995
after training on targets up to 1990 chooses the number of epochs, and the same seed is then
trained again on every target up to December 1995 for that many epochs, the data the baselines are
fitted on), and forecasts the level from every origin December 1995, ... either recursively (a
one-step model fed its own forecasts) or directly (K outputs at once).

The exercises these steps rely on (``weigend_split``, ``make_windows``, ``standardize``,
``recursive_forecast``) are passed in by the caller, like the recurrent layer (rnnkit.train).
"""

from __future__ import annotations

import numpy as np

from rnnkit.data import load_co2, load_sunspots
from rnnkit.train import predict

__all__ = ["CO2_EXAMPLE_ORIGIN", "CO2_T", "CO2_TRAIN", "MODELS", "SPLITS", "SUN_FOLDS", "SUN_GRID", "SUN_T",
           "SUN_TRAIN", "co2_data", "co2_direct", "co2_fit", "co2_origins", "co2_recursive", "co2_score",
           "co2_windows", "make_direct_windows", "sunspot_data", "sunspot_predict"]

MODELS = ("rnn", "lstm", "gru")

SUN_T = 12
SUN_FOLDS = ((1800, 1839), (1840, 1879), (1880, 1920))  # rolling-origin validation inside 1700-1920
SUN_GRID = [(H, lr) for H in (8, 16) for lr in (3e-3, 1e-2)]
SUN_TRAIN = {"epochs": 200, "patience": 30, "batch": 16}
SPLITS = {"1921-1955": 1, "1956-1979": 2}

CO2_T = 24
CO2_TRAIN = {"H": 16, "lr": 1e-2, "epochs": 100, "patience": 15, "batch": 32}
CO2_EXAMPLE_ORIGIN = np.datetime64("1997-12-01")  # the one origin lesson 07 draws


# -------------------------------------------------------------------------------------- sunspots

def sunspot_data(weigend_split, make_windows, standardize, T=SUN_T):
    """Everything the sunspot runs share: series, scaling, windows, split indices.

    Window i of X has target index i + T; "fit" and the two "test" entries are target indices.
    """
    years, values = load_sunspots()
    fit_idx, test1, test2 = weigend_split(years, T)
    n_fit = int(np.sum(years <= 1920))
    z, mean, std = standardize(values, n_fit)
    X, y = make_windows(z, T)
    return {"years": years, "values": values, "mean": mean, "std": std, "X": X, "y": y, "T": T,
            "fit": fit_idx, "test": {"1921-1955": test1, "1956-1979": test2},
            "variance_ref": values[(years >= 1700) & (years <= 1979)]}


def sunspot_predict(d, layer, params, idx):
    """One-step forecasts (original units) for the target indices idx."""
    return predict(layer, params, d["X"][idx - d["T"]]) * d["std"] + d["mean"]


# ------------------------------------------------------------------------------------------- co2

def co2_data(standardize, T=CO2_T):
    """Monthly levels, their changes standardised with statistics up to 1990, and the split months."""
    series = load_co2()
    level, months = series.to_numpy(), series.index.to_numpy()
    change = np.diff(level)
    change_months = months[1:]
    train_end, val_end = np.datetime64("1990-12-01"), np.datetime64("1995-12-01")
    n_train = int(np.sum(change_months <= train_end))
    z, mean, std = standardize(change, n_train)
    origins = int(np.sum(months <= val_end)) - 1  # index of December 1995, the first forecast origin
    return {"level": level, "months": months, "change": change, "z": z, "mean": mean, "std": std, "T": T,
            "change_months": change_months, "train_end": train_end, "val_end": val_end,
            "first_origin": origins, "n_fit": origins + 1}


def make_direct_windows(series, T, horizon, make_windows):
    """Windows for direct multi-step forecasting: X[i] = series[i:i+T] (N, T, 1) and
    Y[i] = series[i+T:i+T+horizon] (N, horizon), N = len(series) - T - horizon + 1."""
    X, y = make_windows(series, T)  # y[i] = series[i + T]
    N = len(X) - horizon + 1
    return X[:N], np.stack([y[k:k + N] for k in range(horizon)], axis=1)


def _target_months(d, horizon, n):
    """First and last target month of each of the n direct windows."""
    T = d["T"]
    return d["change_months"][T:T + n], d["change_months"][T + horizon - 1:T + horizon - 1 + n]


def co2_windows(d, horizon, make_windows):
    """Direct windows of the standardised change and the masks of their split (by target month)."""
    X, Y = make_direct_windows(d["z"], d["T"], horizon, make_windows)
    first_target, last_target = _target_months(d, horizon, len(X))
    train = last_target <= d["train_end"]
    val = (first_target > d["train_end"]) & (last_target <= d["val_end"])
    return X, Y, train, val


def co2_fit(train_fn, d, horizon, make_windows, seed=0, progress=False, settings=None):
    """The protocol's two fits of one seed, for one-step (horizon 1) or direct (horizon K) windows.

    1. Train on the windows whose targets end by December 1990, early stopping on 1991-1995: the
       best epoch gives the number of epochs.
    2. Train the same seed again, from the same initial weights, on every window whose targets end
       by December 1995 (the data the baselines are fitted on) for that many epochs, and keep the
       last weights.
    ``train_fn(X, Y, X_val=None, Y_val=None, **settings)`` is a fit with its layer bound, e.g.
    ``functools.partial(rnnkit.train.fit, GRU, TOOLS)``; ``settings`` default to ``CO2_TRAIN``.
    Returns the second fit's dict, with ``selection`` (the first fit's dict) added.
    """
    settings = CO2_TRAIN if settings is None else settings
    X, Y, train, val = co2_windows(d, horizon, make_windows)
    if horizon == 1:
        Y = Y[:, 0]
    selection = train_fn(X[train], Y[train], X[val], Y[val], seed=seed, progress=progress, **settings)
    until_1995 = _target_months(d, horizon, len(X))[1] <= d["val_end"]
    final = train_fn(X[until_1995], Y[until_1995], seed=seed, progress=progress,
                     **{**settings, "epochs": selection["best_epoch"] + 1})
    return {**final, "selection": selection}


def co2_origins(d, horizon):
    """Forecast origins o (index into level): December 1995 up to the last with o + horizon in the data."""
    return np.arange(d["first_origin"], len(d["level"]) - horizon)


def co2_score(d, forecasts, origins, horizon):
    """RMSE over all (origin, step) pairs and by step; forecasts (n_origins, horizon) of the level."""
    truth = np.stack([d["level"][o + 1:o + 1 + horizon] for o in origins])
    err = truth - forecasts
    return round(float(np.sqrt(np.mean(err**2))), 4), [round(float(v), 4) for v in np.sqrt(np.mean(err**2, 0))]


def co2_recursive(d, layer, params, origins, horizon, recursive_forecast):
    """Level forecasts (n_origins, horizon) from a one-step model of the change, fed its own forecasts."""
    T, z = d["T"], d["z"]

    def step(window):
        return float(predict(layer, params, window[None, :, None])[0])

    out = []
    for o in origins:  # the change into month o is z[o - 1]; the window ends there
        steps = recursive_forecast(step, z[o - T:o], horizon, T) * d["std"] + d["mean"]
        out.append(d["level"][o] + np.cumsum(steps))
    return np.stack(out)


def co2_direct(d, layer, params, origins):
    """Level forecasts (n_origins, horizon) from a model whose readout outputs every step at once."""
    T, z = d["T"], d["z"]
    X = np.stack([z[o - T:o] for o in origins])[:, :, None]
    steps = predict(layer, params, X) * d["std"] + d["mean"]
    return d["level"][origins][:, None] + np.cumsum(steps, axis=1)
