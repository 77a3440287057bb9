"""Reference for lesson 09: a character-level language model (an LSTM reading one character at a time).

Notation
--------
N batch (parallel streams of text), T time steps, V vocabulary size (distinct characters),
H hidden units. Batch-first: character ids ``(N, T)``, one-hot inputs ``(N, T, V)``, hidden states
``(N, T, H)``, logits ``(N, T, V)``. float64 throughout.

Parameters
----------
One dict, the LSTM's four arrays in ``torch.nn.LSTM``'s layout (see ``lstm.py``) plus a readout in
``torch.nn.Linear``'s layout::

    params["W_ih"] (4H, V), params["W_hh"] (4H, H), params["b_ih"] (4H,), params["b_hh"] (4H,)
    params["W_out"] (V, H)  == linear.weight,   params["b_out"] (V,) == linear.bias

The model reads x_t (the one-hot character t) and predicts character t+1:
logits_t = h_t W_out^T + b_out, P(next = v) = softmax(logits_t)_v.

Losses are in nats (natural log); bits per character = nats / ln 2; perplexity = 2^bpc.
Every held-out score predicts the targets ids[1:], ids[2:], ... of the held-out text, each from
the characters before it in that text, so the models (the LSTM, the unigram and the n-grams) are
scored on exactly the same characters.
"""

import math

import numpy as np

from .bptt import clip_grad_norm
from .lstm import _activate, _pointwise_backward, _split, lstm_step_forward
from .optim import adam_step

__all__ = [
    "LSTM_KEYS",
    "char_lm_forward",
    "char_lm_loss_and_grads",
    "evaluate_bpc",
    "init_char_lm",
    "kneser_ney_bpc",
    "kneser_ney_probs",
    "lstm_backward_ids",
    "lstm_forward_ids",
    "ngram_bpc",
    "ngram_probs",
    "sample_chars",
    "softmax_cross_entropy",
    "tbptt_step",
    "temporal_readout_backward",
    "temporal_readout_forward",
    "unigram_bpc",
]

LSTM_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


# --------------------------------------------------------------------------
# exercise 1: softmax cross-entropy at every step, with a mask
# --------------------------------------------------------------------------


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean cross-entropy (nats) of softmax(logits) over the unmasked steps, and its gradient.

    Args:
        logits: (N, T, V) unnormalised scores.
        targets: (N, T) integer ids in [0, V).
        mask: (N, T) booleans or 0/1 (1 = this step counts), or None for every step.

    Returns:
        loss: float, -(1/M) Σ_{n,t} mask[n,t] · log softmax(logits[n,t])[targets[n,t]],
            M = Σ mask (at least one step must count).
        dlogits: (N, T, V), (softmax(logits) - onehot(targets)) · mask / M.

    log-sum-exp is taken after subtracting each row's maximum, so no exp overflows.
    """
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets)
    m = np.ones(targets.shape) if mask is None else np.asarray(mask, dtype=np.float64)
    M = m.sum()
    if M <= 0:
        raise ValueError("the mask selects no step")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # (N, T, 1)
    log_probs = shifted - log_z
    target_log_probs = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = -float(np.sum(m * target_log_probs)) / M
    dlogits = np.exp(log_probs)
    np.put_along_axis(dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], -1) - 1.0, -1)
    dlogits *= (m / M)[..., None]
    return loss, dlogits


# --------------------------------------------------------------------------
# exercise 2: the readout at every step
# --------------------------------------------------------------------------


def temporal_readout_forward(hs, W_out, b_out):
    """logits[n, t] = hs[n, t] W_out^T + b_out at every step (torch.nn.Linear applied per step).

    hs (N, T, H), W_out (V, H), b_out (V,). Returns logits (N, T, V) and cache = (hs, W_out).
    """
    return hs @ W_out.T + b_out, (hs, W_out)


def temporal_readout_backward(dlogits, cache):
    """Backward pass of :func:`temporal_readout_forward`.

    dlogits (N, T, V). Returns dhs (N, T, H), dW_out (V, H) and db_out (V,): the weights are
    shared by every step, so their gradients are sums over n and t.
    """
    hs, W_out = cache
    V, H = W_out.shape
    dhs = dlogits @ W_out
    flat = dlogits.reshape(-1, V)
    dW_out = flat.T @ hs.reshape(-1, H)
    db_out = flat.sum(axis=0)
    return dhs, dW_out, db_out


# --------------------------------------------------------------------------
# the model, and exercise 3: one step of truncated BPTT
# --------------------------------------------------------------------------


def init_char_lm(V, H, rng, forget_bias=1.0):
    """Parameters of a character LSTM: U(-1/√H, 1/√H) like torch.nn.LSTM / nn.Linear (for the
    readout, with fan-in H), then forget_bias added to b_hh's forget block (rows H..2H-1)."""
    bound = 1.0 / math.sqrt(H)
    shapes = {"W_ih": (4 * H, V), "W_hh": (4 * H, H), "b_ih": (4 * H,), "b_hh": (4 * H,),
              "W_out": (V, H), "b_out": (V,)}
    params = {k: rng.uniform(-bound, bound, size=s) for k, s in shapes.items()}
    params["b_hh"][H : 2 * H] += forget_bias
    return params


def lstm_forward_ids(x_ids, h0, c0, p):
    """``lstm_forward`` (lstm.py) for one-hot inputs given as ids: the same numbers, less work.

    x_ids (N, T) ints in [0, V), p the LSTM's parameters with W_ih (4H, V). For a one-hot x_t,
    x_t W_ih^T is column x_ids[:, t] of W_ih, so the input projection is a gather instead of a
    (N·T, V) @ (V, 4H) matmul (the sum has a single non-zero term: the values are identical).
    Returns hs (N, T, H), (h_T, c_T) and the cache of :func:`lstm_backward_ids`.
    """
    N, T = x_ids.shape
    H = h0.shape[1]
    W_hh_T = np.ascontiguousarray(p["W_hh"].T)
    ids_tm = np.ascontiguousarray(x_ids.T).reshape(T * N)  # time-major, as in lstm_forward
    # Input part of a for all steps: W_ih^T's rows for the ids, plus both biases: (T, N, 4H).
    gates = np.ascontiguousarray(p["W_ih"].T)[ids_tm]
    gates += p["b_ih"] + p["b_hh"]
    gates = gates.reshape(T, N, 4 * H)
    h_states = np.empty((T + 1, N, H))
    c_states = np.empty((T + 1, N, H))
    h_states[0], c_states[0] = h0, c0
    for t in range(T):
        a = gates[t] + h_states[t] @ W_hh_T
        i, f, g, o = _split(_activate(a, out=gates[t]))  # gates[t] now holds [i | f | g | o]
        c = np.add(f * c_states[t], i * g, out=c_states[t + 1])
        np.multiply(o, np.tanh(c), out=h_states[t + 1])
    hs = np.ascontiguousarray(h_states[1:].transpose(1, 0, 2))
    cache = {"ids_tm": ids_tm, "V": p["W_ih"].shape[1], "W_hh": p["W_hh"], "gates": gates,
             "h_states": h_states, "c_states": c_states}
    return hs, (h_states[T].copy(), c_states[T].copy()), cache


def lstm_backward_ids(dhs, cache):
    """``lstm_backward`` for :func:`lstm_forward_ids`: the parameter gradients only.

    The inputs are ids, so there is no dx to compute (lstm_backward's (N·T, 4H) @ (4H, V) matmul is
    saved); dW_ih's column v, the sum of the pre-activation gradients of the steps that read
    character v, is computed as lstm_backward does, with the one-hot inputs (a BLAS matmul: twice as
    fast here as np.add.at's scatter). Returns grads, a dict with W_ih (4H, V), W_hh, b_ih, b_hh.
    """
    gates, h_states, c_states, W_hh = cache["gates"], cache["h_states"], cache["c_states"], cache["W_hh"]
    T, N, H = gates.shape[0], h_states.shape[1], h_states.shape[2]
    da_all = np.empty_like(gates)
    dh_next = np.zeros((N, H))
    dc_next = np.zeros((N, H))
    for t in reversed(range(T)):
        dh = dhs[:, t] + dh_next
        tanh_c = np.tanh(c_states[t + 1])
        da, dc_next = _pointwise_backward(dh, dc_next, gates[t], c_states[t], tanh_c, out=da_all[t])
        dh_next = da @ W_hh
    da_flat = da_all.reshape(T * N, 4 * H)
    x_tm = np.zeros((T * N, cache["V"]))
    x_tm[np.arange(T * N), cache["ids_tm"]] = 1.0
    db = da_flat.sum(axis=0)
    return {
        "W_ih": da_flat.T @ x_tm,
        "W_hh": da_flat.T @ h_states[:T].reshape(T * N, H),
        "b_ih": db,
        "b_hh": db.copy(),
    }


def char_lm_forward(params, x_ids, h0, c0):
    """Logits of the next character at every step, and the final state.

    x_ids (N, T) ints; h0, c0 (N, H). Returns logits (N, T, V), (h_T, c_T) each (N, H), and
    cache = (LSTM cache, readout cache) for the backward pass. The LSTM reads one-hot
    characters; :func:`lstm_forward_ids` computes exactly that from the ids.
    """
    hs, state, lstm_cache = lstm_forward_ids(np.asarray(x_ids), h0, c0, {k: params[k] for k in LSTM_KEYS})
    logits, readout_cache = temporal_readout_forward(hs, params["W_out"], params["b_out"])
    return logits, state, (lstm_cache, readout_cache)


def tbptt_step(params, opt_state, x_ids, y_ids, h0, c0, lr, clip=5.0):
    """One step of truncated BPTT on a batch of a continuous text.

    Forward over the T steps from the carried state (h0, c0); loss = mean cross-entropy of the
    N·T next-character predictions; backward through these T steps only (the state that came in
    is treated as a constant: no gradient flows into the previous batch); the gradients clipped to
    a global L2 norm of at most ``clip`` (None: no clipping); one Adam step (``adam_step``).

    Args:
        params, opt_state: the model (see module docstring) and Adam's state ({} at first).
        x_ids, y_ids: (N, T) ints, a batch from ``rnnkit.text.bptt_batches`` (y = x shifted by one).
        h0, c0: (N, H) the state at the end of the previous batch (zeros for the first).
        lr: Adam's learning rate.

    Returns:
        loss (float, nats per character, before the update), new params, new opt_state, and the
        state (h_T, c_T) to carry into the next batch (computed with the parameters before the
        update, as in every truncated-BPTT implementation).
    """
    loss, grads, state = char_lm_loss_and_grads(params, x_ids, y_ids, h0, c0)
    if clip is not None:
        grads, _ = clip_grad_norm(grads, clip)
    params, opt_state = adam_step(params, grads, opt_state, lr=lr)
    return loss, params, opt_state, state


def char_lm_loss_and_grads(params, x_ids, y_ids, h0, c0):
    """Mean cross-entropy (nats) of the next-character predictions on one batch, its gradient with
    respect to every parameter (a dict like params), and the final state (h_T, c_T)."""
    logits, state, (lstm_cache, readout_cache) = char_lm_forward(params, x_ids, h0, c0)
    loss, dlogits = softmax_cross_entropy(logits, y_ids)
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, readout_cache)
    grads = lstm_backward_ids(dhs, lstm_cache)
    grads["W_out"], grads["b_out"] = dW_out, db_out
    return loss, grads, state


# --------------------------------------------------------------------------
# exercise 4: sampling with temperature
# --------------------------------------------------------------------------


def sample_chars(params, prime_ids, n, temperature, rng):
    """Generate n characters after reading the prime (at least one character).

    The model reads prime_ids one by one from a zero state; then, n times: probs =
    softmax(logits / temperature) for the last character read, next = rng.choice(V, p=probs) (one
    call per character, so a seeded generator makes the result deterministic), and the sampled
    character is read next. temperature > 0: below 1 sharpens the distribution, above 1 flattens
    it. rng: a numpy Generator, or a seed (an int) for ``np.random.default_rng``. Returns the n
    sampled ids, an int64 array of shape (n,).
    """
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    rng = np.random.default_rng(rng)  # a Generator is returned as it is
    V, H = params["W_out"].shape
    p = {k: params[k] for k in LSTM_KEYS}
    h, c = np.zeros((1, H)), np.zeros((1, H))

    def read(char):
        x = np.zeros((1, V))
        x[0, char] = 1.0
        return lstm_step_forward(x, h, c, p)[:2]

    for char in prime_ids:
        h, c = read(char)
    out = np.empty(n, dtype=np.int64)
    for k in range(n):
        scores = (h[0] @ params["W_out"].T + params["b_out"]) / temperature
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        out[k] = rng.choice(V, p=probs)
        h, c = read(out[k])
    return out


# --------------------------------------------------------------------------
# exercise 5: bits per character on held-out text
# --------------------------------------------------------------------------


def evaluate_bpc(params, ids, batch_size=1, seq_len=256):
    """Bits per character and perplexity of the model on the held-out ids.

    The text is read as ``rnnkit.text.bptt_batches(ids, batch_size, seq_len, drop_last=False)``
    does (N streams, the state carried from batch to batch, zero at the start); with batch_size=1
    every target ids[1:] is predicted once. bpc = (total cross-entropy in nats) / (number of
    predicted characters) / ln 2. Returns (bpc, perplexity = 2^bpc).
    """
    from rnnkit.text import bptt_batches

    H = params["W_hh"].shape[1]
    h, c = np.zeros((batch_size, H)), np.zeros((batch_size, H))
    total, count = 0.0, 0
    for x_ids, y_ids in bptt_batches(ids, batch_size, seq_len, drop_last=False):
        logits, (h, c), _ = char_lm_forward(params, x_ids, h, c)
        loss, _ = softmax_cross_entropy(logits, y_ids)
        total += loss * y_ids.size
        count += y_ids.size
    bpc = total / count / math.log(2)
    return bpc, 2.0**bpc


# --------------------------------------------------------------------------
# baselines: unigram, add-k n-gram, interpolated Kneser-Ney
# --------------------------------------------------------------------------


def _codes(ids, order, V):
    """Integer code of every window of ``order`` consecutive ids (base V, most recent last)."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids) - order + 1
    code = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(order):
        code = code * V + ids[j : j + n]
    return code


def _lookup(keys, values, queries):
    """values[keys == q] for each query (0 where the key is absent); keys sorted."""
    if len(keys) == 0:
        return np.zeros(len(queries))
    idx = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.where(keys[idx] == queries, values[idx], 0)


def _table(codes, V):
    """From n-gram codes with counts: the counts, and per context (code // V) the total and the
    number of distinct next characters."""
    keys, counts = codes
    ctx, inverse = np.unique(keys // V, return_inverse=True)
    totals = np.bincount(inverse, weights=counts)
    types = np.bincount(inverse)
    return keys, counts.astype(np.float64), ctx, totals, types.astype(np.float64)


def _targets_by_order(test_ids, n):
    """For the targets test_ids[1:]: (order m, positions t, context+target codes) per order, where
    m = min(n, t + 1) (the first targets have fewer than n-1 characters before them)."""
    t_all = np.arange(1, len(test_ids))
    groups = []
    for m in range(1, n + 1):
        t = t_all[np.minimum(n, t_all + 1) == m]
        if len(t):
            groups.append((m, t))
    return groups


def _window_codes(ids, t, m, V):
    """Codes of ids[t-m+1 .. t] (context of length m-1, then the target) for each position t."""
    ids = np.asarray(ids, dtype=np.int64)
    code = np.zeros(len(t), dtype=np.int64)
    for j in range(m - 1, -1, -1):
        code = code * V + ids[t - j]
    return code


def ngram_bpc(train_ids, test_ids, V, n, k=1.0):
    """Bits per character of an add-k smoothed n-gram model fitted on train_ids.

    P(w | h) = (c(h w) + k) / (c(h) + k V), h the n-1 characters before w (fewer for the first
    targets of the test text: the model of the order available is used), c counts in the
    training text, c(h) = Σ_w c(h w). n = 1 is the add-k unigram. Scores the targets test_ids[1:].
    """
    return _bits(ngram_probs(train_ids, test_ids, V, n, k))


def ngram_probs(train_ids, test_ids, V, n, k=1.0):
    """The probabilities that :func:`ngram_bpc`'s model gives the targets test_ids[1:], shape (len - 1,)."""
    probs = np.empty(len(test_ids) - 1)
    for m, t in _targets_by_order(test_ids, n):
        keys, counts, ctx, totals, _ = _table(np.unique(_codes(train_ids, m, V), return_counts=True), V)
        q = _window_codes(test_ids, t, m, V)
        probs[t - 1] = (_lookup(keys, counts, q) + k) / (_lookup(ctx, totals, q // V) + k * V)
    return probs


def _bits(probs):
    """Mean -log2 of the probabilities of the targets: bits per character."""
    return float(-np.mean(np.log2(probs)))


def unigram_bpc(train_ids, test_ids, V, k=1.0):
    """Bits per character of the add-k unigram model P(w) = (c(w) + k) / (n + k V) (targets test_ids[1:])."""
    return ngram_bpc(train_ids, test_ids, V, 1, k)


def kneser_ney_bpc(train_ids, test_ids, V, n, d=0.75):
    """Bits per character of :func:`kneser_ney_probs`'s model on the targets test_ids[1:]."""
    return _bits(kneser_ney_probs(train_ids, test_ids, V, n, d))


def kneser_ney_probs(train_ids, test_ids, V, n, d=0.75):
    """Probabilities of the targets test_ids[1:] (shape (len - 1,)) under interpolated Kneser-Ney
    smoothing of order n (Chen & Goodman 1998).

    Highest order m (raw counts c):  P_m(w|h) = max(c(hw) - d, 0) / c(h) + d · N(h) / c(h) · P_{m-1}(w|h')
    lower orders: the same with continuation counts c'(hw) = #distinct characters seen before hw,
    and P_0 = 1/V (uniform). h' drops h's oldest character; N(h) = #distinct w with c(hw) > 0;
    a context never seen (c(h) = 0) falls through to P_{m-1}. Targets test_ids[1:], with the
    highest order available at each position.
    """
    raw = [None] + [_table(np.unique(_codes(train_ids, m, V), return_counts=True), V) for m in range(1, n + 1)]
    cont = [None]
    for m in range(1, n):  # continuation counts from the distinct (m+1)-grams, first symbol dropped
        distinct = np.unique(_codes(train_ids, m + 1, V)) % (V**m)
        cont.append(_table(np.unique(distinct, return_counts=True), V))

    def prob(t, m, top):
        if m == 0:
            return np.full(len(t), 1.0 / V)
        keys, counts, ctx, totals, types = raw[m] if top else cont[m]
        q = _window_codes(test_ids, t, m, V)
        c, den, ntypes = _lookup(keys, counts, q), _lookup(ctx, totals, q // V), _lookup(ctx, types, q // V)
        lower = prob(t, m - 1, False)
        safe = np.maximum(den, 1.0)
        return np.where(den > 0, np.maximum(c - d, 0.0) / safe + d * ntypes / safe * lower, lower)

    probs = np.empty(len(test_ids) - 1)
    for m, t in _targets_by_order(test_ids, n):
        probs[t - 1] = prob(t, m, True)
    return probs
