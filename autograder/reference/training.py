"""Reference for lesson 06: windows, scaling, the readout's backward pass, early stopping.

Adam, the fourth piece of the lesson, is :func:`autograder.reference.adam_step` (``optim.py``).
"""

import numpy as np

__all__ = ["make_windows", "standardize", "readout_backward", "early_stopping"]


def make_windows(series, T):
    """Cut a 1-D series into N = len(series) - T (input, target) pairs.

    X[i] = series[i:i+T] as a column (X has shape (N, T, 1)), y[i] = series[i+T] (y has shape (N,)).
    """
    s = np.asarray(series, dtype=np.float64)
    N = len(s) - T
    idx = np.arange(N)[:, None] + np.arange(T)[None, :]
    return s[idx][:, :, None], s[T:].copy()


def standardize(series, n_train):
    """(series - mean) / std with the mean and (population, ddof=0) std of series[:n_train] only.

    Returns (z, mean, std); mean and std are floats.
    """
    s = np.asarray(series, dtype=np.float64)
    mean, std = float(s[:n_train].mean()), float(s[:n_train].std())
    return (s - mean) / std, mean, std


def readout_backward(h_last, w, c, y):
    """Loss and gradients of L = mean_n (h_last[n] · w + c - y[n])² for a linear readout.

    h_last (N, H), w (H,), c float, y (N,). Returns (loss, dh_last (N, H), dw (H,), dc float).
    """
    err = h_last @ w + c - y
    N = err.shape[0]
    d = 2.0 * err / N  # dL/dy_hat
    return float(np.mean(err**2)), np.outer(d, w), h_last.T @ d, float(d.sum())


def early_stopping(val_losses, patience):
    """When training with early stopping would stop, and which epoch's weights it would keep.

    Epoch e improves when val_losses[e] is strictly below every earlier value. Training stops at
    the first epoch that is ``patience`` epochs after the last improvement (or at the last epoch).
    Returns (best_epoch, stop_epoch), both 0-based indices into val_losses.
    """
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        elif epoch - best >= patience:
            return best, epoch
    return best, len(val_losses) - 1
