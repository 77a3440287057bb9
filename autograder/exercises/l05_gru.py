"""Lesson 05 — GRU: hidden tests and planted bugs.

Cache layout taught in the notebook (the reference's step layout):
step cache = (x, h_prev, gates, hn, p), gates = (N, 3H) activated [r | z | n],
hn = h_prev W_hnᵀ + b_hn (N, H); sequence cache = the list of the T step caches.
"""

import numpy as np

from autograder import reference as ref
from autograder.checking import Case, Exercise, returns
from autograder.exercises.gated import (
    grads_entries,
    sequence_cases,
    sequence_forward,
    sequence_forward_run,
    step_cases,
    step_forward_run,
)
from autograder.reference import gru_step_backward, gru_step_forward

REF = {name: getattr(ref, name)
       for name in ["gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
                    "gated_param_count"]}
COURSE = {**REF, "gru_forward": sequence_forward(ref.gru_step_forward, with_c=False)}


def _step_cases_one_unit_last(rng):
    """step_cases with the H = 1 case moved to the end: with a single unit, W_hn (r ⊙ h) = r ⊙ (W_hn h),
    so Cho's convention and a bias left outside the reset gate give the same h, and only a case with
    H > 1 tells the two mistakes apart (the diagnosis looks at the first failing case)."""
    cases = step_cases(rng, 3, False)
    return cases[1:] + cases[:1]


ex_gru_step_forward = Exercise(
    "l05_e1_gru_step_forward", ("gru_step_forward",), step_forward_run(ref.gru_step_forward, with_c=False),
    _step_cases_one_unit_last, REF,
)


@ex_gru_step_forward.bug("this is Cho et al.'s (2014) GRU, with r applied to h before W_hn; PyTorch's "
                         "applies it after: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))")
def step_cho_convention(x, h_prev, p):
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]
    gh = h_prev @ p["W_hh"].T + p["b_hh"]
    r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gi[:, 2 * H:] + (r * h_prev) @ p["W_hh"][2 * H:].T + p["b_hh"][2 * H:])
    h = (1 - z) * n + z * h_prev
    return h, (x, h_prev, np.hstack([r, z, n]), gh[:, 2 * H:], p)


@ex_gru_step_forward.bug("z and 1 − z are swapped: PyTorch keeps the old state with weight z, "
                         "h' = (1 − z) ⊙ n + z ⊙ h")
def step_z_swapped(x, h_prev, p):
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]
    gh = h_prev @ p["W_hh"].T + p["b_hh"]
    r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h = z * n + (1 - z) * h_prev
    return h, (x, h_prev, np.hstack([r, z, n]), gh[:, 2 * H:], p)


@ex_gru_step_forward.bug("the gate blocks are read in the wrong order: PyTorch stacks r, z, n")
def step_gate_order(x, h_prev, p):
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]
    gh = h_prev @ p["W_hh"].T + p["b_hh"]
    z = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    r = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h = (1 - z) * n + z * h_prev
    return h, (x, h_prev, np.hstack([r, z, n]), gh[:, 2 * H:], p)


@ex_gru_step_forward.bug("the cache's hn lacks b_hn: the backward pass needs hn = h_prev W_hnᵀ + b_hn, "
                         "the term r multiplies")
def step_cache_hn_without_bias(x, h_prev, p):
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]
    gh = h_prev @ p["W_hh"].T + p["b_hh"]
    r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h = (1 - z) * n + z * h_prev
    return h, (x, h_prev, np.hstack([r, z, n]), h_prev @ p["W_hh"][2 * H:].T, p)


@ex_gru_step_forward.bug("the reset gate is missing: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))")
def step_no_reset(x, h_prev, p):
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]
    gh = h_prev @ p["W_hh"].T + p["b_hh"]
    r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gi[:, 2 * H:] + gh[:, 2 * H:])
    h = (1 - z) * n + z * h_prev
    return h, (x, h_prev, np.hstack([r, z, n]), gh[:, 2 * H:], p)


@ex_gru_step_forward.bug("b_hn belongs inside the reset gate's product: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))")
def step_bias_outside_reset(x, h_prev, p):
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]
    gh = h_prev @ p["W_hh"].T + p["b_hh"]
    r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gi[:, 2 * H:] + r * (h_prev @ p["W_hh"][2 * H:].T) + p["b_hh"][2 * H:])
    h = (1 - z) * n + z * h_prev
    return h, (x, h_prev, np.hstack([r, z, n]), gh[:, 2 * H:], p)


def _run_step_backward(target, fns, case):
    x, h_prev, p, dh = case.args
    _, cache = fns["gru_step_forward"](x, h_prev, p)
    dx, dh_prev, grads = target(dh, cache)
    return {"dx": dx, "dh_prev": dh_prev, **grads_entries(grads)}


ex_gru_step_backward = Exercise(
    "l05_e2_gru_step_backward", ("gru_step_backward", "gru_step_forward"), _run_step_backward,
    lambda rng: step_cases(rng, 3, False), REF,
)


@ex_gru_step_backward.bug("dh_prev misses the direct path: h' contains z ⊙ h, so dh_prev gets dh ⊙ z")
def step_backward_no_direct_path(dh, cache):
    x, h_prev, gates, hn, p = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dan = dh * (1 - z) * (1 - n**2)
    dr, dz = dan * hn, dh * (h_prev - n)
    dgi = np.hstack([dr * r * (1 - r), dz * z * (1 - z), dan])
    dgh = np.hstack([dr * r * (1 - r), dz * z * (1 - z), dan * r])
    grads = {"W_ih": dgi.T @ x, "W_hh": dgh.T @ h_prev, "b_ih": dgi.sum(0), "b_hh": dgh.sum(0)}
    return dgi @ p["W_ih"], dgh @ p["W_hh"], grads


@ex_gru_step_backward.bug("the sign of dz is flipped: with h' = (1 − z) ⊙ n + z ⊙ h, dz = dh ⊙ (h − n)")
def step_backward_dz_sign(dh, cache):
    x, h_prev, gates, hn, p = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dan = dh * (1 - z) * (1 - n**2)
    dr, dz = dan * hn, dh * (n - h_prev)
    dgi = np.hstack([dr * r * (1 - r), dz * z * (1 - z), dan])
    dgh = np.hstack([dr * r * (1 - r), dz * z * (1 - z), dan * r])
    grads = {"W_ih": dgi.T @ x, "W_hh": dgh.T @ h_prev, "b_ih": dgi.sum(0), "b_hh": dgh.sum(0)}
    return dgi @ p["W_ih"], dh * z + dgh @ p["W_hh"], grads


@ex_gru_step_backward.bug("the gradient of W_hn h + b_hn must be scaled by r: n gets r ⊙ (W_hn h + b_hn)")
def step_backward_hn_without_r(dh, cache):
    x, h_prev, gates, hn, p = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dan = dh * (1 - z) * (1 - n**2)
    dr, dz = dan * hn, dh * (h_prev - n)
    dgi = np.hstack([dr * r * (1 - r), dz * z * (1 - z), dan])
    dgh = np.hstack([dr * r * (1 - r), dz * z * (1 - z), dan])
    grads = {"W_ih": dgi.T @ x, "W_hh": dgh.T @ h_prev, "b_ih": dgi.sum(0), "b_hh": dgh.sum(0)}
    return dgi @ p["W_ih"], dh * z + dgh @ p["W_hh"], grads


@ex_gru_step_backward.bug("the sigmoid's derivative is s ⊙ (1 − s); 1 − s² is tanh's")
def step_backward_wrong_sigmoid_grad(dh, cache):
    x, h_prev, gates, hn, p = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dan = dh * (1 - z) * (1 - n**2)
    dr, dz = dan * hn, dh * (h_prev - n)
    dgi = np.hstack([dr * (1 - r**2), dz * (1 - z**2), dan])
    dgh = np.hstack([dr * (1 - r**2), dz * (1 - z**2), dan * r])
    grads = {"W_ih": dgi.T @ x, "W_hh": dgh.T @ h_prev, "b_ih": dgi.sum(0), "b_hh": dgh.sum(0)}
    return dgi @ p["W_ih"], dh * z + dgh @ p["W_hh"], grads


ex_gru_forward = Exercise(
    "l05_e3_gru_forward", ("gru_forward", "gru_step_forward"), sequence_forward_run(COURSE["gru_forward"], False),
    lambda rng: sequence_cases(rng, 3, False), REF,
)


@ex_gru_forward.bug("the state is not carried: each step should receive the previous step's output")
def forward_no_carry(x, h0, p):
    hs, caches = [], []
    for t in range(x.shape[1]):
        h, cache = gru_step_forward(x[:, t], h0, p)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


@ex_gru_forward.bug("h0 is not used: the first step starts from the given state")
def forward_ignores_h0(x, h0, p):
    h, hs, caches = np.zeros_like(h0), [], []
    for t in range(x.shape[1]):
        h, cache = gru_step_forward(x[:, t], h, p)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


@ex_gru_forward.bug("hs is shifted by one step: hs[:, t] must be the state after reading x[:, t]")
def forward_shifted(x, h0, p):
    h, hs, caches = h0, [], []
    for t in range(x.shape[1]):
        hs.append(h)
        h, cache = gru_step_forward(x[:, t], h, p)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


def _run_backward(target, fns, case):
    x, h0, p, dhs = case.args
    _, cache = fns["gru_forward"](x, h0, p)
    dx, dh0, grads = target(dhs, cache)
    return {"dx": dx, "dh0": dh0, **grads_entries(grads)}


ex_gru_backward = Exercise(
    "l05_e4_gru_backward", ("gru_backward", "gru_forward"), _run_backward,
    lambda rng: sequence_cases(rng, 3, False), REF, bug_context=COURSE,
)


@ex_gru_backward.bug("the gradient from the future is dropped: hs[:, t] gets dhs[:, t] plus the next step's dh_prev")
def backward_no_carry(dhs, cache):
    T = dhs.shape[1]
    dx, grads, dh = [None] * T, None, None
    for t in reversed(range(T)):
        dx[t], dh, g = gru_step_backward(dhs[:, t], cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx, axis=1), dh, grads


@ex_gru_backward.bug("the parameter gradients are overwritten at each step; they must be summed over time")
def backward_overwrites_grads(dhs, cache):
    T = dhs.shape[1]
    dx, dh = [None] * T, np.zeros_like(dhs[:, 0])
    for t in reversed(range(T)):
        dx[t], dh, grads = gru_step_backward(dhs[:, t] + dh, cache[t])
    return np.stack(dx, axis=1), dh, grads


@ex_gru_backward.bug("time runs forwards here: backpropagation must visit t = T-1 down to 0")
def backward_forward_in_time(dhs, cache):
    T = dhs.shape[1]
    dx, dh, grads = [None] * T, np.zeros_like(dhs[:, 0]), None
    for t in range(T):
        dx[t], dh, g = gru_step_backward(dhs[:, t] + dh, cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx, axis=1), dh, grads


def _count_cases(rng):
    return [Case(f"G={G}, D={D}, H={H}", (G, D, H)) for G, D, H in [(1, 1, 32), (3, 2, 7), (4, 10, 3)]]


ex_gated_param_count = Exercise(
    "l05_e5_gated_param_count", ("gated_param_count",), returns("count"), _count_cases, REF, tol=0,
)


@ex_gated_param_count.bug("one bias vector per gate block is missing: PyTorch has both b_ih and b_hh")
def count_one_bias(G, D, H):
    return G * H * (D + H + 1)


@ex_gated_param_count.bug("the G gate blocks were not counted: every block has its own weights and biases")
def count_no_blocks(G, D, H):
    return H * (D + H + 2)


@ex_gated_param_count.bug("W_hh is (G·H, H), not (G·H, D)")
def count_wrong_whh(G, D, H):
    return G * H * (2 * D + 2)


EXERCISES = [ex_gru_step_forward, ex_gru_step_backward, ex_gru_forward, ex_gru_backward,
             ex_gated_param_count]
