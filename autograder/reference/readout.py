"""Reference for lesson 02: parameter counts, spectral radius and a linear readout."""

import numpy as np

__all__ = ["fit_readout", "gated_param_count", "rnn_param_count", "scale_spectral_radius"]


def rnn_param_count(D, H, K):
    """Parameters of a tanh RNN (W_ih, W_hh, b_ih, b_hh) plus a linear readout to K outputs: (K, H) + (K,)."""
    return H * (D + H + 2) + K * (H + 1)


def scale_spectral_radius(W, rho):
    """W rescaled so that its spectral radius (largest |eigenvalue|) equals rho."""
    return W * (rho / np.max(np.abs(np.linalg.eigvals(W))))


def fit_readout(F, y, alpha):
    """Ridge regression y ≈ F w + c with an unpenalised intercept c.

    F (N, H) features, y (N,) targets, alpha >= 0. Returns (w (H,), c). Centring F and y
    removes the intercept from the penalised problem: w = (FcᵀFc + αI)⁻¹ Fcᵀ yc.
    """
    F_mean, y_mean = F.mean(axis=0), y.mean()
    Fc, yc = F - F_mean, y - y_mean
    w = np.linalg.solve(Fc.T @ Fc + alpha * np.eye(F.shape[1]), Fc.T @ yc)
    return w, float(y_mean - F_mean @ w)


def gated_param_count(G, D, H):
    """Parameters of one recurrent layer with G gate blocks (RNN 1, GRU 3, LSTM 4): G·H·(D + H + 2)."""
    return G * H * (D + H + 2)
