"""Reference optimiser for lesson 06: Adam, exactly as torch.optim.Adam (no weight decay)."""

import numpy as np

__all__ = ["adam_step"]


def adam_step(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam update. params, grads: dicts of arrays with the same keys; state: {} at first.

    Returns (new params, new state); the inputs are not changed. state holds the step count
    "t" and the moment estimates "m" and "v" (dicts like params).
    m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  p ← p - lr · m̂ / (√v̂ + eps)
    with m̂ = m / (1-β1^t), v̂ = v / (1-β2^t).
    """
    t = state.get("t", 0) + 1
    m = {k: beta1 * state["m"][k] + (1 - beta1) * g if state else (1 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state["v"][k] + (1 - beta2) * g * g if state else (1 - beta2) * g * g
         for k, g in grads.items()}
    new = {}
    for k, value in params.items():
        m_hat = m[k] / (1 - beta1**t)
        v_hat = v[k] / (1 - beta2**t)
        new[k] = value - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new, {"t": t, "m": m, "v": v}
