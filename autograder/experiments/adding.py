"""Lesson 08: tanh RNN, GRU and LSTM at equal parameter budgets on the adding problem, and an
LSTM ablation (no forget gate, no output gate), all trained with the course's numpy references.

Chung et al. (2014) compared the three units at (roughly) equal parameter counts; Greff et al.
(2017) removed one LSTM component at a time. This is both, at laptop scale, with one protocol for
every model:

* every model gets the largest hidden size H whose parameter count, readout included, fits
  ``BUDGET`` (``hidden_size_for_budget``); the LSTMs with a forget gate start with forget bias
  ``FORGET_BIAS`` = 1 (Jozefowicz et al. 2015; lesson 04);
* **learning rate, chosen on validation data.** For each (model, T) one network per learning rate
  of the shared grid ``LR_GRID`` is trained with seed ``SELECTION_SEED`` (not a reported seed);
  the learning rate with the lowest MSE on ``VAL_SIZE`` validation sequences (a generator seeded
  20_000 + T, apart from the test set's 10_000 + T) is chosen;
* then each (model, T) is trained with the chosen learning rate for every seed of ``SEEDS``:
  ``STEPS`` Adam steps, batch ``BATCH``, global-norm clipping at 1, PyTorch's default
  initialisation, evaluated on 500 fresh test sequences (and on the validation sequences);
* the ablation trains ``lstm_no_forget`` and ``lstm_no_output`` at ``ABLATION_T`` with the same
  protocol (the full LSTM and the GRU at that length come from the main grid).

``STEPS`` = 3000 was found, not assumed: with forget bias 1 and 1200 steps, the LSTM at T = 100 was still on
the 1/6 plateau after 1200 steps for seeds 0, 2 and 4 at learning rate 0.01 (seed 0 also at 0.003 and
0.03), and seed 0 left it after about 2700 steps; in the full run every LSTM at T = 200 crossed the
"solved" line only after 1281-1781 steps. The GRU crosses it within about 400 steps at every T.

Rows: the selection runs have ``"role": "lr_selection"``, the reported runs ``"role": "test"``;
both carry experiment, model, T, seed, lr, lr_grid, val_mse, test_mse. The test MSE of a selection
run is written for completeness; nothing is chosen by it.

Runs are spread over the machine's cores in worker processes with one BLAS thread each (for these
small matrices one thread is several times faster than many competing ones). Each result dict
of a reported run holds the learning curve ``losses`` (4 significant digits; empty for the
selection runs): the training MSE every ``record_every`` steps, each measured on a fresh batch
before the update, so it is an unbiased estimate of the test error.
"""

from __future__ import annotations

from autograder.experiments.pool import worker_pool

NAME = "adding"
BUDGET = 1500
Ts = (25, 50, 100, 200)
MODELS = ("rnn", "gru", "lstm")
ABLATIONS = ("lstm_no_forget", "lstm_no_output")
ABLATION_T = 50
SEEDS = (0, 1, 2, 3, 4)
LR_GRID = (3e-3, 1e-2, 3e-2)
SELECTION_SEED = 100
FORGET_BIAS = 1.0
VAL_SIZE = 500
STEPS, BATCH, RECORD_EVERY = 3000, 32, 10
QUICK = {"Ts": (10, 20), "seeds": (0, 1), "steps": 100, "ablation_T": 20}


def cells(quick=False):
    """The (model, T) pairs, in the order of the results, and the seeds and steps of each run."""
    Ts_, seeds, steps, ablation_T = ((QUICK["Ts"], QUICK["seeds"], QUICK["steps"], QUICK["ablation_T"])
                                     if quick else (Ts, SEEDS, STEPS, ABLATION_T))
    pairs = [(model, T) for T in Ts_ for model in MODELS] + [(model, ablation_T) for model in ABLATIONS]
    return pairs, seeds, steps


def jobs(quick=False):
    """The learning-rate selection runs, as (model, T, seed, steps, lr) tuples."""
    pairs, _, steps = cells(quick)
    return [(model, T, SELECTION_SEED, steps, lr) for model, T in pairs for lr in LR_GRID]


def forget_bias(model):
    return FORGET_BIAS if model in ("lstm", "lstm_no_output") else 0.0


def train_one(job, role="test"):
    """Train one model on one length with one seed and learning rate; the row written to the results."""
    from autograder.reference.ablation import hidden_size_for_budget
    from autograder.train import train_adding

    model, T, seed, steps, lr = job
    H = hidden_size_for_budget(model, 2, BUDGET)
    run = train_adding(model, T=T, H=H, steps=steps, batch=BATCH, lr=lr, seed=seed, record_every=RECORD_EVERY,
                       forget_bias=forget_bias(model), val_size=VAL_SIZE)
    return {"experiment": NAME, "role": role, "model": model, "T": T, "seed": seed, "H": H,
            "params": run["params"], "steps": steps, "batch": BATCH, "lr": lr, "lr_grid": list(LR_GRID),
            "forget_bias": forget_bias(model), "seconds": round(run["seconds"], 2), "val_mse": run["val_mse"],
            "test_mse": run["test_mse"], "record_every": RECORD_EVERY,
            "losses": [] if role == "lr_selection" else [float(f"{v:.4g}") for v in run["losses"]]}


def _select(rows):
    """The learning rate with the lowest validation MSE among one cell's selection rows."""
    return min(rows, key=lambda r: r["val_mse"])["lr"]


def _cost(model, T):
    return T * (1 if model == "rnn" else 2.5)


def run(quick=False, workers=None):
    """Yield the selection rows, then one result dict per reported run, cell by cell."""
    pairs, seeds, steps = cells(quick)
    with worker_pool(workers) as pool:
        # Phase 1, learning-rate selection; longest runs first, so that the workers finish together.
        todo = jobs(quick)
        order = sorted(range(len(todo)), key=lambda k: -_cost(*todo[k][:2]))
        futures = {k: pool.submit(train_one, todo[k], "lr_selection") for k in order}
        chosen = {}
        for model, T in pairs:
            rows = [futures[k].result() for k in range(len(todo)) if todo[k][:2] == (model, T)]
            chosen[model, T] = _select(rows)
            yield from rows
        # Phase 2: the reported seeds at the chosen learning rate.
        todo = [(model, T, seed, steps, chosen[model, T]) for model, T in pairs for seed in seeds]
        order = sorted(range(len(todo)), key=lambda k: -_cost(*todo[k][:2]))
        futures = {k: pool.submit(train_one, todo[k]) for k in order}
        for k in range(len(todo)):
            yield futures[k].result()
