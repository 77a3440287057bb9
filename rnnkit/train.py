"""The training loops of lessons 03-08, in numpy, with fixed seeds.

- :func:`init_params`: PyTorch's default initialisation for RNN / LSTM / GRU parameter dicts;
- :func:`train_adding`: a recurrent layer + a linear readout of its last state on the adding problem;
- :func:`train_stream`: the same on a stream of adding problems without state resets (truncated
  BPTT one segment at a time), evaluated per segment of a long test stream;
- :func:`fit`: a recurrent forecaster (windows in, the next value or the next K values out) with
  mini-batches, optional truncated BPTT and early stopping on a validation set; :func:`predict`,
  :func:`mse`, :func:`loss_and_grads` and :func:`hidden_states` are its pieces.

The loops implement none of the course's exercises; the caller passes them in:

- a :class:`Layer`: the name of the recurrent layer ("rnn", "lstm", "gru", or an LSTM with a gate
  removed) and its forward and backward passes over a sequence, e.g.
  ``Layer("lstm", lstm_forward, lstm_backward)`` with the functions of lesson 04;
- :class:`Tools`: ``adam_step`` and ``readout_backward`` (lesson 06), ``clip_grad_norm`` (lesson 03)
  and, for :func:`fit` with validation data, ``early_stopping`` (lesson 06).

Shapes: N batch, T time, D input features, H hidden units; x (N, T, D) batch-first. Parameters in
one dict with W_ih, W_hh, b_ih, b_hh in PyTorch's layout, plus the readout's w_out and c_out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnkit.data import adding_problem
from rnnkit.notebook import progress as progress_bar

__all__ = ["CORE", "GATES", "INITS", "Layer", "Tools", "adding_stream", "fit", "hidden_states", "init_forecaster",
           "init_params", "loss_and_grads", "mse", "param_count", "predict", "stream_errors", "train_adding",
           "train_stream"]

CORE = ("W_ih", "W_hh", "b_ih", "b_hh")
# Gate blocks per layer (W_ih has GATES[name] * H rows). The LSTMs with one gate removed (lesson 08)
# keep three blocks in PyTorch's order: no forget gate [i | g | o], no output gate [i | f | g].
GATES = {"rnn": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "lstm_no_forget": 3, "lstm_no_output": 3}
# Recurrent initialisations (lesson 08): PyTorch's default, the IRNN's identity (Le, Jaitly & Hinton 2015) and
# an orthogonal W_hh (Saxe, McClelland & Ganguli 2014; Henaff, Szlam & LeCun 2016).
INITS = ("default", "identity", "orthogonal")
FORGET_BLOCK = {"lstm": 1, "lstm_no_output": 1}  # which block of b_ih is the forget gate's


@dataclass(frozen=True)
class Layer:
    """A recurrent layer: its name (a key of :data:`GATES`) and its passes over a sequence.

    ``forward(x, h0, p) -> (hs, cache)``, or ``forward(x, h0, c0, p)`` for the LSTMs (names
    starting with "lstm"); ``backward(dhs, cache)`` returns a tuple whose last item is the dict of
    parameter gradients. ``final_cell(cache)``, optional, gives an LSTM's last cell state (N, H):
    truncated BPTT through an LSTM needs it.
    """

    name: str
    forward: Callable
    backward: Callable
    final_cell: Callable | None = None

    @property
    def cell(self) -> bool:
        return self.name.startswith("lstm")

    def run(self, x, p, h0=None, c0=None):
        """Hidden states (N, T, H) and the cache, from zero initial states unless given."""
        N, H = x.shape[0], p["W_hh"].shape[1]
        h0 = np.zeros((N, H)) if h0 is None else h0
        if self.cell:
            return self.forward(x, h0, np.zeros((N, H)) if c0 is None else c0, p)
        return self.forward(x, h0, p)

    def grads(self, dhs, cache):
        """Parameter gradients from the gradient of every hidden state."""
        return self.backward(dhs, cache)[-1]


@dataclass(frozen=True)
class Tools:
    """The update rules the loops call, with the signatures of the course's exercises.

    ``adam_step(params, grads, state, lr=...) -> (params, state)``;
    ``clip_grad_norm(grads, max_norm) -> (grads, total_norm)``;
    ``readout_backward(h_last, w, c, y) -> (loss, dh_last, dw, dc)`` for one output;
    ``early_stopping(val_losses, patience) -> (best_epoch, stop_epoch)``, needed by :func:`fit`
    with validation data only.
    """

    adam_step: Callable
    clip_grad_norm: Callable
    readout_backward: Callable
    early_stopping: Callable | None = None


def init_params(model, D, H, rng, forget_bias=0.0, init="default"):
    """Parameters like torch.nn.RNN/LSTM/GRU's defaults: every entry ~ U(-1/√H, 1/√H).

    ``model`` is a key of :data:`GATES`. For the LSTMs, ``forget_bias`` is added to the forget
    gate's block of b_ih (Jozefowicz et al. 2015 recommend 1). ``init`` (one of :data:`INITS`, for
    one-block layers only) replaces the default after drawing it, so the default draws stay the same:

    - "identity" (the IRNN of Le, Jaitly & Hinton 2015): W_hh = I, both biases 0, W_ih ~ N(0, 0.001²);
    - "orthogonal": W_hh a random orthogonal matrix (QR of a standard Gaussian matrix, signs fixed so
      that it is uniformly distributed); every eigenvalue has modulus 1.
    """
    G, k = GATES[model], 1 / np.sqrt(H)
    p = {
        "W_ih": rng.uniform(-k, k, size=(G * H, D)),
        "W_hh": rng.uniform(-k, k, size=(G * H, H)),
        "b_ih": rng.uniform(-k, k, size=G * H),
        "b_hh": rng.uniform(-k, k, size=G * H),
    }
    if model in FORGET_BLOCK:
        block = FORGET_BLOCK[model]
        p["b_ih"][block * H:(block + 1) * H] += forget_bias
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, not {init!r}")
    if init != "default" and G != 1:
        raise ValueError(f"init={init!r} is for one-block layers (rnn, rnn_relu), not {model!r}")
    if init == "identity":
        p["W_hh"] = np.eye(H)
        p["W_ih"] = rng.normal(0.0, 1e-3, size=(H, D))
        p["b_ih"], p["b_hh"] = np.zeros(H), np.zeros(H)
    elif init == "orthogonal":
        q, r = np.linalg.qr(rng.standard_normal((H, H)))
        p["W_hh"] = q * np.sign(np.diag(r))
    return p


def param_count(p):
    return int(sum(v.size for v in p.values()))


def _core(p):
    return {k: p[k] for k in CORE}


def _readout(tools, h_last, p, Y):
    """Loss and gradients (dh_last, dw_out, dc_out) of the MSE of the linear readout on h_last.

    With K outputs (Y of shape (N, K)) the loss, the mean over all N·K outputs, is the mean of K
    one-output losses, so the gradients are those of K one-output readouts, divided by K.
    """
    if np.ndim(Y) == 1:
        loss, dh, dw, dc = tools.readout_backward(h_last, p["w_out"], p["c_out"], Y)
        return loss, dh, dw, np.asarray(dc)
    K = Y.shape[1]
    parts = [tools.readout_backward(h_last, p["w_out"][:, k], p["c_out"][k], Y[:, k]) for k in range(K)]
    loss = float(np.mean([part[0] for part in parts]))
    dh = sum(part[1] for part in parts) / K
    dw = np.stack([part[2] for part in parts], axis=1) / K
    dc = np.array([part[3] for part in parts], dtype=np.float64) / K
    return loss, dh, dw, dc


def _init_with_readout(model, D, H, rng, forget_bias, init="default"):
    """:func:`init_params` plus a one-output readout w_out (H,) ~ U(-1/√H, 1/√H) and c_out = 0."""
    p = init_params(model, D, H, rng, forget_bias, init)
    p["w_out"] = rng.uniform(-1 / np.sqrt(H), 1 / np.sqrt(H), size=H)
    p["c_out"] = np.array(0.0)
    return p


def _last_state_grads(layer, tools, p, hs, cache, Y):
    """The readout's MSE on the last hidden state, and the gradients of every parameter (a dict like p),
    backpropagated from that state through the sequence whose states and cache are ``hs``, ``cache``."""
    loss, dh_last, dw, dc = _readout(tools, hs[:, -1], p, Y)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = dh_last
    grads = layer.grads(dhs, cache)
    grads["w_out"], grads["c_out"] = dw, dc
    return loss, grads


# ------------------------------------------------------------------------------ adding problem

def train_adding(layer, tools, T=10, H=16, steps=500, batch=32, lr=1e-2, clip=1.0, seed=0, forget_bias=0.0,
                 test_size=500, record_every=10, progress=False, val_size=0, init="default"):
    """Train ``layer`` + a linear readout of the last state on the adding problem (rnnkit.data).

    Fresh batches at every step; Adam with learning rate ``lr`` after global-norm clipping at
    ``clip``. Returns a dict: model, T, H, seed, steps, losses (the training MSE of every
    ``record_every``-th batch, measured before its update), test_mse (on ``test_size`` fresh
    sequences), params (count, readout included), seconds, and weights (the trained parameter dict).
    ``progress`` shows a progress bar (:func:`rnnkit.notebook.progress`). With ``val_size`` > 0 it
    also returns val_mse, on ``val_size`` validation sequences drawn apart from the test set
    (generator seeded 20_000 + T; the test set's is seeded 10_000 + T), for choosing settings.
    ``init`` picks the recurrent initialisation (:func:`init_params`).
    """
    rng = np.random.default_rng(seed)
    p = _init_with_readout(layer.name, 2, H, rng, forget_bias, init)
    state, losses, start = {}, [], time.perf_counter()
    for step in _progress(range(steps), progress, f"{layer.name}, T={T}"):
        x, y = adding_problem(batch, T, rng)
        hs, cache = layer.run(x, _core(p))
        loss, grads = _last_state_grads(layer, tools, p, hs, cache, y)
        if step % record_every == 0:
            losses.append(float(loss))
        grads, _ = tools.clip_grad_norm(grads, clip)
        p, state = tools.adam_step(p, grads, state, lr=lr)
    seconds = time.perf_counter() - start
    test_mse = _adding_mse(layer, p, test_size, T, 10_000 + T)
    result = {"model": layer.name, "T": T, "H": H, "seed": seed, "steps": steps, "losses": losses,
              "test_mse": test_mse, "params": param_count(p), "seconds": seconds, "weights": p}
    if val_size:
        result["val_mse"] = _adding_mse(layer, p, val_size, T, 20_000 + T)
    return result


def _adding_mse(layer, p, size, T, data_seed):
    """MSE of the readout of the last state on ``size`` adding problems from default_rng(data_seed)."""
    x, y = adding_problem(size, T, np.random.default_rng(data_seed))
    hs, _ = layer.run(x, _core(p))
    return float(np.mean((hs[:, -1] @ p["w_out"] + p["c_out"] - y) ** 2))


# ------------------------------------------------------------------- a stream of adding problems

def adding_stream(N, T, segments, rng, boundary=False):
    """N streams of ``segments`` adding problems of length T each, concatenated without a break.

    Returns x (N, segments * T, D) and y (N, segments): y[:, k] is the sum of the two marked values
    of segment k, due at its last step. D = 3 when ``boundary``: a third feature is 1 at the first
    step of every segment (the stream says where a new problem starts; nothing resets the state),
    else D = 2, the features of :func:`rnnkit.data.adding_problem`.
    """
    parts = [adding_problem(N, T, rng) for _ in range(segments)]
    x = np.concatenate([part[0] for part in parts], axis=1)
    if boundary:
        flag = np.zeros((N, segments * T, 1))
        flag[:, ::T] = 1.0
        x = np.concatenate([x, flag], axis=2)
    return x, np.stack([part[1] for part in parts], axis=1)


def train_stream(layer, tools, T=25, H=16, segments=2000, batch=32, lr=1e-2, clip=1.0, seed=0, forget_bias=1.0,
                 boundary=False, test_streams=200, test_segments=40, record_every=10, progress=False):
    """Train ``layer`` + a linear readout on a stream of adding problems that is never reset.

    ``batch`` streams run side by side. Each training step takes the next segment of T steps of
    every stream (:func:`adding_stream`), starts from the state (h, and c for the LSTMs through
    ``layer.final_cell``) that the previous segment left, and backpropagates the squared error of
    the readout at the segment's last step through this segment only: the carried state is a
    constant (truncated BPTT, one segment at a time). Adam with ``lr`` after global-norm clipping
    at ``clip``; LSTMs with a forget gate start with ``forget_bias``.

    The test: ``test_streams`` fresh streams of ``test_segments`` segments (generator seeded
    30_000 + T), from a zero state, never reset. Returns a dict: model, T, H, seed, segments,
    losses (training MSE of every ``record_every``-th step, before its update), test_mse (over all
    test segments), test_mse_per_segment (one per segment index), cell_per_segment (mean |c| at
    each segment's end, LSTMs only; else an empty list), params, seconds, weights.
    """
    rng = np.random.default_rng(seed)
    p = _init_with_readout(layer.name, 3 if boundary else 2, H, rng, forget_bias)
    h, c = np.zeros((batch, H)), (np.zeros((batch, H)) if layer.cell else None)
    state, losses, start = {}, [], time.perf_counter()
    for step in _progress(range(segments), progress, f"{layer.name} stream, T={T}"):
        x, y = adding_stream(batch, T, 1, rng, boundary)
        hs, cache = layer.run(x, _core(p), h0=h, c0=c)
        loss, grads = _last_state_grads(layer, tools, p, hs, cache, y[:, 0])
        if step % record_every == 0:
            losses.append(float(loss))
        grads, _ = tools.clip_grad_norm(grads, clip)
        p, state = tools.adam_step(p, grads, state, lr=lr)
        h, c = hs[:, -1], (_final_cell(layer, cache) if layer.cell else None)
    seconds = time.perf_counter() - start
    per_segment, cell = stream_errors(layer, p, T, test_streams, test_segments, boundary)
    return {"model": layer.name, "T": T, "H": H, "seed": seed, "segments": segments, "losses": losses,
            "test_mse": float(np.mean(per_segment)), "test_mse_per_segment": per_segment,
            "cell_per_segment": cell, "params": param_count(p), "seconds": seconds, "weights": p}


def _final_cell(layer, cache):
    if layer.final_cell is None:
        raise ValueError(f"carrying the state of {layer.name!r} needs Layer(final_cell=...)")
    return layer.final_cell(cache)


def stream_errors(layer, p, T, streams=200, segments=40, boundary=False):
    """Test MSE per segment index on fresh streams, and the mean |c| at each segment's end (LSTMs).

    ``streams`` streams of ``segments`` adding problems of length T (:func:`adding_stream`,
    generator seeded 30_000 + T), run from a zero state that is never reset; ``p`` holds the layer's
    parameters and the readout's w_out, c_out (e.g. the weights that :func:`train_adding` returns:
    a network trained on separate sequences can be tested on a stream). Returns two lists: the MSE
    of the readout at each segment's end, and the mean |c| there (empty for layers without a cell).
    """
    x, y = adding_stream(streams, T, segments, np.random.default_rng(30_000 + T), boundary)
    H = p["W_hh"].shape[1]
    h, c = np.zeros((streams, H)), (np.zeros((streams, H)) if layer.cell else None)
    errors, cell = [], []
    for k in range(segments):
        hs, cache = layer.run(x[:, k * T:(k + 1) * T], _core(p), h0=h, c0=c)
        h = hs[:, -1]
        errors.append(float(np.mean((h @ p["w_out"] + p["c_out"] - y[:, k]) ** 2)))
        if layer.cell:
            c = _final_cell(layer, cache)
            cell.append(float(np.mean(np.abs(c))))
    return errors, cell


# ---------------------------------------------------------------------------------- forecaster

def init_forecaster(model, H, rng, K=1, forget_bias=1.0):
    """Recurrent parameters (PyTorch's initialisation, one input feature) plus a readout w_out, c_out.

    ``model`` is a layer name. K = 1 gives w_out (H,) and a scalar c_out; K > 1 gives w_out (H, K)
    and c_out (K,). The forget bias applies to the LSTM only.
    """
    p = init_params(model, 1, H, rng, forget_bias if model == "lstm" else 0.0)
    k = 1 / np.sqrt(H)
    p["w_out"] = rng.uniform(-k, k, size=H if K == 1 else (H, K))
    p["c_out"] = np.array(0.0) if K == 1 else np.zeros(K)
    return p


def hidden_states(layer, x, p, truncate=None):
    """Hidden states of the last ``truncate`` steps (all T steps when None) and their cache.

    With truncation the first T - truncate steps are run forward only: their final state enters
    the last ``truncate`` steps as a constant, so backpropagation stops there (truncated BPTT).
    The returned states are the same as without truncation.
    """
    core, T = _core(p), x.shape[1]
    if not truncate or truncate >= T:
        return layer.run(x, core)
    hs, cache = layer.run(x[:, :T - truncate], core)
    c0 = None
    if layer.cell:
        if layer.final_cell is None:
            raise ValueError(f"truncated BPTT through {layer.name!r} needs Layer(final_cell=...)")
        c0 = layer.final_cell(cache)
    return layer.run(x[:, T - truncate:], core, h0=hs[:, -1], c0=c0)


def predict(layer, p, X):
    """Forecasts h_last @ w_out + c_out for windows X (N, T, 1): (N,) or (N, K)."""
    hs, _ = layer.run(X, _core(p))
    return hs[:, -1] @ p["w_out"] + p["c_out"]


def mse(layer, p, X, Y):
    return float(np.mean((predict(layer, p, X) - Y) ** 2))


def loss_and_grads(layer, tools, p, X, Y, truncate=None):
    """MSE over all outputs and its gradients (a dict like p) on one mini-batch."""
    hs, cache = hidden_states(layer, X, p, truncate)
    loss, grads = _last_state_grads(layer, tools, p, hs, cache, Y)
    return float(loss), grads


def fit(layer, tools, X_train, y_train, X_val=None, y_val=None, H=16, epochs=200, batch=32, lr=1e-2,
        clip=1.0, patience=30, seed=0, truncate=None, forget_bias=1.0, weight_decay=0.0, progress=False):
    """Train a forecaster with Adam, clipping and early stopping on (X_val, y_val).

    Every epoch visits the training windows in a fresh random order (seeded), in mini-batches of
    ``batch``. After each epoch the MSE on the whole training and validation sets is recorded;
    ``tools.early_stopping`` says which epoch's weights to keep and when to stop. Without
    validation data it runs all ``epochs`` and keeps the last weights. ``weight_decay`` adds
    ``weight_decay * W`` to the gradient of every weight matrix (an L2 penalty, not on biases).
    ``progress`` shows a progress bar (:func:`rnnkit.notebook.progress`).

    Returns a dict: model, params (the kept weights), train_losses, val_losses (per epoch),
    best_epoch, stop_epoch, epochs_run, n_params, seconds.
    """
    if X_val is not None and tools.early_stopping is None:
        raise ValueError("fit with validation data stops early: pass Tools(..., early_stopping=early_stopping)")
    rng = np.random.default_rng(seed)
    K = 1 if np.ndim(y_train) == 1 else np.shape(y_train)[1]
    p = init_forecaster(layer.name, H, rng, K, forget_bias)
    state, train_losses, val_losses = {}, [], []
    best, best_p, stop = 0, p, epochs - 1
    N, start = len(X_train), time.perf_counter()
    bar = _progress(range(epochs), progress, layer.name)
    for epoch in bar:
        order = rng.permutation(N)
        for first in range(0, N, batch):
            idx = order[first:first + batch]
            _, grads = loss_and_grads(layer, tools, p, X_train[idx], y_train[idx], truncate)
            if weight_decay:
                for k in ("W_ih", "W_hh", "w_out"):
                    grads[k] = grads[k] + weight_decay * p[k]
            grads, _ = tools.clip_grad_norm(grads, clip)
            p, state = tools.adam_step(p, grads, state, lr=lr)
        train_losses.append(mse(layer, p, X_train, y_train))
        if X_val is None:
            best, best_p = epoch, p
            continue
        val_losses.append(mse(layer, p, X_val, y_val))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(train=f"{train_losses[-1]:.4f}", val=f"{val_losses[-1]:.4f}")
        best, _ = tools.early_stopping(val_losses, patience)
        if best == epoch:
            best_p = p
        elif epoch - best >= patience:
            stop = epoch
            break
    if hasattr(bar, "close"):
        bar.close()
    return {"model": layer.name, "params": best_p, "train_losses": train_losses, "val_losses": val_losses,
            "best_epoch": best, "stop_epoch": stop, "epochs_run": len(train_losses),
            "n_params": param_count(best_p), "seconds": time.perf_counter() - start}


def _progress(iterable, enabled, desc):
    return progress_bar(iterable, desc) if enabled else iterable
