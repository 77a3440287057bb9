"""Reference for lesson 08: LSTMs with a gate removed, parameter budgets, and run summaries.

Two ablations of Greff et al. (2017, "LSTM: A Search Space Odyssey"), each an LSTM with one gate
fixed to 1 and its block of weights removed, so that the layer has three gate blocks (3H rows),
in PyTorch's order with the missing block left out:

=================  ==========  ===========================================================
variant            blocks      one step
=================  ==========  ===========================================================
``lstm_no_forget``  i, g, o    c' = c + i ⊙ g,          h' = o ⊙ tanh(c')     (f ≡ 1)
``lstm_no_output``  i, f, g    c' = f ⊙ c + i ⊙ g,      h' = tanh(c')         (o ≡ 1)
=================  ==========  ===========================================================

with i, f, o = sigmoid(a_block), g = tanh(a_g) and a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh (N, 3H).
The no-forget variant is Hochreiter & Schmidhuber's original (1997) cell, whose "constant error
carousel" c' = c + ... passes the cell gradient back unchanged; the forget gate was added by
Gers, Schmidhuber & Cummins (2000).

Shapes: N batch, T time, D input features, H hidden units; x (N, T, D) batch-first.
Parameters: dict p with W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,).
Caches (the layout of lesson 04, with 3H gate columns):

    step cache:     (x, h_prev, c_prev, gates, tanh_c, p), gates (N, 3H) the activated blocks
    sequence cache: {"x_tm", "p", "gates" (T, N, 3H), "h_states" (T+1, N, H), "c_states" (T+1, N, H)}
"""

import numpy as np

__all__ = [
    "ABLATION_BLOCKS",
    "GATE_BLOCKS",
    "hidden_size_for_budget",
    "lstm_no_forget_backward",
    "lstm_no_forget_forward",
    "lstm_no_forget_step_backward",
    "lstm_no_forget_step_forward",
    "lstm_no_output_backward",
    "lstm_no_output_forward",
    "lstm_no_output_step_backward",
    "lstm_no_output_step_forward",
    "model_param_count",
    "rnn_relu_backward",
    "rnn_relu_forward",
    "summarize_runs",
]

# The gate blocks of each ablated LSTM, in the order of the rows of W_ih / W_hh.
ABLATION_BLOCKS = {"lstm_no_forget": ("i", "g", "o"), "lstm_no_output": ("i", "f", "g")}
# Gate blocks per model (rows of W_ih are GATE_BLOCKS[model] * H).
GATE_BLOCKS = {"rnn": 1, "rnn_relu": 1, "gru": 3, "lstm": 4, "lstm_no_forget": 3, "lstm_no_output": 3}


# ------------------------------------------------------------------------- parameter budgets

def model_param_count(model, D, H, K=1):
    """Parameters of one recurrent layer plus a linear readout to K outputs: G·H·(D+H+2) + K·(H+1)."""
    return GATE_BLOCKS[model] * H * (D + H + 2) + K * (H + 1)


def hidden_size_for_budget(model, D, budget, K=1):
    """The largest H whose parameter count G·H·(D+H+2) + K·(H+1) does not exceed ``budget``.

    G = GATE_BLOCKS[model] (rnn 1, gru 3, lstm 4, the ablated LSTMs 3). Returns 0 when even H = 1
    exceeds the budget. The count grows with H, so a linear search from H = 1 suffices.
    """
    H = 0
    while model_param_count(model, D, H + 1, K) <= budget:
        H += 1
    return H


# ------------------------------------------------------------------------------ the ablations

def _sigmoid(x):
    """Numerically stable logistic function, (1 + tanh(x / 2)) / 2."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _activate(a, blocks):
    """Activated gates (N, 3H): sigmoid on the i, f, o blocks, tanh on the g block."""
    H = a.shape[1] // len(blocks)
    act = _sigmoid(a)
    k = blocks.index("g")
    act[:, k * H:(k + 1) * H] = np.tanh(a[:, k * H:(k + 1) * H])
    return act


def _gates(act, blocks):
    """The H-wide blocks of act by name; a removed gate is the constant 1.0."""
    H = act.shape[1] // len(blocks)
    named = {name: act[:, k * H:(k + 1) * H] for k, name in enumerate(blocks)}
    return named["i"], named.get("f", 1.0), named["g"], named.get("o", 1.0)


def _pointwise(act, c_prev, blocks):
    """New cell state and hidden state of one step from the activated gates."""
    i, f, g, o = _gates(act, blocks)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    return o * tanh_c, c, tanh_c


def _pointwise_backward(dh, dc, act, c_prev, tanh_c, blocks):
    """Gradient of the pre-activations da (N, 3H) and of c_prev, for one step."""
    i, f, g, o = _gates(act, blocks)
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)       # h' = o tanh(c'): total gradient of c'
    dact = {"i": dc * g, "g": dc * i}                # c' = f c + i g
    if "f" in blocks:
        dact["f"] = dc * c_prev
    if "o" in blocks:
        dact["o"] = dh * tanh_c
    # through the nonlinearities: tanh' = 1 - g² for g, sigmoid' = s (1 - s) for the gates
    slopes = [1.0 - s * s if name == "g" else s * (1.0 - s)
              for name, s in zip(blocks, np.split(act, len(blocks), axis=1))]
    da = np.concatenate([dact[name] * slope for name, slope in zip(blocks, slopes)], axis=1)
    return da, dc * f                                # c' = f c + ...: dc_prev = dc f (f ≡ 1: dc)


def _step_forward(x, h_prev, c_prev, p, blocks):
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    act = _activate(a, blocks)
    h, c, tanh_c = _pointwise(act, c_prev, blocks)
    return h, c, (x, h_prev, c_prev, act, tanh_c, p)


def _step_backward(dh, dc, cache, blocks):
    x, h_prev, c_prev, act, tanh_c, p = cache
    da, dc_prev = _pointwise_backward(dh, dc, act, c_prev, tanh_c, blocks)
    db = da.sum(axis=0)
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": db, "b_hh": db.copy()}
    return da @ p["W_ih"], da @ p["W_hh"], dc_prev, grads


def _forward(x, h0, c0, p, blocks):
    N, T, D = x.shape
    H = h0.shape[1]
    G = len(blocks)
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    pre = (x_tm @ p["W_ih"].T + p["b_ih"] + p["b_hh"]).reshape(T, N, G * H)  # input part, all steps
    W_hh_T = np.ascontiguousarray(p["W_hh"].T)
    gates = np.empty((T, N, G * H))
    h_states, c_states = np.empty((T + 1, N, H)), np.empty((T + 1, N, H))
    h_states[0], c_states[0] = h0, c0
    for t in range(T):
        gates[t] = _activate(pre[t] + h_states[t] @ W_hh_T, blocks)
        h_states[t + 1], c_states[t + 1], _ = _pointwise(gates[t], c_states[t], blocks)
    hs = np.ascontiguousarray(h_states[1:].transpose(1, 0, 2))
    return hs, {"x_tm": x_tm, "p": p, "gates": gates, "h_states": h_states, "c_states": c_states}


def _backward(dhs, cache, blocks):
    x_tm, p, gates = cache["x_tm"], cache["p"], cache["gates"]
    h_states, c_states = cache["h_states"], cache["c_states"]
    T, N, GH = gates.shape
    H = h_states.shape[2]
    da_all = np.empty((T, N, GH))
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        tanh_c = np.tanh(c_states[t + 1])
        da_all[t], dc_next = _pointwise_backward(dhs[:, t] + dh_next, dc_next, gates[t], c_states[t],
                                                 tanh_c, blocks)
        dh_next = da_all[t] @ p["W_hh"]
    da = da_all.reshape(T * N, GH)
    db = da.sum(axis=0)
    dx = (da @ p["W_ih"]).reshape(T, N, -1).transpose(1, 0, 2)
    grads = {"W_ih": da.T @ x_tm, "W_hh": da.T @ h_states[:T].reshape(T * N, H), "b_ih": db, "b_hh": db.copy()}
    return np.ascontiguousarray(dx), dh_next, dc_next, grads


_NF, _NO = ABLATION_BLOCKS["lstm_no_forget"], ABLATION_BLOCKS["lstm_no_output"]


def lstm_no_forget_step_forward(x, h_prev, c_prev, p):
    """One step of the LSTM without forget gate (blocks i, g, o): c' = c + i⊙g, h' = o⊙tanh(c').

    x (N, D), h_prev (N, H), c_prev (N, H), p with 3H rows. Returns h (N, H), c (N, H), cache.
    """
    return _step_forward(x, h_prev, c_prev, p, _NF)


def lstm_no_forget_step_backward(dh, dc, cache):
    """Backward of :func:`lstm_no_forget_step_forward`: dx (N, D), dh_prev, dc_prev (N, H), grads."""
    return _step_backward(dh, dc, cache, _NF)


def lstm_no_forget_forward(x, h0, c0, p):
    """The LSTM without forget gate over a sequence x (N, T, D): hs (N, T, H), cache."""
    return _forward(x, h0, c0, p, _NF)


def lstm_no_forget_backward(dhs, cache):
    """BPTT of :func:`lstm_no_forget_forward`: dx (N, T, D), dh0 (N, H), dc0 (N, H), grads."""
    return _backward(dhs, cache, _NF)


def lstm_no_output_step_forward(x, h_prev, c_prev, p):
    """One step of the LSTM without output gate (blocks i, f, g): c' = f⊙c + i⊙g, h' = tanh(c').

    x (N, D), h_prev (N, H), c_prev (N, H), p with 3H rows. Returns h (N, H), c (N, H), cache.
    """
    return _step_forward(x, h_prev, c_prev, p, _NO)


def lstm_no_output_step_backward(dh, dc, cache):
    """Backward of :func:`lstm_no_output_step_forward`: dx (N, D), dh_prev, dc_prev (N, H), grads."""
    return _step_backward(dh, dc, cache, _NO)


def lstm_no_output_forward(x, h0, c0, p):
    """The LSTM without output gate over a sequence x (N, T, D): hs (N, T, H), cache."""
    return _forward(x, h0, c0, p, _NO)


def lstm_no_output_backward(dhs, cache):
    """BPTT of :func:`lstm_no_output_forward`: dx (N, T, D), dh0 (N, H), dc0 (N, H), grads."""
    return _backward(dhs, cache, _NO)


# ------------------------------------------------------------------------------ the ReLU RNN

def rnn_relu_forward(x, h0, p):
    """The vanilla RNN with ReLU instead of tanh, h_t = max(0, x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh).

    With W_hh = I and zero biases at the start this is the IRNN of Le, Jaitly & Hinton (2015).
    x (N, T, D), h0 (N, H), p with H rows. Returns hs (N, T, H) and a cache for :func:`rnn_relu_backward`.
    """
    N, T, _ = x.shape
    xw = x @ p["W_ih"].T + (p["b_ih"] + p["b_hh"])
    W_hh_T = np.ascontiguousarray(p["W_hh"].T)
    hs = np.empty((N, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = np.maximum(xw[:, t] + h @ W_hh_T, 0.0)
        hs[:, t] = h
    return hs, {"x": x, "h0": h0, "hs": hs, "p": p}


def rnn_relu_backward(dhs, cache):
    """BPTT of :func:`rnn_relu_forward`: dx (N, T, D), dh0 (N, H), grads. ReLU'(a) = 1 where h > 0, else 0."""
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    N, T, H = hs.shape
    das = np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        das[:, t] = (dhs[:, t] + dh_next) * (hs[:, t] > 0)
        dh_next = das[:, t] @ p["W_hh"]
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1).reshape(N * T, H)
    da = das.reshape(N * T, H)
    db = da.sum(axis=0)
    grads = {"W_ih": da.T @ x.reshape(N * T, -1), "W_hh": da.T @ h_prev, "b_ih": db, "b_hh": db.copy()}
    return das @ p["W_ih"], dh_next, grads


# ------------------------------------------------------------------------------- run summaries

def summarize_runs(results, models, Ts, key="test_mse"):
    """Mean and sample standard deviation (ddof=1) of ``r[key]`` over the runs of each (model, T).

    results: list of dicts with at least "model", "T" and ``key`` (one dict per run, e.g. per seed).
    Returns mean, std: arrays (len(models), len(Ts)); entry [m, j] summarises the runs with
    model == models[m] and T == Ts[j]. Runs of other models or lengths are ignored. A cell with
    no run is NaN; a cell with one run has std NaN (ddof=1 needs two).
    """
    mean = np.full((len(models), len(Ts)), np.nan)
    std = np.full((len(models), len(Ts)), np.nan)
    for m, model in enumerate(models):
        for j, T in enumerate(Ts):
            values = np.array([r[key] for r in results if r["model"] == model and r["T"] == T], dtype=float)
            if values.size:
                mean[m, j] = values.mean()
            if values.size > 1:
                std[m, j] = values.std(ddof=1)
    return mean, std
