"""Lesson 09 — A character-level language model: your LSTM reads and writes *Persuasion*

The answers of this lesson's exercises, for the lessons that build on them.

Generated from solutions/09_char_lm by `make build`; do not edit."""

import numpy as np

from rnnkit.solved.l03_bptt import clip_grad_norm
from rnnkit.solved.l04_lstm import lstm_step_backward, lstm_step_forward
from rnnkit.solved.l06_training import adam_step
from rnnkit.text import bptt_batches, one_hot


def softmax_cross_entropy(logits, targets, mask):
    '''Mean cross-entropy (nats) over the unmasked steps, and its gradient.

    logits (N, T, V), targets (N, T) ints in [0, V), mask (N, T) of 0/1 (1 = the step counts).
    Returns loss (float) and dlogits (N, T, V) = (softmax(logits) - onehot(targets)) * mask / M, M = mask.sum().
    Hint: subtract each row's maximum before exp; np.take_along_axis picks the targets' log-probabilities.
    '''
    M = mask.sum()
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = -np.sum(mask * picked) / M
    dlogits = np.exp(log_probs) - one_hot(targets, logits.shape[-1])
    return loss, dlogits * mask[..., None] / M


def temporal_readout_backward(dlogits, cache):
    '''Backward pass of logits = hs @ W_out.T + b_out, applied at every step.

    dlogits (N, T, V); cache = (hs (N, T, H), W_out (V, H)).
    Returns dhs (N, T, H), dW_out (V, H), db_out (V,).
    Hint: reshape to (N*T, .) and the gradients are those of one linear layer on N*T rows.
    '''
    hs, W_out = cache
    V, H = W_out.shape
    dW_out = dlogits.reshape(-1, V).T @ hs.reshape(-1, H)
    return dlogits @ W_out, dW_out, dlogits.sum(axis=(0, 1))


def tbptt_step(params, opt_state, x_ids, y_ids, h0, c0, lr, clip):
    '''One step of truncated BPTT: forward from (h0, c0), loss, backward through these T steps, clip, Adam.

    x_ids, y_ids (N, T) ints; h0, c0 (N, H); opt_state: Adam's state ({} at first); clip: a float or None.
    Returns loss (float), new params, new opt_state and (h_T, c_T), the state to carry into the next batch.
    Hint: lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p) with p the four LSTM arrays of params.
    '''
    N, T = x_ids.shape
    V = params["W_out"].shape[0]
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c, caches, hs = h0, c0, [], []
    for t in range(T):                                   # forward from the carried state
        h, c, cache = lstm_step_forward(np.eye(V)[x_ids[:, t]], h, c, p)
        caches.append(cache)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    loss, dlogits = softmax_cross_entropy(hs @ params["W_out"].T + params["b_out"], y_ids, np.ones((N, T)))
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, (hs, params["W_out"]))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)       # no gradient flows into the previous batch
    for t in reversed(range(T)):
        _, dh, dc, step_grads = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        for k in grads:
            grads[k] += step_grads[k]
    grads["W_out"], grads["b_out"] = dW_out, db_out
    if clip is not None:
        grads, _ = clip_grad_norm(grads, clip)
    params, opt_state = adam_step(params, grads, opt_state, lr=lr)
    return loss, params, opt_state, (h, c)


def sample_chars(params, prime_ids, n, temperature, rng):
    '''n characters sampled after reading prime_ids, with softmax(logits / temperature).

    Returns an int array of shape (n,). One rng.choice(V, p=probs) per character.
    '''
    rng = np.random.default_rng(rng)
    V, H = params["W_out"].shape
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    h, c = np.zeros((1, H)), np.zeros((1, H))
    for char in prime_ids:
        h, c, _ = lstm_step_forward(np.eye(V)[[char]], h, c, p)
    out = np.zeros(n, dtype=int)
    for k in range(n):
        scores = (h[0] @ params["W_out"].T + params["b_out"]) / temperature
        probs = np.exp(scores - scores.max())
        out[k] = rng.choice(V, p=probs / probs.sum())
        h, c, _ = lstm_step_forward(np.eye(V)[[out[k]]], h, c, p)
    return out


def evaluate_bpc(params, ids, batch_size, seq_len):
    '''Bits per character and perplexity 2**bpc of the model on the text ids (state carried, zero at the start).'''
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
    return bpc, 2.0 ** bpc
