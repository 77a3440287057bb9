"""Lesson 04 — LSTM: hidden tests and planted bugs.

Cache layout taught in the notebook (the reference's step layout):
step cache = (x, h_prev, c_prev, gates, tanh_c, p), gates = (N, 4H) activated [i | f | g | o];
sequence cache = the list of the T step caches.
"""

import numpy as np

from autograder import reference as ref
from autograder.checking import Exercise
from autograder.exercises.gated import (
    grads_entries,
    sequence_cases,
    sequence_forward,
    sequence_forward_run,
    step_cases,
    step_forward_run,
)
from autograder.reference import lstm_step_backward, lstm_step_forward

REF = {name: getattr(ref, name)
       for name in ["lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]}
COURSE = {**REF, "lstm_forward": sequence_forward(ref.lstm_step_forward, with_c=True)}


ex_lstm_step_forward = Exercise(
    "l04_e1_lstm_step_forward", ("lstm_step_forward",), step_forward_run(ref.lstm_step_forward),
    lambda rng: step_cases(rng, 4, True), REF,
)


@ex_lstm_step_forward.bug("the gate blocks are read in the wrong order: PyTorch stacks i, f, g, o")
def step_gate_order_ifog(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    sig = 1 / (1 + np.exp(-a))
    i, f, o, g = sig[:, :H], sig[:, H:2 * H], sig[:, 2 * H:3 * H], np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c), p)


@ex_lstm_step_forward.bug("the gate blocks were read as i, g, f, o: PyTorch stacks i, f, g, o "
                          "(rows 0:H input, H:2H forget, 2H:3H candidate, 3H:4H output)")
def step_gate_order_igfo(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    sig = 1 / (1 + np.exp(-a))
    i, g, f, o = sig[:, :H], np.tanh(a[:, H:2 * H]), sig[:, 2 * H:3 * H], sig[:, 3 * H:]
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c), p)


@ex_lstm_step_forward.bug("the gate blocks were read as f, i, g, o: PyTorch stacks i, f, g, o "
                          "(the input gate comes first)")
def step_gate_order_figo(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    sig = 1 / (1 + np.exp(-a))
    f, i, g, o = sig[:, :H], sig[:, H:2 * H], np.tanh(a[:, 2 * H:3 * H]), sig[:, 3 * H:]
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c), p)


@ex_lstm_step_forward.bug("the cache holds tanh(c) of the old cell; the backward pass needs tanh(c') of the new one")
def step_cache_old_tanh(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    sig = 1 / (1 + np.exp(-a))
    i, f, g, o = sig[:, :H], sig[:, H:2 * H], np.tanh(a[:, 2 * H:3 * H]), sig[:, 3 * H:]
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c_prev), p)


@ex_lstm_step_forward.bug("the candidate g uses a sigmoid; it is tanh (so it can be negative)")
def step_g_sigmoid(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    gates = 1 / (1 + np.exp(-a))
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, gates, np.tanh(c), p)


@ex_lstm_step_forward.bug("tanh of the new cell state is missing: h' = o ⊙ tanh(c')")
def step_h_without_tanh(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    sig = 1 / (1 + np.exp(-a))
    i, f, g, o = sig[:, :H], sig[:, H:2 * H], np.tanh(a[:, 2 * H:3 * H]), sig[:, 3 * H:]
    c = f * c_prev + i * g
    h = o * c
    return h, c, (x, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c), p)


@ex_lstm_step_forward.bug("input and forget gates are swapped: c' = f ⊙ c + i ⊙ g (f keeps the old cell)")
def step_gates_swapped(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    sig = 1 / (1 + np.exp(-a))
    i, f, g, o = sig[:, :H], sig[:, H:2 * H], np.tanh(a[:, 2 * H:3 * H]), sig[:, 3 * H:]
    c = i * c_prev + f * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c), p)


def _run_step_backward(target, fns, case):
    x, h_prev, c_prev, p, dh, dc = case.args
    _, _, cache = fns["lstm_step_forward"](x, h_prev, c_prev, p)
    dx, dh_prev, dc_prev, grads = target(dh, dc, cache)
    return {"dx": dx, "dh_prev": dh_prev, "dc_prev": dc_prev, **grads_entries(grads)}


ex_lstm_step_backward = Exercise(
    "l04_e2_lstm_step_backward", ("lstm_step_backward", "lstm_step_forward"), _run_step_backward,
    lambda rng: step_cases(rng, 4, True), REF,
)


@ex_lstm_step_backward.bug("the upstream dc is ignored: the cell gets dc plus dh ⊙ o ⊙ (1 − tanh²(c'))")
def step_backward_ignores_dc(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dh * o * (1 - tanh_c**2)
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total * f, grads


@ex_lstm_step_backward.bug("the gate gradients are stacked as i, g, f, o; they must follow the weights' blocks, "
                           "PyTorch's i, f, g, o")
def step_backward_stacked_igfo(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o * (1 - tanh_c**2)
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), dg * (1 - g**2), df * f * (1 - f), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total * f, grads


@ex_lstm_step_backward.bug("tanh' of the cell is missing: dh reaches c' as dh ⊙ o ⊙ (1 − tanh²(c'))")
def step_backward_no_tanh_grad(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total * f, grads


@ex_lstm_step_backward.bug("dc_prev must pass through the forget gate: dc_prev = dc_total ⊙ f")
def step_backward_dc_prev_no_f(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o * (1 - tanh_c**2)
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total, grads


@ex_lstm_step_backward.bug("the sigmoid's derivative is s ⊙ (1 − s); 1 − s² is tanh's")
def step_backward_wrong_sigmoid_grad(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o * (1 - tanh_c**2)
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * (1 - i**2), df * (1 - f**2), dg * (1 - g**2), do * (1 - o**2)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total * f, grads


@ex_lstm_step_backward.bug("dc_prev = dc_total ⊙ f, where dc_total = dc + dh ⊙ o ⊙ (1 − tanh²(c')); "
                           "dc ⊙ f alone drops the gradient that reaches the cell through h")
def step_backward_dc_prev_upstream_only(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o * (1 - tanh_c**2)
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc * f, grads


@ex_lstm_step_backward.bug("the gate gradients are stacked in the wrong order: da = [da_i | da_f | da_g | da_o], "
                           "the order of the gates")
def step_backward_da_order_ifog(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o * (1 - tanh_c**2)
    di, df, dg, do = dc_total * g, dc_total * c_prev, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total * f, grads


ex_lstm_forward = Exercise(
    "l04_e3_lstm_forward", ("lstm_forward", "lstm_step_forward"), sequence_forward_run(COURSE["lstm_forward"]),
    lambda rng: sequence_cases(rng, 4, True), REF,
)


@ex_lstm_forward.bug("the cell state is not carried: each step must get the previous step's c")
def forward_cell_not_carried(x, h0, c0, p):
    h, hs, caches = h0, [], []
    for t in range(x.shape[1]):
        h, _, cache = lstm_step_forward(x[:, t], h, c0, p)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


@ex_lstm_forward.bug("h0 and c0 are not used: the first step starts from the given states")
def forward_ignores_initial_state(x, h0, c0, p):
    h, c, hs, caches = np.zeros_like(h0), np.zeros_like(c0), [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_step_forward(x[:, t], h, c, p)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


@ex_lstm_forward.bug("hs holds the cell states c_t; it should hold the hidden states h_t")
def forward_returns_cells(x, h0, c0, p):
    h, c, cs, caches = h0, c0, [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_step_forward(x[:, t], h, c, p)
        cs.append(c)
        caches.append(cache)
    return np.stack(cs, axis=1), caches


@ex_lstm_forward.bug("hs is time-major (T, N, H): stack the states along axis 1 to get (N, T, H)")
def forward_time_major(x, h0, c0, p):
    h, c, hs, caches = h0, c0, [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_step_forward(x[:, t], h, c, p)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs), caches


def _run_backward(target, fns, case):
    x, h0, c0, p, dhs = case.args
    _, cache = fns["lstm_forward"](x, h0, c0, p)
    dx, dh0, dc0, grads = target(dhs, cache)
    return {"dx": dx, "dh0": dh0, "dc0": dc0, **grads_entries(grads)}


ex_lstm_backward = Exercise(
    "l04_e4_lstm_backward", ("lstm_backward", "lstm_forward"), _run_backward,
    lambda rng: sequence_cases(rng, 4, True), REF, bug_context=COURSE,
)


@ex_lstm_backward.bug("the cell-state gradient is not carried back: feed dc_prev of step t+1 into step t")
def backward_dc_not_carried(dhs, cache):
    N, T, H = dhs.shape
    dx, dh, dc, grads = [None] * T, np.zeros((N, H)), np.zeros((N, H)), None
    for t in reversed(range(T)):
        dx[t], dh, dc_prev, g = lstm_step_backward(dhs[:, t] + dh, np.zeros((N, H)), cache[t])
        dc = dc_prev
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx, axis=1), dh, dc, grads


@ex_lstm_backward.bug("the gradient from the future is dropped: hs[:, t] gets dhs[:, t] plus the next step's dh_prev")
def backward_dh_not_carried(dhs, cache):
    N, T, H = dhs.shape
    dx, dh, dc, grads = [None] * T, np.zeros((N, H)), np.zeros((N, H)), None
    for t in reversed(range(T)):
        dx[t], dh, dc, g = lstm_step_backward(dhs[:, t], dc, cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx, axis=1), dh, dc, grads


@ex_lstm_backward.bug("the parameter gradients are overwritten at each step; they must be summed over time")
def backward_overwrites_grads(dhs, cache):
    N, T, H = dhs.shape
    dx, dh, dc, grads = [None] * T, np.zeros((N, H)), np.zeros((N, H)), None
    for t in reversed(range(T)):
        dx[t], dh, dc, grads = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])
    return np.stack(dx, axis=1), dh, dc, grads


@ex_lstm_backward.bug("time runs forwards here: backpropagation must visit t = T-1 down to 0")
def backward_forward_in_time(dhs, cache):
    N, T, H = dhs.shape
    dx, dh, dc, grads = [None] * T, np.zeros((N, H)), np.zeros((N, H)), None
    for t in range(T):
        dx[t], dh, dc, g = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx, axis=1), dh, dc, grads


@ex_lstm_backward.bug("dx is time-major (T, N, D): stack the input gradients along axis 1 to get (N, T, D)")
def backward_dx_time_major(dhs, cache):
    N, T, H = dhs.shape
    dx, dh, dc, grads = [None] * T, np.zeros((N, H)), np.zeros((N, H)), None
    for t in reversed(range(T)):
        dx[t], dh, dc, g = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx), dh, dc, grads


EXERCISES = [ex_lstm_step_forward, ex_lstm_step_backward, ex_lstm_forward, ex_lstm_backward]
