"""Lesson 06 — training a recurrent forecaster: hidden tests and planted bugs."""

import numpy as np

from autograder.checking import Case, Exercise, Mismatch, returns
from autograder.reference.optim import adam_step
from autograder.reference.training import early_stopping, make_windows, readout_backward, standardize

REF = {"make_windows": make_windows, "standardize": standardize, "readout_backward": readout_backward,
       "adam_step": adam_step, "early_stopping": early_stopping}


# ------------------------------------------------------------------------------- 1. make_windows

def _window_cases(rng):
    cases = []
    for n, T in [(5, 1), (12, 3), (40, 7), (30, 29)]:
        cases.append(Case(f"series of length {n}, T={T}", (rng.normal(size=n).cumsum(), T)))
    return cases


ex_make_windows = Exercise(
    "l06_e1_make_windows", ("make_windows",), returns("X", "y"), _window_cases, REF,
)


@ex_make_windows.bug("the target is the last input, series[i+T-1]; it must be the value after the window, series[i+T]")
def windows_target_is_last_input(series, T):
    s = np.asarray(series, dtype=float)
    N = len(s) - T
    X = np.array([s[i:i + T] for i in range(N)])[:, :, None]
    return X, np.array([s[i + T - 1] for i in range(N)])


@ex_make_windows.bug("the last window is missing: there are N = len(series) - T windows, the last target is series[-1]")
def windows_one_short(series, T):
    s = np.asarray(series, dtype=float)
    N = len(s) - T - 1
    X = np.array([s[i:i + T] for i in range(N)])[:, :, None]
    return X, np.array([s[i + T] for i in range(N)])


@ex_make_windows.bug("X lacks the feature axis: the recurrent layer wants (N, T, D) with D = 1, e.g. X[:, :, None]")
def windows_no_feature_axis(series, T):
    s = np.asarray(series, dtype=float)
    N = len(s) - T
    return np.array([s[i:i + T] for i in range(N)]), s[T:]


@ex_make_windows.bug("the window is one step too long: series[i:i+T+1] includes the target itself (leakage)")
def windows_include_target(series, T):
    s = np.asarray(series, dtype=float)
    N = len(s) - T
    X = np.array([s[i + 1:i + T + 1] for i in range(N)])[:, :, None]
    return X, s[T:]


# -------------------------------------------------------------------------------- 2. standardize

def _standardize_cases(rng):
    cases = []
    for n, n_train, trend in [(10, 6, 0.0), (50, 35, 0.3), (200, 150, 1.0)]:
        s = 5 + trend * np.arange(n) + rng.normal(scale=2.0, size=n)
        cases.append(Case(f"series of length {n}, n_train={n_train}", (s, n_train)))
    return cases


ex_standardize = Exercise(
    "l06_e2_standardize", ("standardize",), returns("z", "mean", "std"), _standardize_cases, REF,
)


@ex_standardize.bug("the mean and std were computed on the whole series: use series[:n_train] only (leakage)")
def standardize_whole_series(series, n_train):
    s = np.asarray(series, dtype=float)
    return (s - s.mean()) / s.std(), float(s.mean()), float(s.std())


@ex_standardize.bug("the std uses ddof=1 (pandas' default); use the population std, ddof=0, like numpy and "
                    "StandardScaler")
def standardize_ddof1(series, n_train):
    s = np.asarray(series, dtype=float)
    mean, std = s[:n_train].mean(), s[:n_train].std(ddof=1)
    return (s - mean) / std, float(mean), float(std)


@ex_standardize.bug("only the training part was returned: z must cover the whole series, scaled with training "
                    "statistics")
def standardize_train_only(series, n_train):
    s = np.asarray(series, dtype=float)[:n_train]
    return (s - s.mean()) / s.std(), float(s.mean()), float(s.std())


@ex_standardize.bug("divided by the variance, not the standard deviation")
def standardize_by_variance(series, n_train):
    s = np.asarray(series, dtype=float)
    mean, var = s[:n_train].mean(), s[:n_train].var()
    return (s - mean) / var, float(mean), float(np.sqrt(var))


# ----------------------------------------------------------------------------- 3. readout_backward

def _readout_cases(rng):
    cases = []
    for N, H in [(1, 1), (4, 3), (16, 8)]:
        cases.append(Case(f"N={N}, H={H}", (np.tanh(rng.normal(size=(N, H))), rng.normal(size=H),
                                             float(rng.normal()), rng.normal(size=N))))
    return cases


ex_readout_backward = Exercise(
    "l06_e3_readout_backward", ("readout_backward",), returns("loss", "dh_last", "dw", "dc"),
    _readout_cases, REF,
)


@ex_readout_backward.bug("the loss is a mean over the batch, so every gradient carries a factor 1/N")
def readout_sum_not_mean(h_last, w, c, y):
    err = h_last @ w + c - y
    d = 2 * err
    return float(np.mean(err**2)), np.outer(d, w), h_last.T @ d, float(d.sum())


@ex_readout_backward.bug("the factor 2 of d(err²)/d(err) = 2·err is missing")
def readout_no_two(h_last, w, c, y):
    err = h_last @ w + c - y
    d = err / len(y)
    return float(np.mean(err**2)), np.outer(d, w), h_last.T @ d, float(d.sum())


@ex_readout_backward.bug("the sign is flipped: err = y_hat - y, and dL/dy_hat = +2·err/N")
def readout_sign(h_last, w, c, y):
    err = y - (h_last @ w + c)
    d = 2 * err / len(y)
    return float(np.mean(err**2)), np.outer(d, w), h_last.T @ d, float(d.sum())


@ex_readout_backward.bug("dc was averaged over the batch; c is added to every row, so dc = Σ_n dL/dy_hat[n]")
def readout_dc_mean(h_last, w, c, y):
    err = h_last @ w + c - y
    d = 2 * err / len(y)
    return float(np.mean(err**2)), np.outer(d, w), h_last.T @ d, float(d.mean())


# ------------------------------------------------------------------------------------- 4. adam_step

KEYS = ("w", "b")


def _adam_cases(rng):
    cases = []
    for steps, lr, scale in [(1, 1e-3, 1.0), (3, 1e-2, 5.0), (6, 0.1, 0.01)]:
        params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=3)}
        grads = [{k: rng.normal(scale=scale, size=v.shape) for k, v in params.items()} for _ in range(steps)]
        cases.append(Case(f"{steps} step(s), lr={lr}, gradients of size {scale}", (params, grads, lr)))
    return cases


def _run_adam(target, fns, case):
    params, grad_list, lr = case.args
    state, out = {}, {}
    for step, grads in enumerate(grad_list):
        before = {k: v.copy() for k, v in params.items()}
        new, state = target(params, grads, state, lr=lr)
        if any(not np.array_equal(before[k], params[k]) for k in params):
            raise Mismatch("adam_step changed params in place; return a new dict of new arrays")
        if not isinstance(new, dict) or set(new) != set(params):
            raise Mismatch(f"adam_step should return (new params dict with keys {sorted(params)}, state)")
        if not isinstance(state, dict) or not {"t", "m", "v"} <= set(state):
            raise Mismatch('the state should be a dict with keys "t", "m" and "v"')
        for k in KEYS:
            out[f"params[{k!r}] after step {step + 1}"] = new[k]
        params = new
    out["state['t']"] = state["t"]
    for k in KEYS:
        out[f"state['m'][{k!r}]"] = state["m"][k]
        out[f"state['v'][{k!r}]"] = state["v"][k]
    return out


ex_adam_step = Exercise("l06_e4_adam_step", ("adam_step",), _run_adam, _adam_cases, REF)


@ex_adam_step.bug("the bias correction is missing: divide m by 1 - β1^t and v by 1 - β2^t")
def adam_no_bias_correction(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = {k: beta1 * state["m"][k] + (1 - beta1) * g if state else (1 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state["v"][k] + (1 - beta2) * g**2 if state else (1 - beta2) * g**2 for k, g in grads.items()}
    new = {k: params[k] - lr * m[k] / (np.sqrt(v[k]) + eps) for k in params}
    return new, {"t": t, "m": m, "v": v}


@ex_adam_step.bug("v must average the squared gradient g², not g")
def adam_v_of_g(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = {k: beta1 * state["m"][k] + (1 - beta1) * g if state else (1 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state["v"][k] + (1 - beta2) * np.abs(g) if state else (1 - beta2) * np.abs(g)
         for k, g in grads.items()}
    new = {k: params[k] - lr * (m[k] / (1 - beta1**t)) / (np.sqrt(v[k] / (1 - beta2**t)) + eps) for k in params}
    return new, {"t": t, "m": m, "v": v}


@ex_adam_step.bug("the moments were not carried over: m and v must start from the previous state, not from zero")
def adam_no_memory(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = {k: (1 - beta1) * g for k, g in grads.items()}
    v = {k: (1 - beta2) * g**2 for k, g in grads.items()}
    new = {k: params[k] - lr * (m[k] / (1 - beta1**t)) / (np.sqrt(v[k] / (1 - beta2**t)) + eps) for k in params}
    return new, {"t": t, "m": m, "v": v}


@ex_adam_step.bug("the parameters were updated in place; adam_step must leave its inputs unchanged")
def adam_in_place(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = {k: beta1 * state["m"][k] + (1 - beta1) * g if state else (1 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state["v"][k] + (1 - beta2) * g**2 if state else (1 - beta2) * g**2 for k, g in grads.items()}
    for k in params:
        params[k] -= lr * (m[k] / (1 - beta1**t)) / (np.sqrt(v[k] / (1 - beta2**t)) + eps)
    return params, {"t": t, "m": m, "v": v}


@ex_adam_step.bug("eps was put inside the square root: the step is m̂ / (√v̂ + eps), as in torch.optim.Adam")
def adam_eps_inside(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = {k: beta1 * state["m"][k] + (1 - beta1) * g if state else (1 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state["v"][k] + (1 - beta2) * g**2 if state else (1 - beta2) * g**2 for k, g in grads.items()}
    new = {k: params[k] - lr * (m[k] / (1 - beta1**t)) / np.sqrt(v[k] / (1 - beta2**t) + eps) for k in params}
    return new, {"t": t, "m": m, "v": v}


# -------------------------------------------------------------------------------- 5. early_stopping

def _early_cases(rng):
    cases = [
        Case("a curve that never improves after epoch 0", (np.array([1.0, 1.2, 1.1, 1.3, 1.25, 1.4]), 2)),
        Case("a tie with the best value", (np.array([3.0, 2.0, 2.5, 2.0, 2.2, 2.1, 1.9]), 2)),
        Case("a late improvement after the stop", (np.array([5.0, 4.0, 3.5, 3.6, 3.7, 3.8, 1.0]), 3)),
        Case("patience 1", (np.array([2.0, 1.5, 1.6, 1.2, 1.1]), 1)),
    ]
    for n, patience in [(30, 4), (60, 10)]:  # a noisy U-shaped validation curve
        epochs = np.arange(n)
        curve = 1 + 0.002 * (epochs - n / 2) ** 2 / (n / 30) + rng.normal(scale=0.05, size=n)
        cases.append(Case(f"a noisy U-shaped curve of {n} epochs, patience {patience}", (curve, patience)))
    cases.append(Case("a curve that keeps improving", (np.linspace(2.0, 1.0, 8), 3)))
    return cases


ex_early_stopping = Exercise(
    "l06_e5_early_stopping", ("early_stopping",), returns("best_epoch", "stop_epoch"), _early_cases, REF,
)


@ex_early_stopping.bug("the best epoch was taken over all epochs (argmin); after the stop no later epoch is seen")
def early_global_argmin(val_losses, patience):
    best = 0
    stop = len(val_losses) - 1
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            stop = epoch
            break
    return int(np.argmin(val_losses)), stop


@ex_early_stopping.bug("a tie is not an improvement: the best epoch moves only when the loss is strictly lower")
def early_ties_improve(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] <= val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return best, epoch
    return best, len(val_losses) - 1


@ex_early_stopping.bug("one epoch too late: stop as soon as `patience` epochs have passed without improvement")
def early_one_late(val_losses, patience):
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best > patience:
            return best, epoch
    return best, len(val_losses) - 1


@ex_early_stopping.bug("improvement was measured against the previous epoch, not against the best so far")
def early_compare_previous(val_losses, patience):
    best, since = 0, 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[epoch - 1]:
            since = 0
            if val_losses[epoch] < val_losses[best]:
                best = epoch
        else:
            since += 1
            if since >= patience:
                return best, epoch
    return best, len(val_losses) - 1


EXERCISES = [ex_make_windows, ex_standardize, ex_readout_backward, ex_adam_step, ex_early_stopping]
