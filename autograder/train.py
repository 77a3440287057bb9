"""Small training toolkit shared by the lessons and ``python -m autograder experiments``.

- :func:`adding_problem`: Hochreiter & Schmidhuber's (1997) long-memory benchmark;
- :func:`init_params`: PyTorch's default initialisation for RNN / LSTM / GRU parameter dicts;
- :func:`train_adding`: train a recurrent model + linear readout on the adding problem with
  Adam and global-norm gradient clipping, all in numpy with the reference forward/backward.
"""

from __future__ import annotations

import time

import numpy as np

from autograder import reference as ref
from autograder.reference import ablation

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# LSTMs with one gate removed (lesson 08): three gate blocks, see autograder/reference/ablation.py.
ABLATIONS = tuple(ablation.ABLATION_BLOCKS)
GATES.update({name: 3 for name in ABLATIONS})


def adding_problem(N, T, rng):
    """N sequences of length T with 2 features: a value in U(0, 1) and a marker in {0, 1}.

    Exactly two steps are marked, one in each half of the sequence; the target is the sum of
    the two marked values. Predicting the mean (1.0) gives MSE = Var(u1 + u2) = 2/12 = 1/6.
    Returns x (N, T, 2) and y (N,).
    """
    values = rng.uniform(0, 1, size=(N, T))
    half = max(T // 2, 1)
    first = rng.integers(0, half, size=N)
    second = rng.integers(half, T, size=N) if T > 1 else first
    markers = np.zeros((N, T))
    markers[np.arange(N), first] = 1.0
    markers[np.arange(N), second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1)
    return x, y


def init_params(model, D, H, rng, forget_bias=0.0):
    """Parameters like torch.nn.RNN/LSTM/GRU's defaults: every entry ~ U(-1/√H, 1/√H).

    For the LSTM, ``forget_bias`` is added to the forget gate's block of b_ih (Jozefowicz et al.
    2015 recommend 1).
    """
    G, k = GATES[model], 1 / np.sqrt(H)
    p = {
        "W_ih": rng.uniform(-k, k, size=(G * H, D)),
        "W_hh": rng.uniform(-k, k, size=(G * H, H)),
        "b_ih": rng.uniform(-k, k, size=G * H),
        "b_hh": rng.uniform(-k, k, size=G * H),
    }
    if model == "lstm":
        p["b_ih"][H:2 * H] += forget_bias
    elif "f" in ablation.ABLATION_BLOCKS.get(model, ()):
        k = ablation.ABLATION_BLOCKS[model].index("f")
        p["b_ih"][k * H:(k + 1) * H] += forget_bias
    return p


def forward(model, x, p):
    """Hidden states (N, T, H) from a zero initial state, and what backward needs."""
    N, H = x.shape[0], p["W_hh"].shape[1]
    h0 = np.zeros((N, H))
    if model == "lstm":
        return ref.lstm_forward(x, h0, np.zeros((N, H)), p)
    if model in ABLATIONS:
        return getattr(ablation, f"{model}_forward")(x, h0, np.zeros((N, H)), p)
    return getattr(ref, f"{model}_forward")(x, h0, p)


def backward(model, dhs, cache):
    """Parameter gradients from the gradient of every hidden state."""
    return getattr(ablation if model in ABLATIONS else ref, f"{model}_backward")(dhs, cache)[-1]


def param_count(p):
    return int(sum(v.size for v in p.values()))


def train_adding(model="rnn", T=10, H=16, steps=500, batch=32, lr=1e-2, clip=1.0, seed=0,
                 forget_bias=0.0, test_size=500, record_every=10, forward_fn=None, backward_fn=None,
                 clip_fn=None):
    """Train ``model`` + a linear readout of the last state on the adding problem.

    ``forward_fn(x, p)``, ``backward_fn(dhs, cache)`` and ``clip_fn(grads, max_norm)`` replace the
    reference's (e.g. by the learner's own functions). Returns a dict: steps, losses (training MSE
    every ``record_every`` steps), test_mse (on a fresh test set of ``test_size`` sequences), params
    (count, readout included), seconds, and weights (the trained parameter dict).
    """
    rng = np.random.default_rng(seed)
    p = init_params(model, 2, H, rng, forget_bias)
    p["w_out"] = rng.uniform(-1 / np.sqrt(H), 1 / np.sqrt(H), size=H)
    p["c_out"] = np.array(0.0)
    fwd = forward_fn or (lambda x, q: forward(model, x, q))
    bwd = backward_fn or (lambda d, c: backward(model, d, c))
    state, losses, start = {}, [], time.perf_counter()
    for step in range(steps):
        x, y = adding_problem(batch, T, rng)
        core = {k: p[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
        hs, cache = fwd(x, core)
        err = hs[:, -1] @ p["w_out"] + p["c_out"] - y
        if step % record_every == 0:
            losses.append(float(np.mean(err**2)))
        dy = 2 * err / batch
        dhs = np.zeros_like(hs)
        dhs[:, -1] = np.outer(dy, p["w_out"])
        grads = bwd(dhs, cache)
        grads["w_out"] = hs[:, -1].T @ dy
        grads["c_out"] = np.array(dy.sum())
        grads, _ = (clip_fn or ref.clip_grad_norm)(grads, clip)
        p, state = ref.adam_step(p, grads, state, lr=lr)
    seconds = time.perf_counter() - start
    test_rng = np.random.default_rng(10_000 + T)
    x, y = adding_problem(test_size, T, test_rng)
    hs, _ = fwd(x, {k: p[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")})
    test_mse = float(np.mean((hs[:, -1] @ p["w_out"] + p["c_out"] - y) ** 2))
    return {"model": model, "T": T, "H": H, "seed": seed, "steps": steps, "losses": losses,
            "test_mse": test_mse, "params": param_count(p), "seconds": seconds, "weights": p}
