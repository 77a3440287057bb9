"""Lesson 05 — The GRU: a gated loop with a single state

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/05_gru by `make build`; do not edit."""

import numpy as np


def sigmoid(a):
    # The logistic function 1 / (1 + exp(-a)), written as (1 + tanh(a / 2)) / 2: equal, and it never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def gru_step_forward(x, h_prev, p):
    """One GRU step (PyTorch's convention) for a batch.

    x: (N, D) input; h_prev: (N, H) previous state; p: dict with W_ih (3H, D), W_hh (3H, H),
    b_ih (3H,), b_hh (3H,), gate blocks stacked in the order r, z, n.
    Returns h: (N, H) new state, and cache = (x, h_prev, gates, hn, p) with
    gates: (N, 3H) activated [r | z | n], and hn: (N, H) = h_prev W_hn^T + b_hn (before r).
    Hint: compute gi = x W_ih^T + b_ih and gh = h_prev W_hh^T + b_hh once, then slice the blocks
    [:, :H], [:, H:2H], [:, 2H:]. r multiplies the n block of gh, bias included.
    """
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]                # (N, 3H): the input's share of every block
    gh = h_prev @ p["W_hh"].T + p["b_hh"]           # (N, 3H): the state's share, one matrix product
    r = sigmoid(gi[:, :H] + gh[:, :H])              # reset gate
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])    # update gate
    hn = gh[:, 2 * H:]                              # W_hn h + b_hn, before the reset gate acts
    n = np.tanh(gi[:, 2 * H:] + r * hn)             # candidate
    h = (1 - z) * n + z * h_prev                    # keep a fraction z of the old state
    return h, (x, h_prev, np.hstack([r, z, n]), hn, p)


def gru_step_backward(dh, cache):
    """Backward pass of one GRU step.

    dh: (N, H) upstream gradient of the new state h.
    cache: (x, h_prev, gates, hn, p) from gru_step_forward; gates = [r | z | n] (N, 3H).
    Returns dx (N, D), dh_prev (N, H) and grads, a dict with W_ih (3H, D), W_hh (3H, H),
    b_ih (3H,), b_hh (3H,).
    Hint: go back through h' = (1 - z) n + z h, n = tanh(gi_n + r * hn) and the two sigmoids; take every
    slope from the activated gates in the cache; h_prev gets gradient along two routes, which add.
    """
    x, h_prev, gates, hn, p = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    # h' = (1 - z) * n + z * h_prev
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dh_direct = dh * z                              # skips every matrix and every tanh
    # n = tanh(gi_n + r * hn)
    da_n = dn * (1 - n ** 2)
    dr = da_n * hn
    # r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z)
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    dgi = np.hstack([da_r, da_z, da_n])             # gradient of gi = x W_ih^T + b_ih
    dgh = np.hstack([da_r, da_z, da_n * r])         # gradient of gh = h_prev W_hh^T + b_hh
    dx = dgi @ p["W_ih"]
    dh_prev = dh_direct + dgh @ p["W_hh"]
    grads = {"W_ih": dgi.T @ x, "W_hh": dgh.T @ h_prev, "b_ih": dgi.sum(axis=0), "b_hh": dgh.sum(axis=0)}
    return dx, dh_prev, grads


def gru_forward(x, h0, p):
    """Run a GRU over a batch of sequences.

    x: (N, T, D) inputs, batch-first; h0: (N, H) initial state; p: as in gru_step_forward.
    Returns hs: (N, T, H), hs[:, t] the state after reading x[:, t], and cache: the list of the
    T step caches of gru_step_forward, cache[t] for step t.
    Hint: one call of gru_step_forward per time step; the state it returns is the next step's h_prev.
    """
    h, hs, cache = h0, [], []
    for t in range(x.shape[1]):
        h, step_cache = gru_step_forward(x[:, t], h, p)
        hs.append(h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache


def gru_backward(dhs, cache):
    """Backpropagation through time for gru_forward.

    dhs: (N, T, H) upstream gradient of every state in hs; cache: the list of step caches.
    Returns dx (N, T, D), dh0 (N, H) and grads, a dict shaped like p, summed over the T steps.
    Hint: t = T-1, ..., 0; the gradient reaching hs[:, t] is dhs[:, t] plus the next step's dh_prev.
    """
    N, T, H = dhs.shape
    p = cache[0][4]                                  # every step cache ends with the parameters
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    dx = [None] * T
    dh_next = np.zeros((N, H))                       # nothing flows back into the last state from the future
    for t in reversed(range(T)):
        dx[t], dh_next, step_grads = gru_step_backward(dhs[:, t] + dh_next, cache[t])
        for name in grads:
            grads[name] += step_grads[name]          # shared weights: sum over time
    return np.stack(dx, axis=1), dh_next, grads


def gated_param_count(G, D, H):
    """Number of parameters of one recurrent layer with G gate blocks (RNN 1, GRU 3, LSTM 4).

    G, D, H: ints (gate blocks, input features, hidden units). Returns an int: the sizes of
    W_ih (G*H, D), W_hh (G*H, H), b_ih (G*H,) and b_hh (G*H,) added up.
    Hint: every block has its own input weights, recurrent weights and two biases.
    """
    return G * H * D + G * H * H + 2 * G * H
