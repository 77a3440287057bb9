"""Reference vanilla (Elman) RNN with a tanh non-linearity, in numpy.

Layout follows ``torch.nn.RNN`` so weights copy across unchanged:

    p["W_ih"] (H, D), p["W_hh"] (H, H), p["b_ih"] (H,), p["b_hh"] (H,)
    h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)

Shapes: N batch, T time, D input features, H hidden units; sequences are
batch-first, x (N, T, D).

Caches (the course's notebooks use the same layout, so a learner's backward
pass can be fed the reference's cache and vice versa):

    step cache:     (x, h_prev, h, p)
    sequence cache: {"x": x, "h0": h0, "hs": hs, "p": p}
"""

import numpy as np

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]


def rnn_step_forward(x, h_prev, p):
    """One step: x (N, D), h_prev (N, H) -> h (N, H), cache."""
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    h = np.tanh(a)
    return h, (x, h_prev, h, p)


def rnn_step_backward(dh, cache):
    """Backward of one step. dh (N, H) -> dx (N, D), dh_prev (N, H), grads."""
    x, h_prev, h, p = cache
    da = dh * (1.0 - h * h)  # tanh'(a) = 1 - tanh(a)^2
    grads = {
        "W_ih": da.T @ x,
        "W_hh": da.T @ h_prev,
        "b_ih": da.sum(axis=0),
        "b_hh": da.sum(axis=0),
    }
    return da @ p["W_ih"], da @ p["W_hh"], grads


def rnn_forward(x, h0, p):
    """Whole sequence: x (N, T, D), h0 (N, H) -> hs (N, T, H), cache.

    The input projection does not depend on the state, so it is computed for
    all time steps in one matrix product before the loop.
    """
    N, T, _ = x.shape
    xw = x @ p["W_ih"].T + (p["b_ih"] + p["b_hh"])  # (N, T, H)
    hs = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, p["W_hh"]))
    h = h0
    for t in range(T):
        h = np.tanh(xw[:, t] + h @ p["W_hh"].T)
        hs[:, t] = h
    return hs, {"x": x, "h0": h0, "hs": hs, "p": p}


def rnn_backward(dhs, cache):
    """Backward through time. dhs (N, T, H): upstream gradient of every state.

    Returns dx (N, T, D), dh0 (N, H) and grads (dict with p's keys). The
    gradient reaching h_t is its own upstream dhs[:, t] plus what flows back
    from h_{t+1}.
    """
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    N, T, H = hs.shape
    das = np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dhs[:, t] + dh_next) * (1.0 - hs[:, t] ** 2)
        das[:, t] = da
        dh_next = da @ p["W_hh"]
    h_prevs = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1)  # (N, T, H)
    da2 = das.reshape(N * T, H)
    db = da2.sum(axis=0)
    grads = {
        "W_ih": da2.T @ x.reshape(N * T, -1),
        "W_hh": da2.T @ h_prevs.reshape(N * T, H),
        "b_ih": db,
        "b_hh": db.copy(),
    }
    return das @ p["W_ih"], dh_next, grads
