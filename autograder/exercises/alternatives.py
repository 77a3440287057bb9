"""Correct answers written in other styles than the references (einsum, loops, other names and
layouts): each must earn full marks (tests/test_exercises.py and tests/test_planted_bugs.py)."""

import numpy as np

from autograder.exercises import l01_feedback_loops as l01
from autograder.exercises import l02_vanilla_rnn as l02
from autograder.exercises import l03_bptt as l03
from autograder.exercises import l04_lstm as l04
from autograder.exercises import l05_gru as l05
from autograder.exercises import l09_char_lm as l09
from autograder.reference import gru_step_backward, lstm_step_backward, rnn_step_backward, rnn_step_forward

EXERCISES = []  # registers alternatives on the lessons' exercises; defines none of its own


@l01.ex_feedback_loop.correct("closed form: h = M x + a^(t+1) h0 via a Toeplitz matrix")
def feedback_loop_matrix(x, a, b, h0=0.0):
    T = len(x)
    lags = np.arange(T)[:, None] - np.arange(T)[None, :]
    M = np.where(lags >= 0, b * float(a) ** np.clip(lags, 0, None), 0.0)
    return M @ np.asarray(x, dtype=float) + h0 * float(a) ** np.arange(1, T + 1)


@l01.ex_sensitivity.correct("backward recursion with a Python list")
def sensitivity_recursion(a, T):
    s = [1.0]
    for _ in range(T - 1):
        s.append(a * s[-1])
    return np.array(s[::-1])


@l02.ex_rnn_step_forward.correct("einsum, one fused bias")
def rnn_step_forward_einsum(x, h_prev, p):
    bias = p["b_ih"] + p["b_hh"]
    h = np.tanh(np.einsum("nd,hd->nh", x, p["W_ih"]) + np.einsum("nk,hk->nh", h_prev, p["W_hh"]) + bias)
    return h, (x, h_prev, h, p)


@l02.ex_rnn_forward.correct("list of states stacked at the end, other names")
def rnn_forward_stack(x, h0, p):
    states, state = [], h0
    for step in range(x.shape[1]):
        state, _ = rnn_step_forward(x[:, step, :], state, p)
        states.append(state)
    hs = np.stack(states, axis=1)
    return hs, {"x": x, "h0": h0, "hs": hs, "p": p}


@l02.ex_scale_spectral_radius.correct("power of the eigenvalues' moduli via np.abs on complex eigvals")
def scale_spectral_radius_loop(W, rho):
    radius = max(abs(complex(v)) for v in np.linalg.eigvals(W))
    return rho * W / radius


@l03.ex_rnn_step_backward.correct("einsum and explicit derivative")
def rnn_step_backward_einsum(dh, cache):
    x, h_prev, h, p = cache
    dpre = dh * (1.0 - np.square(h))
    grads = {"W_ih": np.einsum("nh,nd->hd", dpre, x), "W_hh": np.einsum("nh,nk->hk", dpre, h_prev),
             "b_ih": np.einsum("nh->h", dpre), "b_hh": np.einsum("nh->h", dpre)}
    return np.einsum("nh,hd->nd", dpre, p["W_ih"]), np.einsum("nh,hk->nk", dpre, p["W_hh"]), grads


@l03.ex_rnn_backward.correct("gradients accumulated in a dict comprehension, states re-sliced")
def rnn_backward_accumulate(dhs, cache):
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    T = hs.shape[1]
    dx = np.zeros_like(x)
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        prev = h0 if t == 0 else hs[:, t - 1]
        dx[:, t], carry, g = rnn_step_backward(dhs[:, t] + carry, (x[:, t], prev, hs[:, t], p))
        grads = {k: grads[k] + g[k] for k in grads}
    return dx, carry, grads


@l03.ex_clip_grad_norm.correct("norm from a concatenated vector")
def clip_grad_norm_concat(grads, max_norm):
    total = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()])))
    factor = max_norm / (total + 1e-6)
    return ({k: g * factor for k, g in grads.items()} if factor < 1 else dict(grads)), total


@l04.ex_lstm_step_forward.correct("np.split into gates, sigmoid via exp")
def lstm_step_forward_split(x, h_prev, c_prev, p):
    a = x @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b_ih"] + p["b_hh"]
    ai, af, ag, ao = np.split(a, 4, axis=1)
    i, f, o = (1 / (1 + np.exp(-v)) for v in (ai, af, ao))
    g = np.tanh(ag)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    return o * tanh_c, c, (x, h_prev, c_prev, np.concatenate([i, f, g, o], axis=1), tanh_c, p)


@l04.ex_lstm_backward.correct("explicit carries named after the equations")
def lstm_backward_named(dhs, cache):
    N, T, H = dhs.shape
    grad_h, grad_c = np.zeros((N, H)), np.zeros((N, H))
    dxs, total = [], None
    for t in range(T - 1, -1, -1):
        dx_t, grad_h, grad_c, g = lstm_step_backward(dhs[:, t] + grad_h, grad_c, cache[t])
        dxs.insert(0, dx_t)
        total = g if total is None else {k: total[k] + g[k] for k in g}
    return np.stack(dxs, axis=1), grad_h, grad_c, total


@l05.ex_gru_step_forward.correct("one matmul per input, blocks by slicing with names")
def gru_step_forward_named(x, h_prev, p):
    H = h_prev.shape[1]
    gi, gh = x @ p["W_ih"].T + p["b_ih"], h_prev @ p["W_hh"].T + p["b_hh"]
    reset = 0.5 * (1 + np.tanh(0.5 * (gi[:, :H] + gh[:, :H])))
    update = 0.5 * (1 + np.tanh(0.5 * (gi[:, H:2 * H] + gh[:, H:2 * H])))
    cand = np.tanh(gi[:, 2 * H:] + reset * gh[:, 2 * H:])
    h = cand + update * (h_prev - cand)
    return h, (x, h_prev, np.hstack([reset, update, cand]), gh[:, 2 * H:], p)


@l05.ex_gru_backward.correct("reversed() loop with a running sum")
def gru_backward_running(dhs, cache):
    T = dhs.shape[1]
    dx = [None] * T
    dh = np.zeros_like(dhs[:, 0])
    grads = None
    for t in reversed(range(T)):
        dx[t], dh, g = gru_step_backward(dh + dhs[:, t], cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in grads}
    return np.stack(dx, axis=1), dh, grads


@l04.ex_lstm_step_backward.correct("einsum, np.split, tanh(c) recomputed from the gates")
def lstm_step_backward_einsum(dh, dc, cache):
    x, h_prev, c_prev, gates, _, p = cache
    i, f, g, o = np.split(gates, 4, axis=1)
    tanh_c = np.tanh(f * c_prev + i * g)
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f), dc_total * i * (1 - g * g),
                         dh * tanh_c * o * (1 - o)], axis=1)
    db = np.einsum("nk->k", da)
    grads = {"W_ih": np.einsum("nk,nd->kd", da, x), "W_hh": np.einsum("nk,nj->kj", da, h_prev),
             "b_ih": db, "b_hh": db.copy()}
    return np.einsum("nk,kd->nd", da, p["W_ih"]), np.einsum("nk,kj->nj", da, p["W_hh"]), dc_total * f, grads


@l05.ex_gru_step_backward.correct("per-block weights, the two routes to h_prev written out")
def gru_step_backward_blocks(dh, cache):
    x, h_prev, gates, hn, p = cache
    r, z, n = np.split(gates, 3, axis=1)
    da_n = dh * (1 - z) * (1 - n * n)
    da_z = dh * (h_prev - n) * z * (1 - z)
    da_r = da_n * hn * r * (1 - r)
    W_ir, W_iz, W_in = np.split(p["W_ih"], 3)
    W_hr, W_hz, W_hn = np.split(p["W_hh"], 3)
    dx = da_r @ W_ir + da_z @ W_iz + da_n @ W_in
    dh_prev = dh * z + da_r @ W_hr + da_z @ W_hz + (da_n * r) @ W_hn
    dgi, dgh = np.hstack([da_r, da_z, da_n]), np.hstack([da_r, da_z, da_n * r])
    return dx, dh_prev, {"W_ih": dgi.T @ x, "W_hh": dgh.T @ h_prev, "b_ih": dgi.sum(axis=0), "b_hh": dgh.sum(axis=0)}


@l09.ex_softmax_cross_entropy.correct("log-softmax with np.logaddexp.reduce, picked with take_along_axis")
def softmax_cross_entropy_logaddexp(logits, targets, mask):
    log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    weight = mask / mask.sum()
    onehot = np.zeros_like(logits)
    np.put_along_axis(onehot, targets[..., None], 1.0, axis=-1)
    return float(-(weight * picked).sum()), (np.exp(log_probs) - onehot) * weight[..., None]


@l09.ex_temporal_readout_backward.correct("einsum over batch and time")
def temporal_readout_backward_einsum(dlogits, cache):
    hs, W_out = cache
    return (np.einsum("ntv,vh->nth", dlogits, W_out), np.einsum("ntv,nth->vh", dlogits, hs),
            np.einsum("ntv->v", dlogits))
