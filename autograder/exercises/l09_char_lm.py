"""Lesson 09 — a character-level language model: hidden tests and planted bugs.

Notebook names these tests and bugs assume (setup cell):
    from rnnkit.solved.l03_bptt import clip_grad_norm
    from rnnkit.solved.l04_lstm import lstm_step_forward, lstm_step_backward
    from rnnkit.solved.l06_training import adam_step
    from rnnkit.text import bptt_batches
and the answer cells softmax_cross_entropy, temporal_readout_backward (its cache is (hs, W_out), for
logits = hs @ W_out.T + b_out), tbptt_step, sample_chars, evaluate_bpc.
Planted bugs run in the grader with the reference versions of those names (imported below).
"""

import numpy as np

from autograder.checking import Case, Exercise, returns
from autograder.reference.bptt import clip_grad_norm  # noqa: F401 - used by pasted bugs
from autograder.reference.charlm import (
    evaluate_bpc,
    init_char_lm,
    sample_chars,
    softmax_cross_entropy,
    tbptt_step,
    temporal_readout_backward,
    temporal_readout_forward,
)
from autograder.reference.lstm import lstm_step_backward, lstm_step_forward  # noqa: F401
from autograder.reference.optim import adam_step  # noqa: F401
from rnnkit.text import bptt_batches  # noqa: F401

REF = {"softmax_cross_entropy": softmax_cross_entropy, "temporal_readout_forward": temporal_readout_forward,
       "temporal_readout_backward": temporal_readout_backward, "tbptt_step": tbptt_step,
       "sample_chars": sample_chars, "evaluate_bpc": evaluate_bpc}


def _model(rng, V, H, scale=0.5):
    params = init_char_lm(V, H, rng)
    return {k: v + scale * rng.standard_normal(v.shape) for k, v in params.items()}


# ---------------------------------------------------------------------- 1. softmax_cross_entropy

def _ce_cases(rng):
    cases = []
    for N, T, V, label in [(2, 3, 4, "every step counts"), (3, 4, 6, "a random mask"),
                           (2, 5, 5, "logits around 1000 (exp overflows without the max)"),
                           (2, 3, 5, "all steps masked but one")]:
        logits = 3 * rng.standard_normal((N, T, V))
        if "1000" in label:
            logits += 1000.0
        mask = np.ones((N, T))
        if label == "a random mask":
            mask = (rng.random((N, T)) < 0.6).astype(float)
            mask[0, 0] = 1.0
        elif label.startswith("all steps masked"):
            mask = np.zeros((N, T))
            mask[1, 1] = 1.0
        cases.append(Case(label, (logits, rng.integers(0, V, size=(N, T)), mask)))
    return cases


ex_softmax_cross_entropy = Exercise(
    "l09_e1_softmax_cross_entropy", ("softmax_cross_entropy",), returns("loss", "dlogits"), _ce_cases, REF,
)


@ex_softmax_cross_entropy.bug("the mean is over all N·T steps; it must be over the unmasked steps only, M = mask.sum()")
def ce_mean_over_all_steps(logits, targets, mask):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    count = targets.size
    loss = -np.sum(mask * picked) / count
    dlogits = np.exp(log_probs)
    np.put_along_axis(dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], -1) - 1, -1)
    return loss, dlogits * mask[..., None] / count


@ex_softmax_cross_entropy.bug("the mask is ignored: masked steps must count neither in the loss nor in the gradient")
def ce_mask_ignored(logits, targets, mask):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = -np.mean(picked)
    dlogits = np.exp(log_probs)
    np.put_along_axis(dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], -1) - 1, -1)
    return loss, dlogits / targets.size


@ex_softmax_cross_entropy.bug("dlogits is not divided by M: the loss is a mean, so its gradient is "
                              "(p − onehot) · mask / M")
def ce_gradient_not_averaged(logits, targets, mask):
    M = mask.sum()
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = -np.sum(mask * picked) / M
    dlogits = np.exp(log_probs)
    np.put_along_axis(dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], -1) - 1, -1)
    return loss, dlogits * mask[..., None]


@ex_softmax_cross_entropy.bug("dlogits lacks the −1 at the target: d(−log p_y)/dlogits = p − onehot(y)")
def ce_gradient_without_onehot(logits, targets, mask):
    M = mask.sum()
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = -np.sum(mask * picked) / M
    return loss, np.exp(log_probs) * mask[..., None] / M


# ------------------------------------------------------------------- 2. temporal_readout_backward

def _readout_cases(rng):
    cases = []
    for N, T, H, V in [(2, 3, 4, 5), (1, 1, 3, 2), (3, 4, 2, 6)]:
        args = (rng.standard_normal((N, T, V)), rng.standard_normal((N, T, H)), rng.standard_normal((V, H)))
        cases.append(Case(f"N={N}, T={T}, H={H}, V={V}", args))
    return cases


def _run_readout_backward(target, fns, case):
    dlogits, hs, W_out = case.args
    return returns("dhs", "dW_out", "db_out")(target, fns, Case(case.label, (dlogits, (hs, W_out))))


ex_temporal_readout_backward = Exercise(
    "l09_e2_temporal_readout_backward", ("temporal_readout_backward",), _run_readout_backward, _readout_cases, REF,
)


@ex_temporal_readout_backward.bug("the weights are shared by every step: dW_out and db_out are sums over n and t, "
                                  "not means")
def readout_backward_mean(dlogits, cache):
    hs, W_out = cache
    N, T, V = dlogits.shape
    dW_out = np.einsum("ntv,nth->vh", dlogits, hs) / (N * T)
    return dlogits @ W_out, dW_out, dlogits.sum(axis=(0, 1)) / (N * T)


@ex_temporal_readout_backward.bug("db_out sums over the batch only; it must also sum over time (axis=(0, 1))")
def readout_backward_bias_batch_only(dlogits, cache):
    hs, W_out = cache
    return dlogits @ W_out, np.einsum("ntv,nth->vh", dlogits, hs), dlogits.sum(axis=0)


@ex_temporal_readout_backward.bug("only the last step's gradient is used: every step t contributes to dW_out "
                                  "and db_out")
def readout_backward_last_step(dlogits, cache):
    hs, W_out = cache
    return dlogits @ W_out, dlogits[:, -1].T @ hs[:, -1], dlogits[:, -1].sum(axis=0)


@ex_temporal_readout_backward.bug("dW_out has shape (H, V); torch.nn.Linear's weight is (V, H): dW_out = Σ dlogitsᵀ hs")
def readout_backward_transposed(dlogits, cache):
    hs, W_out = cache
    return dlogits @ W_out, np.einsum("ntv,nth->hv", dlogits, hs), dlogits.sum(axis=(0, 1))


# ------------------------------------------------------------------------------- 3. tbptt_step

def _tbptt_cases(rng):
    cases = []
    for N, T, V, H, clip, warm, label in [(2, 4, 5, 3, None, False, "no clipping, Adam's first step"),
                                          (3, 5, 6, 4, 0.1, True, "clipping at 0.1, Adam's state from earlier"),
                                          (1, 3, 4, 2, 5.0, False, "one stream")]:
        params = _model(rng, V, H)
        opt_state = {}
        if warm:
            grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
            _, opt_state = adam_step(params, grads, {}, lr=0.01)
        x, y = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T))
        h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
        cases.append(Case(label, (params, opt_state, x, y, h0, c0, 0.01, clip)))
    return cases


def _run_tbptt(target, fns, case):
    loss, params, opt_state, state = target(*case.args)
    out = returns("loss", "params", None, None)(lambda *a: (loss, params, opt_state, state), fns, case)
    h, c = state
    return {**out, "h_T": h, "c_T": c}


ex_tbptt_step = Exercise(
    "l09_e3_tbptt_step", ("tbptt_step", "softmax_cross_entropy", "temporal_readout_backward"), _run_tbptt,
    _tbptt_cases, REF,
)


@ex_tbptt_step.bug("the carried state is not used: the batch must start from (h0, c0), where the last batch ended")
def tbptt_from_zeros(params, opt_state, x_ids, y_ids, h0, c0, lr, clip):
    N, T = x_ids.shape
    V = params["W_out"].shape[0]
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c, caches, hs = np.zeros_like(h0), np.zeros_like(c0), [], []
    for t in range(T):
        h, c, cache = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
        caches.append(cache)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    loss, dlogits = softmax_cross_entropy(hs @ params["W_out"].T + params["b_out"], y_ids, np.ones((N, T)))
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, (hs, params["W_out"]))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        _, dh, dc, g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        grads = {k: grads[k] + g[k] for k in grads}
    grads["W_out"], grads["b_out"] = dW_out, db_out
    if clip is not None:
        grads, _ = clip_grad_norm(grads, clip)
    params, opt_state = adam_step(params, grads, opt_state, lr=lr)
    return loss, params, opt_state, (h, c)


@ex_tbptt_step.bug("the returned state is the one that came in: return (h_T, c_T) so that the next batch continues")
def tbptt_returns_initial_state(params, opt_state, x_ids, y_ids, h0, c0, lr, clip):
    N, T = x_ids.shape
    V = params["W_out"].shape[0]
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c, caches, hs = h0, c0, [], []
    for t in range(T):
        h, c, cache = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
        caches.append(cache)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    loss, dlogits = softmax_cross_entropy(hs @ params["W_out"].T + params["b_out"], y_ids, np.ones((N, T)))
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, (hs, params["W_out"]))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        _, dh, dc, g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        grads = {k: grads[k] + g[k] for k in grads}
    grads["W_out"], grads["b_out"] = dW_out, db_out
    if clip is not None:
        grads, _ = clip_grad_norm(grads, clip)
    params, opt_state = adam_step(params, grads, opt_state, lr=lr)
    return loss, params, opt_state, (h0, c0)


@ex_tbptt_step.bug("the gradients are not clipped: clip them to a global norm of at most clip before Adam")
def tbptt_no_clipping(params, opt_state, x_ids, y_ids, h0, c0, lr, clip):
    N, T = x_ids.shape
    V = params["W_out"].shape[0]
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c, caches, hs = h0, c0, [], []
    for t in range(T):
        h, c, cache = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
        caches.append(cache)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    loss, dlogits = softmax_cross_entropy(hs @ params["W_out"].T + params["b_out"], y_ids, np.ones((N, T)))
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, (hs, params["W_out"]))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        _, dh, dc, g = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        grads = {k: grads[k] + g[k] for k in grads}
    grads["W_out"], grads["b_out"] = dW_out, db_out
    params, opt_state = adam_step(params, grads, opt_state, lr=lr)
    return loss, params, opt_state, (h, c)


@ex_tbptt_step.bug("the gradient flowing back through time is dropped: step t gets dhs[:, t] + dh_next, "
                   "and the cell gets dc_next")
def tbptt_no_backprop_through_time(params, opt_state, x_ids, y_ids, h0, c0, lr, clip):
    N, T = x_ids.shape
    V = params["W_out"].shape[0]
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c, caches, hs = h0, c0, [], []
    for t in range(T):
        h, c, cache = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
        caches.append(cache)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    loss, dlogits = softmax_cross_entropy(hs @ params["W_out"].T + params["b_out"], y_ids, np.ones((N, T)))
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, (hs, params["W_out"]))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    for t in reversed(range(T)):
        _, _, _, g = lstm_step_backward(dhs[:, t], np.zeros_like(c0), caches[t])
        grads = {k: grads[k] + g[k] for k in grads}
    grads["W_out"], grads["b_out"] = dW_out, db_out
    if clip is not None:
        grads, _ = clip_grad_norm(grads, clip)
    params, opt_state = adam_step(params, grads, opt_state, lr=lr)
    return loss, params, opt_state, (h, c)


# ------------------------------------------------------------------------------ 4. sample_chars

def _sample_cases(rng):
    cases = []
    for V, H, prime, n, temperature, seed in [(6, 4, [1, 2], 12, 1.0, 7), (5, 3, [0], 15, 0.5, 11),
                                              (7, 5, [3, 3, 6], 10, 2.0, 123)]:
        params = _model(rng, V, H, scale=1.0)
        cases.append(Case(f"V={V}, prime of {len(prime)}, temperature {temperature}, seed {seed}",
                          (params, prime, n, temperature, seed)))
    return cases


ex_sample_chars = Exercise(
    "l09_e4_sample_chars", ("sample_chars",), returns("ids"), _sample_cases, REF, tol=0.0,
)


@ex_sample_chars.bug("the temperature multiplies the logits; it divides them: softmax(logits / temperature)")
def sample_temperature_multiplies(params, prime_ids, n, temperature, rng):
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c, _ = lstm_step_forward(np.eye(V)[[char]], h, c, p)
    out = []
    for _ in range(n):
        scores = (h[0] @ params["W_out"].T + params["b_out"]) * temperature
        probs = np.exp(scores - scores.max())
        out.append(rng.choice(V, p=probs / probs.sum()))
        h, c, _ = lstm_step_forward(np.eye(V)[[out[-1]]], h, c, p)
    return np.array(out)


@ex_sample_chars.bug("the temperature was applied to the probabilities, after the softmax, where renormalising "
                     "undoes it: divide the logits, softmax(logits / temperature)")
def sample_temperature_on_probabilities(params, prime_ids, n, temperature, rng):
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c, _ = lstm_step_forward(np.eye(V)[[char]], h, c, p)
    out = []
    for _ in range(n):
        scores = h[0] @ params["W_out"].T + params["b_out"]
        probs = np.exp(scores - scores.max())
        probs = probs / probs.sum() / temperature
        out.append(rng.choice(V, p=probs / probs.sum()))
        h, c, _ = lstm_step_forward(np.eye(V)[[out[-1]]], h, c, p)
    return np.array(out)


@ex_sample_chars.bug("the temperature divides the probabilities, after the softmax, so they no longer sum to 1: "
                     "divide the logits, softmax(logits / temperature)")
def sample_temperature_on_probabilities_unnormalised(params, prime_ids, n, temperature, rng):
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c, _ = lstm_step_forward(np.eye(V)[[char]], h, c, p)
    out = []
    for _ in range(n):
        scores = h[0] @ params["W_out"].T + params["b_out"]
        probs = np.exp(scores - scores.max())
        out.append(rng.choice(V, p=probs / probs.sum() / temperature))
        h, c, _ = lstm_step_forward(np.eye(V)[[out[-1]]], h, c, p)
    return np.array(out)


@ex_sample_chars.bug("the LSTM's gate blocks were read as i, g, f, o: PyTorch stacks i, f, g, o "
                     "(lstm_step_forward from lesson 04 reads them right)")
def sample_own_lstm_igfo(params, prime_ids, n, temperature, rng):
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape

    def step(char, h, c):
        a = np.eye(V)[[char]] @ params["W_ih"].T + params["b_ih"] + h @ params["W_hh"].T + params["b_hh"]
        sig = 1 / (1 + np.exp(-a))
        i, g, f, o = sig[:, :H], np.tanh(a[:, H:2 * H]), sig[:, 2 * H:3 * H], sig[:, 3 * H:]
        c = f * c + i * g
        return o * np.tanh(c), c

    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c = step(char, h, c)
    out = []
    for _ in range(n):
        scores = (h[0] @ params["W_out"].T + params["b_out"]) / temperature
        probs = np.exp(scores - scores.max())
        out.append(rng.choice(V, p=probs / probs.sum()))
        h, c = step(out[-1], h, c)
    return np.array(out)


@ex_sample_chars.bug("the sampled character is not read back: the model must read what it just wrote")
def sample_not_fed_back(params, prime_ids, n, temperature, rng):
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c, _ = lstm_step_forward(np.eye(V)[[char]], h, c, p)
    out = []
    for _ in range(n):
        scores = (h[0] @ params["W_out"].T + params["b_out"]) / temperature
        probs = np.exp(scores - scores.max())
        out.append(rng.choice(V, p=probs / probs.sum()))
        h, c, _ = lstm_step_forward(np.eye(V)[[prime_ids[-1]]], h, c, p)
    return np.array(out)


@ex_sample_chars.bug("the state is reset before each character: carry (h, c) through the prime and the samples")
def sample_state_reset(params, prime_ids, n, temperature, rng):
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    zeros = np.zeros((1, H))
    h, _, _ = lstm_step_forward(np.eye(V)[[prime_ids[-1]]], zeros, zeros, p)
    out = []
    for _ in range(n):
        scores = (h[0] @ params["W_out"].T + params["b_out"]) / temperature
        probs = np.exp(scores - scores.max())
        out.append(rng.choice(V, p=probs / probs.sum()))
        h, _, _ = lstm_step_forward(np.eye(V)[[out[-1]]], zeros, zeros, p)
    return np.array(out)


@ex_sample_chars.bug("the most likely character is taken every time (argmax): draw it with rng.choice(V, p=probs)")
def sample_greedy(params, prime_ids, n, temperature, rng):
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c, _ = lstm_step_forward(np.eye(V)[[char]], h, c, p)
    out = []
    for _ in range(n):
        out.append(int(np.argmax(h[0] @ params["W_out"].T + params["b_out"])))
        h, c, _ = lstm_step_forward(np.eye(V)[[out[-1]]], h, c, p)
    return np.array(out)


# ------------------------------------------------------------------------------ 5. evaluate_bpc

def _bpc_cases(rng):
    cases = []
    for V, H, length, N, T in [(5, 3, 40, 1, 7), (6, 4, 61, 2, 8), (4, 3, 30, 1, 29)]:
        cases.append(Case(f"a text of {length}, {N} stream(s), windows of {T}",
                          (_model(rng, V, H), rng.integers(0, V, size=length), N, T)))
    return cases


ex_evaluate_bpc = Exercise(
    "l09_e5_evaluate_bpc", ("evaluate_bpc", "softmax_cross_entropy"), returns("bpc", "perplexity"), _bpc_cases, REF,
)


@ex_evaluate_bpc.bug("the LSTM's gate blocks were read as f, i, g, o: PyTorch stacks i, f, g, o "
                     "(lstm_step_forward from lesson 04 reads them right)")
def bpc_own_lstm_figo(params, ids, batch_size, seq_len):
    V, H = params["W_out"].shape

    def step(x, h, c):
        a = x @ params["W_ih"].T + params["b_ih"] + h @ params["W_hh"].T + params["b_hh"]
        sig = 1 / (1 + np.exp(-a))
        f, i, g, o = sig[:, :H], sig[:, H:2 * H], np.tanh(a[:, 2 * H:3 * H]), sig[:, 3 * H:]
        c = f * c + i * g
        return o * np.tanh(c), c

    h, c = np.zeros((batch_size, H)), np.zeros((batch_size, H))
    total, count = 0.0, 0
    for x_ids, y_ids in bptt_batches(ids, batch_size, seq_len, drop_last=False):
        hs = []
        for t in range(x_ids.shape[1]):
            h, c = step(np.eye(V)[x_ids[:, t]], h, c)
            hs.append(h)
        logits = np.stack(hs, axis=1) @ params["W_out"].T + params["b_out"]
        loss, _ = softmax_cross_entropy(logits, y_ids, np.ones(y_ids.shape))
        total, count = total + loss * y_ids.size, count + y_ids.size
    bpc = total / count / np.log(2)
    return bpc, 2.0**bpc


@ex_evaluate_bpc.bug("the result is in nats: bits per character = nats / ln 2")
def bpc_in_nats(params, ids, batch_size, seq_len):
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((batch_size, H)), np.zeros((batch_size, H))
    total, count = 0.0, 0
    for x_ids, y_ids in bptt_batches(ids, batch_size, seq_len, drop_last=False):
        hs = []
        for t in range(x_ids.shape[1]):
            h, c, _ = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
            hs.append(h)
        logits = np.stack(hs, axis=1) @ params["W_out"].T + params["b_out"]
        loss, _ = softmax_cross_entropy(logits, y_ids, np.ones(y_ids.shape))
        total, count = total + loss * y_ids.size, count + y_ids.size
    nats = total / count
    return nats, 2.0**nats


@ex_evaluate_bpc.bug("the state is reset for every window: carry (h, c) from one window to the next")
def bpc_state_reset(params, ids, batch_size, seq_len):
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    total, count = 0.0, 0
    for x_ids, y_ids in bptt_batches(ids, batch_size, seq_len, drop_last=False):
        h, c, hs = np.zeros((batch_size, H)), np.zeros((batch_size, H)), []
        for t in range(x_ids.shape[1]):
            h, c, _ = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
            hs.append(h)
        logits = np.stack(hs, axis=1) @ params["W_out"].T + params["b_out"]
        loss, _ = softmax_cross_entropy(logits, y_ids, np.ones(y_ids.shape))
        total, count = total + loss * y_ids.size, count + y_ids.size
    bpc = total / count / np.log(2)
    return bpc, 2.0**bpc


@ex_evaluate_bpc.bug("the windows' mean losses are averaged: weight each by its number of characters "
                     "(the last window is shorter)")
def bpc_mean_of_window_means(params, ids, batch_size, seq_len):
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((batch_size, H)), np.zeros((batch_size, H))
    losses = []
    for x_ids, y_ids in bptt_batches(ids, batch_size, seq_len, drop_last=False):
        hs = []
        for t in range(x_ids.shape[1]):
            h, c, _ = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
            hs.append(h)
        logits = np.stack(hs, axis=1) @ params["W_out"].T + params["b_out"]
        losses.append(softmax_cross_entropy(logits, y_ids, np.ones(y_ids.shape))[0])
    bpc = np.mean(losses) / np.log(2)
    return bpc, 2.0**bpc


@ex_evaluate_bpc.bug("perplexity is 2 ** bpc (= e ** nats); e ** bpc mixes the two bases")
def bpc_perplexity_wrong_base(params, ids, batch_size, seq_len):
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((batch_size, H)), np.zeros((batch_size, H))
    total, count = 0.0, 0
    for x_ids, y_ids in bptt_batches(ids, batch_size, seq_len, drop_last=False):
        hs = []
        for t in range(x_ids.shape[1]):
            h, c, _ = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
            hs.append(h)
        logits = np.stack(hs, axis=1) @ params["W_out"].T + params["b_out"]
        loss, _ = softmax_cross_entropy(logits, y_ids, np.ones(y_ids.shape))
        total, count = total + loss * y_ids.size, count + y_ids.size
    bpc = total / count / np.log(2)
    return bpc, np.exp(bpc)


EXERCISES = [ex_softmax_cross_entropy, ex_temporal_readout_backward, ex_tbptt_step, ex_sample_chars, ex_evaluate_bpc]
