"""The training loops of lessons 03-08, in numpy, with fixed seeds.

- :func:`init_params`: PyTorch's default initialisation for RNN / LSTM / GRU parameter dicts;
- :func:`train_adding`: a recurrent layer + a linear readout of its last state on the adding problem;
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

__all__ = ["CORE", "GATES", "Layer", "Tools", "fit", "hidden_states", "init_forecaster", "init_params",
           "loss_and_grads", "mse", "param_count", "predict", "train_adding"]

CORE = ("W_ih", "W_hh", "b_ih", "b_hh")
# Gate blocks per layer (W_ih has GATES[name] * H rows). The LSTMs with one gate removed (lesson 08)
# keep three blocks in PyTorch's order: no forget gate [i | g | o], no output gate [i | f | g].
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "lstm_no_forget": 3, "lstm_no_output": 3}
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


def init_params(model, D, H, rng, forget_bias=0.0):
    """Parameters like torch.nn.RNN/LSTM/GRU's defaults: every entry ~ U(-1/√H, 1/√H).

    ``model`` is a key of :data:`GATES`. For the LSTMs, ``forget_bias`` is added to the forget
    gate's block of b_ih (Jozefowicz et al. 2015 recommend 1).
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


# ------------------------------------------------------------------------------ adding problem

def train_adding(layer, tools, T=10, H=16, steps=500, batch=32, lr=1e-2, clip=1.0, seed=0, forget_bias=0.0,
                 test_size=500, record_every=10, progress=False):
    """Train ``layer`` + a linear readout of the last state on the adding problem (rnnkit.data).

    Fresh batches at every step; Adam with learning rate ``lr`` after global-norm clipping at
    ``clip``. Returns a dict: model, T, H, seed, steps, losses (the training MSE of every
    ``record_every``-th batch, measured before its update), test_mse (on ``test_size`` fresh
    sequences), params (count, readout included), seconds, and weights (the trained parameter dict).
    ``progress`` shows a progress bar (:func:`rnnkit.notebook.progress`).
    """
    rng = np.random.default_rng(seed)
    p = init_params(layer.name, 2, H, rng, forget_bias)
    p["w_out"] = rng.uniform(-1 / np.sqrt(H), 1 / np.sqrt(H), size=H)
    p["c_out"] = np.array(0.0)
    state, losses, start = {}, [], time.perf_counter()
    for step in _progress(range(steps), progress, f"{layer.name}, T={T}"):
        x, y = adding_problem(batch, T, rng)
        hs, cache = layer.run(x, _core(p))
        loss, dh_last, dw, dc = _readout(tools, hs[:, -1], p, y)
        if step % record_every == 0:
            losses.append(float(loss))
        dhs = np.zeros_like(hs)
        dhs[:, -1] = dh_last
        grads = layer.grads(dhs, cache)
        grads["w_out"], grads["c_out"] = dw, dc
        grads, _ = tools.clip_grad_norm(grads, clip)
        p, state = tools.adam_step(p, grads, state, lr=lr)
    seconds = time.perf_counter() - start
    x, y = adding_problem(test_size, T, np.random.default_rng(10_000 + T))
    hs, _ = layer.run(x, _core(p))
    test_mse = float(np.mean((hs[:, -1] @ p["w_out"] + p["c_out"] - y) ** 2))
    return {"model": layer.name, "T": T, "H": H, "seed": seed, "steps": steps, "losses": losses,
            "test_mse": test_mse, "params": param_count(p), "seconds": seconds, "weights": p}


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
    loss, dh_last, dw, dc = _readout(tools, hs[:, -1], p, Y)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = dh_last
    grads = layer.grads(dhs, cache)
    grads["w_out"], grads["c_out"] = dw, dc
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
