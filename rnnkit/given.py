"""Adam and the gradient of the linear readout: lessons 03-05 train with them before lesson 06
asks you to derive and write them (its Exercises 3 and 4), so they are given here.

Generated from solutions/06_training by `make build`; do not edit."""

import numpy as np


def readout_backward(h_last, w, c, y):
    """MSE of a linear readout on the last hidden state, and its gradients.

    h_last: (N, H) last hidden states.  w: (H,) readout weights.  c: float, the bias.  y: (N,) targets.
    Returns loss (float) = mean((h_last @ w + c - y)**2), dh_last (N, H), dw (H,), dc (float).
    Hint: start from g = dL/dy_hat = 2 * (y_hat - y) / N; then dw = h_last.T @ g, and every
    row of dh_last is g[i] * w (np.outer).
    """
    y_hat = h_last @ w + c                 # (N,)
    err = y_hat - y
    N = len(y)
    g = 2.0 * err / N                      # dL/dy_hat, (N,)
    dh_last = np.outer(g, w)               # (N, H): y_hat_i depends on h_i through w
    dw = h_last.T @ g                      # (H,): sum over the batch of g_i h_i
    dc = float(np.sum(g))                  # c is added to every row
    return float(np.mean(err ** 2)), dh_last, dw, dc


def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam update, as torch.optim.Adam (no weight decay).

    params, grads: dicts name -> array, same keys and shapes.
    state: {} before the first step, else {"t": int, "m": dict, "v": dict} from the previous call.
    Returns (new_params, new_state); params, grads and state are not modified.
    Hint: t = state.get("t", 0) + 1; when state is empty, the previous m and v are zeros.
    """
    t = state.get("t", 0) + 1
    new_params, m, v = {}, {}, {}
    for name, g in grads.items():
        m_prev = state["m"][name] if state else np.zeros_like(g)
        v_prev = state["v"][name] if state else np.zeros_like(g)
        m[name] = beta1 * m_prev + (1 - beta1) * g          # running mean of the gradient
        v[name] = beta2 * v_prev + (1 - beta2) * g * g      # running mean of its square
        m_hat = m[name] / (1 - beta1 ** t)                  # bias corrections
        v_hat = v[name] / (1 - beta2 ** t)
        new_params[name] = params[name] - lr * m_hat / (np.sqrt(v_hat) + eps)   # a new array
    return new_params, {"t": t, "m": m, "v": v}
