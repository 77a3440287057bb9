"""Lesson 03 — Backpropagation through time and vanishing gradients

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/03_bptt by `make build`; do not edit."""

import numpy as np


def rnn_step_backward(dh, cache):
    """Backward pass of one tanh-RNN step for a batch.

    dh:    (N, H) gradient of the loss with respect to the step's output h.
    cache: (x, h_prev, h, p) from rnn_step_forward; x (N, D), h_prev (N, H), h (N, H).

    Returns dx (N, D), dh_prev (N, H) and grads, a dict with W_ih (H, D), W_hh (H, H),
    b_ih (H,) and b_hh (H,).
    Hint: tanh'(a) = 1 - tanh(a)**2 = 1 - h**2 (h is in the cache). A gradient has the shape of
    its variable: dW_ih is (H, D), so it must be da.T @ x.
    """
    x, h_prev, h, p = cache
    da = dh * (1.0 - h ** 2)             # back through tanh, elementwise: (N, H)
    grads = {
        "W_ih": da.T @ x,                # (H, N) @ (N, D) -> (H, D), summed over the batch
        "W_hh": da.T @ h_prev,           # (H, N) @ (N, H) -> (H, H)
        "b_ih": da.sum(axis=0),          # a bias enters every row: sum over the batch
        "b_hh": da.sum(axis=0),
    }
    dx = da @ p["W_ih"]                  # the forward pass used W_ih.T, so the backward uses W_ih
    dh_prev = da @ p["W_hh"]
    return dx, dh_prev, grads


def rnn_backward(dhs, cache):
    """Backpropagation through time for a tanh RNN.

    dhs:   (N, T, H) direct gradient of the loss with respect to every state hs[:, t]
           (zeros where the loss does not look at a state).
    cache: {"x": x (N, T, D), "h0": h0 (N, H), "hs": hs (N, T, H), "p": p} from rnn_forward.

    Returns dx (N, T, D), dh0 (N, H) and grads (dict shaped like p, summed over time).
    Hint: loop t = T-1, ..., 0; the gradient reaching hs[:, t] is dhs[:, t] plus the dh_prev
    returned by step t+1. Step t's cache is (x[:, t], h_prev, hs[:, t], p) with h_prev = hs[:, t-1]
    (h0 when t = 0).
    """
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    T = hs.shape[1]
    dx = np.zeros(x.shape)
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    dh_next = np.zeros(h0.shape)                   # nothing flows back into the last state
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        step_cache = (x[:, t], h_prev, hs[:, t], p)
        dx[:, t], dh_next, step_grads = rnn_step_backward(dhs[:, t] + dh_next, step_cache)
        for name in grads:
            grads[name] += step_grads[name]        # the same weights at every step: sum
    return dx, dh_next, grads                      # after the first step, dh_next is dL/dh0


def numeric_gradient(f, x, eps=1e-6):
    """Centred-difference gradient of a scalar function f at the array x.

    f:   callable, f(x) -> float.
    x:   array of any shape; perturbed in place one entry at a time and restored.
    eps: the step.

    Returns grad, a float64 array shaped like x, grad[i] ≈ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).
    Hint: remember x[i] in `old`, set x[i] = old + eps, evaluate, set x[i] = old - eps, evaluate,
    then put old back before moving to the next index.
    """
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        f_plus = f(x)
        x[index] = old - eps
        f_minus = f(x)
        x[index] = old                       # restore before the next entry
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def state_gradient_norms(dh_last, cache):
    """Norms of dL/dh_t, t = 1..T, for a loss that depends on the last state only.

    dh_last: (N, H) gradient of the loss with respect to the last state hs[:, T-1].
    cache:   {"x", "h0", "hs", "p"} from rnn_forward.

    Returns norms (T,), norms[t] = Frobenius norm of the (N, H) gradient reaching hs[:, t].
    Hint: this is rnn_backward with dhs zero except at the last step; keep only dh_prev from
    each rnn_step_backward call, and record the norm before each step back.
    """
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    T = hs.shape[1]
    norms = np.zeros(T)
    dh = dh_last
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh)              # the gradient reaching hs[:, t]
        h_prev = hs[:, t - 1] if t > 0 else h0
        _, dh, _ = rnn_step_backward(dh, (x[:, t], h_prev, hs[:, t], p))
    return norms


def clip_grad_norm(grads, max_norm):
    """Clip a dict of gradients by their global L2 norm, like torch.nn.utils.clip_grad_norm_.

    grads:    dict name -> array (any shapes).
    max_norm: the largest allowed global norm.

    Returns (clipped, total): clipped is a new dict, every array times
    min(1, max_norm / (total + 1e-6)); total is the global norm before clipping (a float).
    Hint: total = sqrt(sum over arrays of sum(g**2)); one factor for all arrays.
    """
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))     # never scale up
    clipped = {name: g * scale for name, g in grads.items()}
    return clipped, total
