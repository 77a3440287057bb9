"""Lesson 08 — Gated versus vanilla: an experiment at equal budgets

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/08_gated_vs_vanilla by `make build`; do not edit."""

import numpy as np

GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4, "lstm_no_forget": 3, "lstm_no_output": 3}


def sigmoid(a):
    # 1 / (1 + exp(-a)), written so that it never overflows
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def hidden_size_for_budget(model, D, budget, K=1):
    """The largest hidden size H whose parameter count fits the budget.

    model:  one of GATE_BLOCKS ("rnn", "gru", "lstm", "lstm_no_forget", "lstm_no_output").
    D:      input features; K: outputs of the linear readout on the last state.
    budget: the largest allowed number of parameters (readout included).

    Returns H (int): the largest H with G*H*(D + H + 2) + K*(H + 1) <= budget, G = GATE_BLOCKS[model].
    Hint: P(H) increases with H, so count up from H = 0 while P(H + 1) still fits.
    """
    G = GATE_BLOCKS[model]

    def count(H):
        return G * H * (D + H + 2) + K * (H + 1)    # recurrent layer + readout

    H = 0
    while count(H + 1) <= budget:
        H += 1
    return H


def lstm_no_forget_step_forward(x, h_prev, c_prev, p):
    """One step of the LSTM without forget gate (Hochreiter & Schmidhuber's 1997 cell).

    x: (N, D) input; h_prev, c_prev: (N, H) previous hidden and cell states.
    p: W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), blocks in the order [i | g | o].

    Returns h (N, H), c (N, H) and cache = (x, h_prev, c_prev, gates, tanh_c, p), gates (N, 3H)
    the activated blocks [i | g | o].
    Hint: c = c_prev + i * g (f = 1), h = o * tanh(c); sigmoid is defined in the setup cell.
    """
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]   # (N, 3H)
    i = sigmoid(a[:, :H])               # input gate
    g = np.tanh(a[:, H:2 * H])          # candidate
    o = sigmoid(a[:, 2 * H:])           # output gate
    c = c_prev + i * g                  # f = 1: the old cell is kept whole
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = (x, h_prev, c_prev, np.hstack([i, g, o]), tanh_c, p)
    return h, c, cache


def lstm_no_forget_step_backward(dh, dc, cache):
    """Backward pass of lstm_no_forget_step_forward.

    dh, dc: (N, H) gradients of the loss with respect to the new h and the new c.
    cache:  (x, h_prev, c_prev, gates, tanh_c, p) from lstm_no_forget_step_forward.

    Returns dx (N, D), dh_prev (N, H), dc_prev (N, H) and grads, a dict with W_ih (3H, D),
    W_hh (3H, H), b_ih (3H,), b_hh (3H,).
    Hint: c feeds the loss through the next step (dc) and through h = o * tanh(c): add both first.
    """
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    do = dh * tanh_c                                   # h = o * tanh(c)
    dc_total = dc + dh * o * (1 - tanh_c ** 2)         # c feeds the future and h
    di = dc_total * g                                  # c = c_prev + i * g
    dg = dc_total * i
    dc_prev = dc_total                                 # f = 1: passed back unchanged
    da = np.hstack([di * i * (1 - i), dg * (1 - g ** 2), do * o * (1 - o)])   # (N, 3H)
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(axis=0), "b_hh": da.sum(axis=0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_prev, grads


def summarize_runs(results, models, Ts, key="test_mse"):
    """Mean and sample standard deviation of r[key] over the runs of every (model, T).

    results: list of dicts with at least "model", "T" and key (one dict per trained network).
    models:  list of model names (rows); Ts: list of sequence lengths (columns).

    Returns mean, std: arrays (len(models), len(Ts)); NaN where there is no run (std: fewer than two).
    Hint: np.std(values, ddof=1) is the sample standard deviation.
    """
    mean = np.full((len(models), len(Ts)), np.nan)
    std = np.full((len(models), len(Ts)), np.nan)
    for m, model in enumerate(models):
        for j, T in enumerate(Ts):
            values = [r[key] for r in results if r["model"] == model and r["T"] == T]
            if len(values) >= 1:
                mean[m, j] = np.mean(values)
            if len(values) >= 2:
                std[m, j] = np.std(values, ddof=1)      # sample std over seeds
    return mean, std
