"""Lesson 09's performance check: characters per second of one training step of a character LSTM.

One step of truncated BPTT (forward, cross-entropy at every step, backward, clipping, Adam) at
N = 32 streams, T = 64 steps, H = 128 hidden units, V = 75 characters (*Persuasion*'s vocabulary),
float64, for the numpy reference (``autograder.reference.charlm.tbptt_step``) and for
``torch.nn.LSTM`` + ``torch.nn.Linear`` + ``torch.optim.Adam`` on the CPU, one thread each.
Characters per second = N·T / (best CPU time of one step). The goal: numpy within 1.5× of torch.

Run it in a fresh process with one BLAS thread (``bench_char_lstm_subprocess`` does that), e.g.::

    python -c "from autograder.bench_charlm import bench_char_lstm_subprocess; bench_char_lstm_subprocess()"
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

__all__ = ["bench_char_lstm", "bench_char_lstm_subprocess", "profile_char_lstm"]

SIZES = {"N": 32, "T": 64, "H": 128, "V": 75}


def _best(fn, repeat):
    """Best CPU time of this process over ``repeat`` calls: with one thread each, CPU time is what
    a step costs, and unlike wall time it does not grow when other processes share the cores."""
    from autograder.bench import _time

    return _time(fn, repeat, clock=time.process_time)


def _batch(N, T, V, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, size=(N, T + 1))
    return ids[:, :-1], ids[:, 1:]


def bench_char_lstm(repeat=20, N=32, T=64, H=128, V=75, verbose=True):
    """Best time of one training step, numpy reference and (when installed) torch, one thread each.

    Returns a dict: numpy_s, numpy_chars_per_s and, with torch, torch_s, torch_chars_per_s and
    ratio (numpy time / torch time). Call it in a process whose BLAS uses one thread.
    """
    import numpy as np

    from autograder.reference.charlm import init_char_lm, tbptt_step

    x_ids, y_ids = _batch(N, T, V)
    params = init_char_lm(V, H, np.random.default_rng(0))
    zeros = np.zeros((N, H))
    state = {"params": params, "opt": {}}

    def ours():
        _, state["params"], state["opt"], _ = tbptt_step(state["params"], state["opt"], x_ids, y_ids, zeros, zeros,
                                                         lr=1e-3, clip=5.0)

    ours()  # warm up
    result = {"numpy_s": _best(ours, repeat)}
    result["numpy_chars_per_s"] = N * T / result["numpy_s"]
    result["lesson04_s"] = _best(_lesson04_step(x_ids, y_ids, H, V), repeat)
    result["lesson04_chars_per_s"] = N * T / result["lesson04_s"]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        lstm = torch.nn.LSTM(V, H, batch_first=True, dtype=torch.float64)
        linear = torch.nn.Linear(H, V, dtype=torch.float64)
        weights = list(lstm.parameters()) + list(linear.parameters())
        opt = torch.optim.Adam(weights, lr=1e-3)
        x = torch.nn.functional.one_hot(torch.tensor(x_ids), V).to(torch.float64)
        y = torch.tensor(y_ids).reshape(-1)
        h0 = torch.zeros(1, N, H, dtype=torch.float64)

        def theirs():
            opt.zero_grad()
            out, _ = lstm(x, (h0, h0))
            loss = torch.nn.functional.cross_entropy(linear(out).reshape(-1, V), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(weights, 5.0)
            opt.step()

        theirs()
        result["torch_s"] = _best(theirs, repeat)
        result["torch_chars_per_s"] = N * T / result["torch_s"]
        result["ratio"] = result["numpy_s"] / result["torch_s"]
    if verbose:
        line = (f"char LSTM training step (N={N} T={T} H={H} V={V}, float64, one thread): numpy reference "
                f"{result['numpy_s'] * 1000:6.1f} ms = {result['numpy_chars_per_s']:8.0f} chars/s")
        if torch is None:
            line += "; torch not installed (pip install torch)"
        else:
            line += (f", torch.nn {result['torch_s'] * 1000:6.1f} ms = {result['torch_chars_per_s']:8.0f} chars/s, "
                     f"ratio {result['ratio']:.2f} (goal <= 1.5)")
        print(line, flush=True)
        print(f"  the same step with lesson 04's functions (rnnkit.solved.l04_lstm, one step at a time): "
              f"{result['lesson04_s'] * 1000:6.1f} ms = {result['lesson04_chars_per_s']:8.0f} chars/s", flush=True)
    return result


def _lesson04_step(x_ids, y_ids, H, V):
    """A training step as the lesson's learner runs it: lesson 04's step-by-step LSTM on one-hot x."""
    import numpy as np

    from autograder.reference.bptt import clip_grad_norm
    from autograder.reference.charlm import (
        LSTM_KEYS,
        init_char_lm,
        softmax_cross_entropy,
        temporal_readout_backward,
        temporal_readout_forward,
    )
    from autograder.reference.optim import adam_step
    from rnnkit.solved.l04_lstm import lstm_backward, lstm_forward
    from rnnkit.text import one_hot

    N = x_ids.shape[0]
    x, zeros = one_hot(x_ids, V), np.zeros((N, H))
    state = {"params": init_char_lm(V, H, np.random.default_rng(0)), "opt": {}}

    def step():
        params = state["params"]
        hs, cache = lstm_forward(x, zeros, zeros, {k: params[k] for k in LSTM_KEYS})
        logits, rcache = temporal_readout_forward(hs, params["W_out"], params["b_out"])
        _, dlogits = softmax_cross_entropy(logits, y_ids)
        dhs, dW_out, db_out = temporal_readout_backward(dlogits, rcache)
        grads = {**lstm_backward(dhs, cache)[3], "W_out": dW_out, "b_out": db_out}
        grads, _ = clip_grad_norm(grads, 5.0)
        state["params"], state["opt"] = adam_step(params, grads, state["opt"], lr=1e-3)

    step()  # warm up
    return step


def profile_char_lstm(repeat=20, N=32, T=64, H=128, V=75):
    """Best time of each part of the numpy step (forward, loss, backward, clipping, Adam), printed."""
    import numpy as np

    from autograder.reference.bptt import clip_grad_norm
    from autograder.reference.charlm import (
        LSTM_KEYS,
        init_char_lm,
        lstm_backward_ids,
        lstm_forward_ids,
        softmax_cross_entropy,
        temporal_readout_backward,
        temporal_readout_forward,
    )
    from autograder.reference.optim import adam_step

    x_ids, y_ids = _batch(N, T, V)
    params = init_char_lm(V, H, np.random.default_rng(0))
    p = {k: params[k] for k in LSTM_KEYS}
    zeros = np.zeros((N, H))
    hs, _, cache = lstm_forward_ids(x_ids, zeros, zeros, p)
    logits, rcache = temporal_readout_forward(hs, params["W_out"], params["b_out"])
    _, dlogits = softmax_cross_entropy(logits, y_ids)
    dhs, _, _ = temporal_readout_backward(dlogits, rcache)
    grads = {**lstm_backward_ids(dhs, cache), "W_out": params["W_out"], "b_out": params["b_out"]}
    _, opt = adam_step(params, grads, {})
    parts = {
        "LSTM forward": lambda: lstm_forward_ids(x_ids, zeros, zeros, p),
        "readout forward": lambda: temporal_readout_forward(hs, params["W_out"], params["b_out"]),
        "cross-entropy": lambda: softmax_cross_entropy(logits, y_ids),
        "readout backward": lambda: temporal_readout_backward(dlogits, rcache),
        "LSTM backward": lambda: lstm_backward_ids(dhs, cache),
        "clip": lambda: clip_grad_norm(grads, 5.0),
        "Adam": lambda: adam_step(params, grads, opt),
    }
    times = {name: _best(fn, repeat) for name, fn in parts.items()}
    total = sum(times.values())
    for name, seconds in times.items():
        print(f"  {name:<18} {seconds * 1000:7.2f} ms  {100 * seconds / total:5.1f} %")
    return times


def bench_char_lstm_subprocess(profile=False):
    """Run :func:`bench_char_lstm` (and the profile) in a fresh process limited to one BLAS thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    code = "from autograder.bench_charlm import bench_char_lstm, profile_char_lstm; bench_char_lstm()"
    if profile:
        code += "; profile_char_lstm()"
    subprocess.run([sys.executable, "-c", code], env=env, check=False)
