"""Lesson 08: tanh RNN, GRU and LSTM at equal parameter budgets on the adding problem, and an
LSTM ablation (no forget gate, no output gate), all trained with the course's numpy references.

Chung et al. (2014) compared the three units at (roughly) equal parameter counts; Greff et al.
(2017) removed one LSTM component at a time. This is both, at laptop scale:

* every model gets the largest hidden size H whose parameter count, readout included, fits
  ``BUDGET`` (``hidden_size_for_budget``);
* each (model, T) is trained ``len(SEEDS)`` times for ``STEPS`` Adam steps (batch ``BATCH``,
  learning rate ``LR``, global-norm clipping at 1, PyTorch's default initialisation) and evaluated
  on 500 fresh test sequences;
* the ablation trains ``lstm_no_forget`` and ``lstm_no_output`` at ``ABLATION_T`` with the same
  budget and seeds (the full LSTM at that length comes from the main grid).

Runs are spread over the machine's cores in worker processes with one BLAS thread each (for these
small matrices one thread is several times faster than many competing ones). Each result dict
holds the learning curve ``losses``: the training MSE every ``record_every`` steps, each measured
on a fresh batch before the update, so it is an unbiased estimate of the test error.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

NAME = "adding"
BUDGET = 1500
Ts = (25, 50, 100, 200)
MODELS = ("rnn", "gru", "lstm")
ABLATIONS = ("lstm_no_forget", "lstm_no_output")
ABLATION_T = 50
SEEDS = (0, 1, 2)
STEPS, BATCH, LR, RECORD_EVERY = 1200, 32, 1e-2, 20
QUICK = {"Ts": (10, 20), "seeds": (0,), "steps": 100, "ablation_T": 20}
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def jobs(quick=False):
    """The runs, as (model, T, seed, steps) tuples, in the order of the results."""
    Ts_, seeds, steps, ablation_T = ((QUICK["Ts"], QUICK["seeds"], QUICK["steps"], QUICK["ablation_T"])
                                     if quick else (Ts, SEEDS, STEPS, ABLATION_T))
    grid = [(model, T, seed, steps) for T in Ts_ for model in MODELS for seed in seeds]
    return grid + [(model, ablation_T, seed, steps) for model in ABLATIONS for seed in seeds]


def train_one(job):
    """Train one model on one length with one seed; the row written to the results file."""
    from autograder.reference.ablation import hidden_size_for_budget
    from autograder.train import train_adding

    model, T, seed, steps = job
    H = hidden_size_for_budget(model, 2, BUDGET)
    run = train_adding(model, T=T, H=H, steps=steps, batch=BATCH, lr=LR, seed=seed, record_every=RECORD_EVERY)
    return {"experiment": NAME, "model": model, "T": T, "seed": seed, "H": H, "params": run["params"],
            "steps": steps, "batch": BATCH, "lr": LR, "seconds": round(run["seconds"], 2),
            "test_mse": run["test_mse"], "record_every": RECORD_EVERY,
            "losses": [round(v, 6) for v in run["losses"]]}


def run(quick=False, workers=None):
    """Yield one result dict per run (see :func:`jobs` for the order)."""
    todo = jobs(quick)
    # Longest runs first, so that the workers finish together; results are yielded in `todo` order.
    order = sorted(range(len(todo)), key=lambda k: -todo[k][1] * (1 if todo[k][0] == "rnn" else 2.5))
    saved = {var: os.environ.get(var) for var in _THREAD_VARS}
    os.environ.update({var: "1" for var in _THREAD_VARS})  # inherited by the spawned workers
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=context) as pool:
            futures = {k: pool.submit(train_one, todo[k]) for k in order}
            for k in range(len(todo)):
                yield futures[k].result()
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
