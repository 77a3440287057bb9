"""Lesson 06 — Training a recurrent forecaster

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/06_training by `make build`; do not edit."""

import numpy as np

from rnnkit.given import adam_step, readout_backward  # noqa: F401 - this lesson's, given earlier


def make_windows(series, T):
    """Cut a 1-D series into (window, next value) pairs.

    series: (n,) array.  T: window length, 1 <= T < n.
    Returns X (N, T, 1) and y (N,) with N = n - T, X[i, :, 0] = series[i:i+T], y[i] = series[i+T].
    Hint: a list comprehension over i works; np.stack or np.array turns it into (N, T), and
    X[:, :, None] adds the feature axis.
    """
    series = np.asarray(series, dtype=np.float64)
    N = len(series) - T
    X = np.stack([series[i:i + T] for i in range(N)])     # (N, T): row i is the window starting at i
    y = series[T:].copy()                                  # y[i] = series[i + T], the value after window i
    return X[:, :, None], y                                # (N, T, 1): one feature per time step


def standardize(series, n_train):
    """Standardise a series with the statistics of its first n_train values.

    series: (n,) array.  n_train: how many leading values form the training part.
    Returns z (n,), mean (float), std (float): z = (series - mean) / std, where mean and std
    (population, ddof=0) are computed on series[:n_train] only.
    Hint: np.mean and np.std (ddof=0 is numpy's default) on a slice.
    """
    series = np.asarray(series, dtype=np.float64)
    train = series[:n_train]                       # the only part whose statistics we may use
    mean = float(np.mean(train))
    std = float(np.std(train))                     # population std, 1/n
    return (series - mean) / std, mean, std        # applied to everything, fitted on train


def early_stopping(val_losses, patience):
    """Replay early stopping on a list of validation losses.

    val_losses: sequence of floats, one per epoch.  patience: int >= 1.
    Returns (best_epoch, stop_epoch), 0-based: the last strict improvement before the stop, and the
    first epoch that is `patience` epochs after it (or the last epoch).
    Hint: one loop over the epochs, tracking the best epoch so far.
    """
    best = 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best]:       # strictly better than everything so far
            best = epoch
        elif epoch - best >= patience:                 # `patience` epochs without improvement
            return best, epoch
    return best, len(val_losses) - 1                   # never stopped: ran to the end
