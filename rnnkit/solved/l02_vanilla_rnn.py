"""Lesson 02 — The vanilla RNN: from a scalar to a vector state

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/02_vanilla_rnn by `make build`; do not edit."""

import numpy as np


def rnn_step_forward(x, h_prev, p):
    """One step of a tanh RNN for a batch of N examples.

    x:      (N, D) inputs at this time step.
    h_prev: (N, H) previous hidden state.
    p:      dict with W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,) -- torch.nn.RNN's layout.

    Returns h (N, H) = tanh(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh) and cache = (x, h_prev, h, p);
    lesson 03's rnn_step_backward consumes this cache.
    Hint: rows are examples, so W x becomes x @ W.T; the (H,) biases broadcast over the rows.
    """
    input_part = x @ p["W_ih"].T + p["b_ih"]            # (N, D) @ (D, H) -> (N, H)
    recurrent_part = h_prev @ p["W_hh"].T + p["b_hh"]   # (N, H) @ (H, H) -> (N, H)
    h = np.tanh(input_part + recurrent_part)
    cache = (x, h_prev, h, p)
    return h, cache


def rnn_forward(x, h0, p):
    """Run a tanh RNN over a batch of sequences.

    x:  (N, T, D) inputs, batch-first.
    h0: (N, H) initial state.
    p:  parameter dict as in rnn_step_forward.

    Returns hs (N, T, H), where hs[:, t] is the state after reading x[:, t], and
    cache = {"x": x, "h0": h0, "hs": hs, "p": p}, which lesson 03's rnn_backward consumes.
    Hint: allocate hs with np.zeros((N, T, H)), then loop over t calling rnn_step_forward.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    hs = np.zeros((N, T, H))
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(x[:, t], h, p)   # same p at every step: weights shared across time
        hs[:, t] = h
    cache = {"x": x, "h0": h0, "hs": hs, "p": p}
    return hs, cache


def rnn_param_count(D, H, K):
    """Number of parameters of a tanh RNN (D inputs, H hidden units) plus a linear readout to K outputs.

    Count W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,), W_out (K, H) and b_out (K,).
    Returns an int.
    Hint: write one term per array, then add them up.
    """
    rnn = H * D + H * H + H + H       # W_ih, W_hh, b_ih, b_hh
    readout = K * H + K               # W_out, b_out
    return rnn + readout


def scale_spectral_radius(W, rho):
    """W (H, H) rescaled so that its spectral radius max_i |lambda_i| equals rho.

    Returns an (H, H) array, W times a positive scalar.
    Hint: the eigenvalues may be complex -- use their modulus, not their real part,
    and not a matrix norm (the largest singular value is a different number).
    """
    radius = np.max(np.abs(np.linalg.eigvals(W)))
    return W * (rho / radius)


def fit_readout(F, y, alpha):
    """Ridge regression y ≈ F w + c with an unpenalised intercept c.

    F: (M, H) features (one row per window), y: (M,) targets, alpha >= 0 the ridge penalty on w.
    Returns w (H,) and c (a float).
    Hint: centre F and y with their means, solve (FcᵀFc + alpha I) w = Fcᵀ yc, then c = mean(y) - mean(F) @ w.
    """
    F_mean, y_mean = F.mean(axis=0), y.mean()
    Fc, yc = F - F_mean, y - y_mean
    H = F.shape[1]
    w = np.linalg.solve(Fc.T @ Fc + alpha * np.eye(H), Fc.T @ yc)
    c = float(y_mean - F_mean @ w)
    return w, c
