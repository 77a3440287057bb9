"""Lesson 07's experiments: sunspots (Weigend et al. 1990 split) and Mauna Loa CO2, baselines first.

Sunspots, one step ahead, NMSE = MSE / variance of 1700-1979 on the test periods 1921-1955 and
1956-1979. Baselines: persistence, AR(2), AR(9) (statsmodels AutoReg fitted on 1700-1920).
Networks (rnn, lstm, gru; window of T = 12 years, standardised with 1700-1920 statistics):
hyperparameters (H, learning rate) and the number of epochs are chosen by rolling-origin
validation inside the fit period (folds with targets 1800-1839, 1840-1879, 1880-1920, each trained
on all earlier years, early stopping on the fold); then every seed is refitted on 1700-1920 for
the median best epoch count. The test years are never used for a choice.

CO2, monthly means, multi-step forecasts from every origin December 1995 .. (end - horizon):
RMSE (ppm) over all forecast steps and by step. Baselines (statsmodels): persistence
(ARIMA(0,1,0)), seasonal naive (SARIMA(0,0,0)(0,1,0)12), SARIMA(1,1,1)(0,1,1)12 and additive
Holt-Winters, parameters fitted on the data up to December 1995. Networks model the monthly change
(T = 24, standardised with statistics up to 1990, trained on targets up to 1990, early stopping on
1991-1995), either one step ahead and fed their own forecasts (recursive) or with a readout that
outputs the next ``horizon`` changes at once (direct).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from autograder import forecast as fc
from autograder.reference.forecasting import nmse, weigend_split

NAME = "forecasting"
MODELS = ("rnn", "lstm", "gru")

SUN_T = 12
SUN_FOLDS = ((1800, 1839), (1840, 1879), (1880, 1920))
SUN_GRID = [(H, lr) for H in (8, 16) for lr in (3e-3, 1e-2)]
SUN_TRAIN = {"epochs": 200, "patience": 30, "batch": 16}
SPLITS = {"1921-1955": 1, "1956-1979": 2}

CO2_T = 24
CO2_TRAIN = {"H": 16, "lr": 1e-2, "epochs": 100, "patience": 15, "batch": 32}


def run(quick=False):
    yield from sunspots(quick)
    yield from co2(quick)


# -------------------------------------------------------------------------------------- sunspots

def sunspot_data(T=SUN_T):
    """Everything the sunspot experiments share: series, scaling, windows, split indices."""
    years, values = fc.load_sunspots()
    fit_idx, test1, test2 = weigend_split(years, T)
    n_fit = int(np.sum(years <= 1920))
    z, mean, std = fc.standardize(values, n_fit)
    X, y = fc.make_windows(z, T)  # window i has target index i + T
    return {"years": years, "values": values, "mean": mean, "std": std, "X": X, "y": y, "T": T,
            "fit": fit_idx, "test": {"1921-1955": test1, "1956-1979": test2},
            "variance_ref": values[(years >= 1700) & (years <= 1979)]}


def sunspot_baselines(d):
    """One-step NMSE of persistence, AR(2) and AR(9) (AutoReg fitted on 1700-1920) on both test periods."""
    from statsmodels.tsa.ar_model import AutoReg

    years, values = d["years"], d["values"]
    fit_values = values[years <= 1920]
    rows = []
    for name, lags in (("persistence", 0), ("ar2", 2), ("ar9", 9)):
        if lags:
            params = AutoReg(fit_values, lags=lags, trend="c").fit().params
            pred = lambda i, p=params, k=lags: p[0] + p[1:] @ values[i - k:i][::-1]  # noqa: E731
        else:
            pred = lambda i: values[i - 1]  # noqa: E731
        for split, idx in d["test"].items():
            forecast = np.array([pred(i) for i in idx])
            rows.append({"experiment": "sunspots", "model": name, "split": split,
                         "nmse": round(nmse(values[idx], forecast, d["variance_ref"]), 4)})
    return rows


def sunspot_predict(d, model, params, idx):
    """Forecasts (original units) for target indices idx."""
    return fc.predict(model, params, d["X"][idx - d["T"]]) * d["std"] + d["mean"]


def sunspot_select(d, model, grid, seeds, folds, train):
    """Rolling-origin validation: mean NMSE over folds and seeds for each (H, lr); best epochs."""
    years, X, y, T = d["years"], d["X"], d["y"], d["T"]
    target_years = years[T:]
    rows = []
    for H, lr in grid:
        scores, epochs = [], []
        for first, last in folds:
            tr = target_years < first
            va = (target_years >= first) & (target_years <= last)
            for seed in seeds:
                run = fc.fit(model, X[tr], y[tr], X[va], y[va], H=H, lr=lr, seed=seed, **train)
                idx = np.flatnonzero(va) + T
                scores.append(nmse(d["values"][idx], sunspot_predict(d, model, run["params"], idx),
                                   d["variance_ref"]))
                epochs.append(run["best_epoch"] + 1)
        rows.append({"experiment": "sunspots-selection", "model": model, "H": H, "lr": lr,
                     "cv_nmse": round(float(np.mean(scores)), 4), "epochs": int(np.median(epochs))})
    return rows


def sunspots(quick=False):
    d = sunspot_data()
    yield from sunspot_baselines(d)
    grid = SUN_GRID[:1] if quick else SUN_GRID
    folds = SUN_FOLDS[-1:] if quick else SUN_FOLDS
    sel_seeds = (0,) if quick else (0, 1)
    seeds = (0,) if quick else (0, 1, 2, 3, 4)
    train = {**SUN_TRAIN, "epochs": 20} if quick else SUN_TRAIN
    for model in MODELS:
        selection = sunspot_select(d, model, grid, sel_seeds, folds, train)
        yield from selection
        best = min(selection, key=lambda r: r["cv_nmse"])
        fit_rows = d["fit"] - d["T"]
        preds = {split: [] for split in SPLITS}
        for seed in seeds:
            start = time.perf_counter()
            run = fc.fit(model, d["X"][fit_rows], d["y"][fit_rows], H=best["H"], lr=best["lr"], seed=seed,
                         epochs=best["epochs"], batch=train["batch"])
            seconds = time.perf_counter() - start
            for split, idx in d["test"].items():
                forecast = sunspot_predict(d, model, run["params"], idx)
                preds[split].append(forecast)
                yield {"experiment": "sunspots", "model": model, "seed": seed, "split": split,
                       "nmse": round(nmse(d["values"][idx], forecast, d["variance_ref"]), 4),
                       "H": best["H"], "lr": best["lr"], "epochs": best["epochs"],
                       "params": run["n_params"], "seconds": round(seconds, 2)}
        for split, idx in d["test"].items():
            ensemble = np.mean(preds[split], axis=0)
            yield {"experiment": "sunspots", "model": f"{model}-ensemble", "seeds": len(seeds), "split": split,
                   "nmse": round(nmse(d["values"][idx], ensemble, d["variance_ref"]), 4)}


# ------------------------------------------------------------------------------------------- co2

def co2_data(T=CO2_T):
    series = fc.load_co2()
    level, months = series.to_numpy(), series.index.to_numpy()
    change = np.diff(level)
    change_months = months[1:]
    train_end, val_end = np.datetime64("1990-12-01"), np.datetime64("1995-12-01")
    n_train = int(np.sum(change_months <= train_end))
    z, mean, std = fc.standardize(change, n_train)
    origins = int(np.sum(months <= val_end)) - 1  # index of December 1995, the first forecast origin
    return {"level": level, "months": months, "change": change, "z": z, "mean": mean, "std": std, "T": T,
            "change_months": change_months, "train_end": train_end, "val_end": val_end,
            "first_origin": origins, "n_fit": origins + 1}


def co2_origins(d, horizon):
    """Forecast origins o (index into level): December 1995 up to the last with o + horizon in the data."""
    return np.arange(d["first_origin"], len(d["level"]) - horizon)


def co2_score(d, forecasts, origins, horizon):
    """RMSE over all (origin, step) pairs and by step; forecasts (n_origins, horizon) of the level."""
    truth = np.stack([d["level"][o + 1:o + 1 + horizon] for o in origins])
    err = truth - forecasts
    return round(float(np.sqrt(np.mean(err**2))), 4), [round(float(v), 4) for v in np.sqrt(np.mean(err**2, 0))]


def co2_baselines(d, horizons):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    level, n_fit = d["level"], d["n_fit"]
    specs = {"persistence": ((0, 1, 0), (0, 0, 0, 0)), "seasonal_naive": ((0, 0, 0), (0, 1, 0, 12)),
             "sarima": ((1, 1, 1), (0, 1, 1, 12))}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = {name: SARIMAX(level[:n_fit], order=o, seasonal_order=s).fit(disp=False)
                  for name, (o, s) in specs.items()}
        hw = ExponentialSmoothing(level[:n_fit], trend="add", seasonal="add", seasonal_periods=12).fit()
        smoothing = {k: hw.params[k] for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal")}
        for horizon in horizons:
            origins = co2_origins(d, horizon)
            for name, res in fitted.items():
                f = np.stack([res.apply(level[:o + 1]).forecast(horizon) for o in origins])
                rmse, by_step = co2_score(d, f, origins, horizon)
                rows.append({"experiment": "co2", "model": name, "horizon": horizon, "rmse": rmse,
                             "rmse_by_step": by_step})
            f = np.stack([ExponentialSmoothing(level[:o + 1], trend="add", seasonal="add", seasonal_periods=12)
                          .fit(**smoothing, optimized=False).forecast(horizon) for o in origins])
            rmse, by_step = co2_score(d, f, origins, horizon)
            rows.append({"experiment": "co2", "model": "holt_winters", "horizon": horizon, "rmse": rmse,
                         "rmse_by_step": by_step})
    return rows


def co2_windows(d, horizon):
    """Direct windows of the standardised change, split by the month of the first target."""
    X, Y = fc.make_direct_windows(d["z"], d["T"], horizon)
    first_target = d["change_months"][d["T"]:d["T"] + len(X)]
    last_target = d["change_months"][d["T"] + horizon - 1:d["T"] + horizon - 1 + len(X)]
    train = last_target <= d["train_end"]
    val = (first_target > d["train_end"]) & (last_target <= d["val_end"])
    return X, Y, train, val


def co2_recursive(d, model, params, origins, horizon):
    """Level forecasts from a one-step model of the change, fed its own forecasts."""
    T, z = d["T"], d["z"]
    out = []
    for o in origins:  # the change into month o is z[o - 1]; the window ends there
        steps = fc.recursive_forecast(model, params, z[o - T:o], horizon) * d["std"] + d["mean"]
        out.append(d["level"][o] + np.cumsum(steps))
    return np.stack(out)


def co2_direct(d, model, params, origins):
    T, z = d["T"], d["z"]
    X = np.stack([z[o - T:o] for o in origins])[:, :, None]
    steps = fc.predict(model, params, X) * d["std"] + d["mean"]
    return d["level"][origins][:, None] + np.cumsum(steps, axis=1)


def co2(quick=False):
    d = co2_data()
    horizons = (12,) if quick else (12, 24)
    yield from co2_baselines(d, horizons)
    seeds = (0,) if quick else (0, 1, 2, 3, 4)
    train = {**CO2_TRAIN, "epochs": 5} if quick else CO2_TRAIN
    models = ("gru",) if quick else MODELS
    X1, Y1, tr1, va1 = co2_windows(d, 1)
    for model in models:
        for seed in seeds:
            start = time.perf_counter()
            one = fc.fit(model, X1[tr1], Y1[tr1, 0], X1[va1], Y1[va1, 0], seed=seed, **train)
            seconds = time.perf_counter() - start
            for horizon in horizons:
                origins = co2_origins(d, horizon)
                rmse, by_step = co2_score(d, co2_recursive(d, model, one["params"], origins, horizon), origins,
                                          horizon)
                yield {"experiment": "co2", "model": model, "strategy": "recursive", "horizon": horizon,
                       "seed": seed, "rmse": rmse, "rmse_by_step": by_step, "params": one["n_params"],
                       "epochs": one["best_epoch"] + 1, "seconds": round(seconds, 2)}
            for horizon in horizons:
                X, Y, tr, va = co2_windows(d, horizon)
                start = time.perf_counter()
                run = fc.fit(model, X[tr], Y[tr], X[va], Y[va], seed=seed, **train)
                seconds = time.perf_counter() - start
                origins = co2_origins(d, horizon)
                rmse, by_step = co2_score(d, co2_direct(d, model, run["params"], origins), origins, horizon)
                yield {"experiment": "co2", "model": model, "strategy": "direct", "horizon": horizon,
                       "seed": seed, "rmse": rmse, "rmse_by_step": by_step, "params": run["n_params"],
                       "epochs": run["best_epoch"] + 1, "seconds": round(seconds, 2)}
