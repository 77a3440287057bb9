"""Lesson 04 — Long short-term memory: a cell state that gradients can cross

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/04_lstm by `make build`; do not edit."""

import numpy as np


def sigmoid(a):
    # The logistic function 1 / (1 + exp(-a)), written so that it never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lstm_step_forward(x, h_prev, c_prev, p):
    """One LSTM step for a batch of N examples.

    x:      (N, D) inputs at this time step.
    h_prev: (N, H) previous hidden state;  c_prev: (N, H) previous cell state.
    p:      dict with W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,) -- torch.nn.LSTM's layout,
            gate blocks stacked in the order i, f, g, o.

    Returns h (N, H), c (N, H) and cache = (x, h_prev, c_prev, gates, tanh_c, p), where gates (N, 4H)
    holds the activated gates [i | f | g | o] and tanh_c = tanh(c).
    Hint: compute a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh once, (N, 4H), then slice its four
    H-wide blocks with H = h_prev.shape[1]; use sigmoid (from the setup cell) for i, f, o and np.tanh for g.
    """
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]   # (N, 4H) pre-activations
    i = sigmoid(a[:, :H])               # input gate: how much of the candidate to write
    f = sigmoid(a[:, H:2 * H])          # forget gate: how much of the old cell to keep
    g = np.tanh(a[:, 2 * H:3 * H])      # candidate value, in (-1, 1)
    o = sigmoid(a[:, 3 * H:])           # output gate: how much of the cell to show
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    gates = np.hstack([i, f, g, o])     # (N, 4H), the block order of a
    cache = (x, h_prev, c_prev, gates, tanh_c, p)
    return h, c, cache


def lstm_step_backward(dh, dc, cache):
    """Backward pass of one LSTM step.

    dh:    (N, H) gradient of the loss with respect to the step's new hidden state h.
    dc:    (N, H) gradient of the loss with respect to the step's new cell state c (from the next step).
    cache: (x, h_prev, c_prev, gates, tanh_c, p) from lstm_step_forward.

    Returns dx (N, D), dh_prev (N, H), dc_prev (N, H) and grads, a dict with W_ih (4H, D),
    W_hh (4H, H), b_ih (4H,) and b_hh (4H,).
    Hint: walk h = o * tanh(c) and c = f * c_prev + i * g backwards; c is reached along two paths,
    whose gradients add. Take the slopes of sigmoid and tanh from the activated values in the cache,
    stack the pre-activation gradients in the order i, f, g, o, then use lesson 03's affine rule.
    """
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    # h = o * tanh(c): the output gate, and everything that reaches the cell
    do = dh * tanh_c
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    # c = f * c_prev + i * g
    di = dc_total * g
    df = dc_total * c_prev
    dg = dc_total * i
    dc_prev = dc_total * f
    # through the non-linearities: sigmoid' = s (1 - s), tanh' = 1 - t^2
    da = np.hstack([di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g ** 2), do * o * (1.0 - o)])
    # a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh, as in lesson 03
    grads = {
        "W_ih": da.T @ x,               # (4H, N) @ (N, D) -> (4H, D)
        "W_hh": da.T @ h_prev,          # (4H, N) @ (N, H) -> (4H, H)
        "b_ih": da.sum(axis=0),
        "b_hh": da.sum(axis=0),
    }
    dx = da @ p["W_ih"]
    dh_prev = da @ p["W_hh"]
    return dx, dh_prev, dc_prev, grads


def lstm_forward(x, h0, c0, p):
    """Run an LSTM over a batch of sequences.

    x:  (N, T, D) inputs, batch-first.
    h0: (N, H) initial hidden state;  c0: (N, H) initial cell state.
    p:  parameter dict as in lstm_step_forward.

    Returns hs (N, T, H), where hs[:, t] is the hidden state after reading x[:, t], and cache, the list
    of the T step caches of lstm_step_forward in time order.
    Hint: allocate hs = np.zeros((N, T, H)); loop over t carrying BOTH h and c from step to step.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    hs = np.zeros((N, T, H))
    h, c, cache = h0, c0, []
    for t in range(T):
        h, c, step_cache = lstm_step_forward(x[:, t], h, c, p)   # the same p at every step
        hs[:, t] = h
        cache.append(step_cache)
    return hs, cache


def lstm_backward(dhs, cache):
    """Backpropagation through time for an LSTM.

    dhs:   (N, T, H) direct gradient of the loss with respect to every hidden state hs[:, t].
    cache: the list of T step caches from lstm_forward.

    Returns dx (N, T, D), dh0 (N, H), dc0 (N, H) and grads, a dict with W_ih (4H, D), W_hh (4H, H),
    b_ih (4H,) and b_hh (4H,), summed over time.
    Hint: loop t = T-1, ..., 0 carrying dh_next and dc_next (both zero at the start); the hidden state
    hs[:, t] gets dhs[:, t] + dh_next, its cell state gets dc_next. D is cache[0][0].shape[1].
    """
    N, T, H = dhs.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))      # nothing flows into the last states
    grads = {name: np.zeros_like(cache[0][5][name]) for name in ("W_ih", "W_hh", "b_ih", "b_hh")}
    for t in reversed(range(T)):
        dx[:, t], dh_next, dc_next, step_grads = lstm_step_backward(dhs[:, t] + dh_next, dc_next, cache[t])
        for name in grads:
            grads[name] += step_grads[name]                    # shared weights: sum over time
    return dx, dh_next, dc_next, grads
