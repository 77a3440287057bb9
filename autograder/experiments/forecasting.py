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
(T = 24, standardised with statistics up to 1990), either one step ahead and fed their own forecasts
(recursive) or with a readout that outputs the next ``horizon`` changes at once (direct). Each seed
is trained on targets up to 1990 with early stopping on 1991-1995, which chooses the number of
epochs, then trained again from the same initial weights on every target up to December 1995 for
that many epochs (rnnkit.forecast.co2_fit): networks and baselines are fitted on the same data. The
GRUs of seed 0 also store their 24-month forecasts from the origin lesson 07 draws ("co2-origin").
"""

from __future__ import annotations

import functools
import time
import warnings

import numpy as np

from autograder import forecast as fc
from autograder.reference import make_windows, recursive_forecast, standardize
from autograder.reference.forecasting import nmse, weigend_split
from autograder.train import layer
from rnnkit import forecast as protocol
from rnnkit.forecast import (  # noqa: F401 - the protocol, shared with lesson 07
    CO2_EXAMPLE_ORIGIN,
    CO2_T,
    CO2_TRAIN,
    MODELS,
    SPLITS,
    SUN_FOLDS,
    SUN_GRID,
    SUN_T,
    SUN_TRAIN,
    co2_origins,
    co2_score,
)

NAME = "forecasting"


def run(quick=False):
    yield from sunspots(quick)
    yield from co2(quick)


# -------------------------------------------------------------------------------------- sunspots

def sunspot_data(T=SUN_T):
    """The protocol's sunspot data (rnnkit.forecast.sunspot_data) prepared with the references."""
    return protocol.sunspot_data(weigend_split, make_windows, standardize, T)


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
    return protocol.sunspot_predict(d, layer(model), params, idx)


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
    return protocol.co2_data(standardize, T)


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
    return protocol.co2_windows(d, horizon, make_windows)


def co2_recursive(d, model, params, origins, horizon):
    return protocol.co2_recursive(d, layer(model), params, origins, horizon, recursive_forecast)


def co2_direct(d, model, params, origins):
    return protocol.co2_direct(d, layer(model), params, origins)


def co2(quick=False):
    d = co2_data()
    horizons = (12,) if quick else (12, 24)
    yield from co2_baselines(d, horizons)
    seeds = (0,) if quick else (0, 1, 2, 3, 4)
    settings = {**CO2_TRAIN, "epochs": 5} if quick else CO2_TRAIN
    models = ("gru",) if quick else MODELS
    for model in models:
        train_fn = functools.partial(fc.fit, model)
        for seed in seeds:
            start = time.perf_counter()
            one = protocol.co2_fit(train_fn, d, 1, make_windows, seed=seed, settings=settings)
            seconds = time.perf_counter() - start
            for horizon in horizons:
                origins = co2_origins(d, horizon)
                rmse, by_step = co2_score(d, co2_recursive(d, model, one["params"], origins, horizon), origins,
                                          horizon)
                yield {"experiment": "co2", "model": model, "strategy": "recursive", "horizon": horizon,
                       "seed": seed, "rmse": rmse, "rmse_by_step": by_step, "params": one["n_params"],
                       "epochs": one["epochs_run"], "seconds": round(seconds, 2)}
            if (model, seed) == ("gru", 0):
                yield co2_example(d, "recursive", co2_recursive(d, model, one["params"], [co2_example_origin(d)], 24))
            for horizon in horizons:
                start = time.perf_counter()
                run = protocol.co2_fit(train_fn, d, horizon, make_windows, seed=seed, settings=settings)
                seconds = time.perf_counter() - start
                origins = co2_origins(d, horizon)
                rmse, by_step = co2_score(d, co2_direct(d, model, run["params"], origins), origins, horizon)
                yield {"experiment": "co2", "model": model, "strategy": "direct", "horizon": horizon,
                       "seed": seed, "rmse": rmse, "rmse_by_step": by_step, "params": run["n_params"],
                       "epochs": run["epochs_run"], "seconds": round(seconds, 2)}
                if (model, seed, horizon) == ("gru", 0, 24):
                    yield co2_example(d, "direct", co2_direct(d, model, run["params"], [co2_example_origin(d)]))


def co2_example_origin(d):
    """Index (into level) of the origin lesson 07 draws, December 1997."""
    return int(np.sum(d["months"] <= CO2_EXAMPLE_ORIGIN)) - 1


def co2_example(d, strategy, forecast):
    """The GRU (seed 0) level forecasts from the drawn origin, which the lesson shows without training."""
    return {"experiment": "co2-origin", "model": "gru", "strategy": strategy, "seed": 0,
            "origin": str(CO2_EXAMPLE_ORIGIN)[:7], "horizon": len(forecast[0]),
            "forecast": [round(float(v), 4) for v in forecast[0]]}
