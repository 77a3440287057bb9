"""Training a recurrent forecaster in numpy: the toolkit of lessons 06 and 07.

A forecaster reads a window of T past values, x (N, T, 1), with a recurrent layer ("rnn", "lstm"
or "gru": the reference forward and backward passes, through :mod:`autograder.train`) and maps
its last hidden state to the next value (or the next K values) with a linear readout
``y_hat = h_last @ w_out + c_out``. :func:`fit` trains it with mini-batches, Adam
(:func:`autograder.reference.adam_step`), global-norm clipping
(:func:`autograder.reference.clip_grad_norm`), optional truncated BPTT and early stopping on a
validation set, with fixed seeds; a tqdm progress bar on stderr is off by default.

The data loaders read ``statsmodels.datasets`` (offline): yearly sunspots and Mauna Loa CO2.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from autograder import reference as ref
from autograder.reference.training import make_windows, standardize  # noqa: F401 - re-exported
from autograder.train import forward, init_params, param_count

CORE = ("W_ih", "W_hh", "b_ih", "b_hh")


# ------------------------------------------------------------------------------------------ data

def load_sunspots():
    """Yearly mean sunspot numbers 1700-2008 (statsmodels): years (int array), values (float array)."""
    from statsmodels.datasets import sunspots

    df = sunspots.load_pandas().data
    return df["YEAR"].to_numpy().astype(int), df["SUNACTIVITY"].to_numpy(dtype=np.float64)


def load_co2():
    """Mauna Loa CO2 (ppm), weekly 1958-2001 (statsmodels), as month means with gaps interpolated.

    Returns a pandas Series indexed by month start, March 1958 to December 2001 (526 months).
    """
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    return weekly.resample("MS").mean().interpolate()


def make_direct_windows(series, T, horizon):
    """Windows for direct multi-step forecasting: X[i] = series[i:i+T] (N, T, 1) and
    Y[i] = series[i+T:i+T+horizon] (N, horizon), N = len(series) - T - horizon + 1."""
    s = np.asarray(series, dtype=np.float64)
    N = len(s) - T - horizon + 1
    idx = np.arange(N)[:, None]
    return s[idx + np.arange(T)][:, :, None], s[idx + T + np.arange(horizon)]


# ----------------------------------------------------------------------------------------- model

def init_forecaster(model, H, rng, K=1, forget_bias=1.0):
    """Recurrent parameters (PyTorch's initialisation, one input feature) plus a readout w_out, c_out.

    K = 1 gives w_out (H,) and a scalar c_out; K > 1 gives w_out (H, K) and c_out (K,).
    """
    p = init_params(model, 1, H, rng, forget_bias if model == "lstm" else 0.0)
    k = 1 / np.sqrt(H)
    p["w_out"] = rng.uniform(-k, k, size=H if K == 1 else (H, K))
    p["c_out"] = np.array(0.0) if K == 1 else np.zeros(K)
    return p


def _forward_from(model, x, h0, c0, core):
    if model == "lstm":
        return ref.lstm_forward(x, h0, c0, core)
    return getattr(ref, f"{model}_forward")(x, h0, core)


def hidden_states(model, x, p, truncate=None):
    """Hidden states of the last ``truncate`` steps (all T steps when None) and their cache.

    With truncation the first T - truncate steps are run forward only: their final state enters
    the last ``truncate`` steps as a constant, so backpropagation stops there (truncated BPTT).
    The returned states are the same as without truncation.
    """
    core = {k: p[k] for k in CORE}
    T = x.shape[1]
    if not truncate or truncate >= T:
        return forward(model, x, core)
    _, cache = forward(model, x[:, : T - truncate], core)
    h0 = cache["h_states"][-1] if "h_states" in cache else cache["hs"][:, -1]
    c0 = cache["c_states"][-1] if model == "lstm" else None
    return _forward_from(model, x[:, T - truncate:], h0, c0, core)


def predict(model, p, X):
    """Forecasts h_last @ w_out + c_out for windows X (N, T, 1): (N,) or (N, K)."""
    hs, _ = forward(model, X, {k: p[k] for k in CORE})
    return hs[:, -1] @ p["w_out"] + p["c_out"]


def loss_and_grads(model, p, X, Y, truncate=None):
    """MSE over all outputs and its gradients (a dict like p) on one mini-batch."""
    hs, cache = hidden_states(model, X, p, truncate)
    h = hs[:, -1]
    err = h @ p["w_out"] + p["c_out"] - Y
    d = 2.0 * err / err.size  # dL/dy_hat
    dhs = np.zeros_like(hs)
    dhs[:, -1] = np.outer(d, p["w_out"]) if d.ndim == 1 else d @ p["w_out"].T
    grads = getattr(ref, f"{model}_backward")(dhs, cache)[-1]
    grads["w_out"] = h.T @ d
    grads["c_out"] = np.asarray(d.sum(axis=0))
    return float(np.mean(err**2)), grads


def mse(model, p, X, Y):
    return float(np.mean((predict(model, p, X) - Y) ** 2))


def fit(model, X_train, y_train, X_val=None, y_val=None, H=16, epochs=200, batch=32, lr=1e-2,
        clip=1.0, patience=30, seed=0, truncate=None, forget_bias=1.0, weight_decay=0.0,
        progress=False):
    """Train a forecaster with Adam, clipping and early stopping on (X_val, y_val).

    Every epoch visits the training windows in a fresh random order (seeded), in mini-batches of
    ``batch``. After each epoch the MSE on the whole training and validation sets is recorded; the
    weights of the best validation epoch are kept, and training stops ``patience`` epochs after
    the last improvement (the rule of :func:`autograder.reference.training.early_stopping`).
    Without validation data it runs all ``epochs`` and keeps the last weights. ``weight_decay``
    adds ``weight_decay * W`` to the gradient of every weight matrix (an L2 penalty, not on biases).

    Returns a dict: params (the kept weights), train_losses, val_losses (per epoch), best_epoch,
    stop_epoch, epochs_run, n_params, seconds.
    """
    rng = np.random.default_rng(seed)
    K = 1 if np.ndim(y_train) == 1 else np.shape(y_train)[1]
    p = init_forecaster(model, H, rng, K, forget_bias)
    state, train_losses, val_losses = {}, [], []
    best, best_p, stop = 0, p, epochs - 1
    N, start = len(X_train), time.perf_counter()
    bar = _progress(range(epochs), progress, model)
    for epoch in bar:
        order = rng.permutation(N)
        for first in range(0, N, batch):
            idx = order[first:first + batch]
            _, grads = loss_and_grads(model, p, X_train[idx], y_train[idx], truncate)
            if weight_decay:
                for k in ("W_ih", "W_hh", "w_out"):
                    grads[k] = grads[k] + weight_decay * p[k]
            grads, _ = ref.clip_grad_norm(grads, clip)
            p, state = ref.adam_step(p, grads, state, lr=lr)
        train_losses.append(mse(model, p, X_train, y_train))
        if X_val is None:
            best, best_p = epoch, p
            continue
        val_losses.append(mse(model, p, X_val, y_val))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(train=f"{train_losses[-1]:.4f}", val=f"{val_losses[-1]:.4f}")
        if epoch == 0 or val_losses[-1] < val_losses[best]:
            best, best_p = epoch, p
        elif epoch - best >= patience:
            stop = epoch
            break
    if hasattr(bar, "close"):
        bar.close()
    return {"model": model, "params": best_p, "train_losses": train_losses, "val_losses": val_losses,
            "best_epoch": best, "stop_epoch": stop, "epochs_run": len(train_losses),
            "n_params": param_count(best_p), "seconds": time.perf_counter() - start}


def _progress(iterable, enabled, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, file=sys.stderr, leave=False)


def recursive_forecast(model, p, window, horizon):
    """Feed the model its own one-step forecasts: ``horizon`` values after ``window`` (T,)."""
    window = list(np.asarray(window, dtype=np.float64))
    T, out = len(window), []
    for _ in range(horizon):
        y = float(predict(model, p, np.array(window[-T:])[None, :, None])[0])
        out.append(y)
        window.append(y)
    return np.array(out)
