"""Reference for lesson 03: gradient checking, gradient norms over time, clipping."""

import numpy as np

from .rnn import rnn_step_backward

__all__ = ["numeric_gradient", "state_gradient_norms", "clip_grad_norm"]


def numeric_gradient(f, x, eps=1e-6):
    """Centred differences (f(x + eps·e_i) - f(x - eps·e_i)) / (2 eps) for every entry of x.

    f maps an array shaped like x to a float. x is perturbed in place and restored.
    """
    grad = np.zeros(x.shape)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old - eps
        minus = f(x)
        flat[i] = old
        out[i] = (plus - minus) / (2 * eps)
    return grad


def state_gradient_norms(dh_last, cache):
    """‖∂L/∂h_t‖ for t = 1..T (in norms[t-1]) when the loss depends on the last state h_T only.

    dh_last (N, H) is ∂L/∂h_T; cache is rnn_forward's. Returns (T,) norms (Frobenius
    norm over the batch), found by carrying the gradient back one step at a time.
    """
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    T = hs.shape[1]
    norms = np.empty(T)
    dh = dh_last
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh)
        h_prev = hs[:, t - 1] if t > 0 else h0
        _, dh, _ = rnn_step_backward(dh, (x[:, t], h_prev, hs[:, t], p))
    return norms


def clip_grad_norm(grads, max_norm):
    """Scale every gradient by min(1, max_norm / total) where total is the global L2 norm.

    Returns (clipped grads dict, total norm before clipping), like torch.nn.utils.clip_grad_norm_.
    """
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))  # the same 1e-6 as torch
    return {k: g * scale for k, g in grads.items()}, total
