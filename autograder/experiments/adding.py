"""Lesson 08: vanilla RNNs (three initialisations), GRU and LSTM at equal parameter budgets on the adding
problem, and an LSTM ablation (no forget gate, no output gate), all trained with the course's numpy references.

Chung et al. (2014) compared the three units at (roughly) equal parameter counts; Greff et al.
(2017) removed one LSTM component at a time. This is both, at laptop scale, with one protocol for
every model:

* every model gets the largest hidden size H whose parameter count, readout included, fits
  ``BUDGET`` (``hidden_size_for_budget``); the LSTMs with a forget gate start with forget bias
  ``FORGET_BIAS`` = 1 (Jozefowicz et al. 2015; lesson 04);
* the vanilla RNN gets its best chance with three initialisations (``SPECS``): "rnn" is the tanh RNN
  with PyTorch's default (spectral radius about 0.6), "irnn" the ReLU RNN started at W_hh = I with zero
  biases (Le, Jaitly & Hinton 2015), "rnn_orth" the tanh RNN with an orthogonal W_hh; every row
  carries its ``layer``, ``nonlinearity`` and ``init``;
* **learning rate, chosen on validation data, from a grid that brackets it.** For each (model, T) one
  network per learning rate of the model's starting grid ``LR_GRID[model]`` is trained with every seed of
  ``SELECTION_SEEDS`` (not reported seeds); the learning rate with the lowest mean MSE over those seeds
  on ``VAL_SIZE`` validation sequences (a generator seeded 20_000 + T, apart from the test set's
  10_000 + T) is chosen. If it is the grid's smallest or largest value, the next value of ``LR_LADDER``
  beyond it is added and trained too, until the choice is interior or the ladder ends;
* then each (model, T) is trained with the chosen learning rate for every seed of ``SEEDS``:
  ``STEPS`` Adam steps, batch ``BATCH``, global-norm clipping at 1, evaluated on 500 fresh test
  sequences (and on the validation sequences);
* the ablation trains ``lstm_no_forget`` and ``lstm_no_output`` at ``ABLATION_T`` with the same
  protocol (the full LSTM and the GRU at that length come from the main grid).

``STEPS`` = 3000 was found, not assumed: with forget bias 1 and 1200 steps, the LSTM at T = 100 was still on
the 1/6 plateau after 1200 steps for seeds 0, 2 and 4 at learning rate 0.01 (seed 0 also at 0.003 and
0.03), and seed 0 left it after about 2700 steps; in the full run every LSTM at T = 200 crossed the
"solved" line only after 1281-1781 steps. The GRU crosses it within about 400 steps at every T.

Rows: the selection runs have ``"role": "lr_selection"``, the reported runs ``"role": "test"``;
both carry experiment, model, layer, nonlinearity, init, T, seed, lr, lr_grid (the cell's final
grid), selection_seeds, val_mse, test_mse, and blas (:func:`autograder.experiments.pool.blas_record`:
the kernel the run reproduces on exactly). The test MSE of a selection run is written for
completeness; nothing is chosen by it.

Runs are spread over worker processes with one BLAS thread each (for these small matrices one
thread is several times faster than many competing ones). :func:`run` takes a ``cache`` of rows
already trained (a run is deterministic given its model, T, seed, learning rate and steps) and a
``log`` called with every newly trained row, so a long run can be resumed and its partial results
survive. Each result dict of a reported run holds the learning curve ``losses`` (4 significant
digits; empty for the selection runs): the training MSE every ``record_every`` steps, each measured
on a fresh batch before the update, so it is an unbiased estimate of the test error.
"""

from __future__ import annotations

from autograder.experiments.pool import worker_pool

NAME = "adding"
BUDGET = 1500
Ts = (25, 50, 100, 200)
MODELS = ("rnn", "irnn", "rnn_orth", "gru", "lstm")
ABLATIONS = ("lstm_no_forget", "lstm_no_output")
ABLATION_T = 50
SEEDS = (0, 1, 2, 3, 4)
SELECTION_SEEDS = (100, 101)
# (layer, nonlinearity, init) of every model; rnnkit.train.init_params says what each init draws.
SPECS = {"rnn": ("rnn", "tanh", "default"), "irnn": ("rnn_relu", "relu", "identity"),
         "rnn_orth": ("rnn", "tanh", "orthogonal"), "gru": ("gru", "gates", "default"),
         "lstm": ("lstm", "gates", "default"), "lstm_no_forget": ("lstm_no_forget", "gates", "default"),
         "lstm_no_output": ("lstm_no_output", "gates", "default")}
# Every learning rate a grid may hold (half-decades), and each model's starting grid.
LR_LADDER = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
START_GRID = (3e-3, 1e-2, 3e-2)
LR_GRID = {model: START_GRID for model in SPECS} | {"irnn": (3e-4, 1e-3, 3e-3), "rnn_orth": (1e-3, 3e-3, 1e-2)}
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


def forget_bias(model):
    return FORGET_BIAS if model in ("lstm", "lstm_no_output") else 0.0


def key(row):
    """What makes a run: the same key, the same numbers."""
    return row["role"], row["model"], row["T"], row["seed"], row["lr"], row["steps"]


def train_one(job, role="test"):
    """Train one model on one length with one seed and learning rate; the row written to the results."""
    from autograder.experiments.pool import blas_record
    from autograder.reference.ablation import hidden_size_for_budget
    from autograder.train import train_adding

    model, T, seed, steps, lr = job
    layer, nonlinearity, init = SPECS[model]
    H = hidden_size_for_budget(layer, 2, BUDGET)
    run = train_adding(layer, T=T, H=H, steps=steps, batch=BATCH, lr=lr, seed=seed, record_every=RECORD_EVERY,
                       forget_bias=forget_bias(model), val_size=VAL_SIZE, init=init)
    return {"experiment": NAME, "role": role, "model": model, "layer": layer, "nonlinearity": nonlinearity,
            "init": init, "T": T, "seed": seed, "H": H, "params": run["params"], "steps": steps, "batch": BATCH,
            "lr": lr, "forget_bias": forget_bias(model), "seconds": round(run["seconds"], 2),
            "val_mse": run["val_mse"], "test_mse": run["test_mse"], "record_every": RECORD_EVERY,
            "losses": [] if role == "lr_selection" else [float(f"{v:.4g}") for v in run["losses"]],
            "blas": blas_record()}


def select(rows, grid, selection_seeds):
    """The learning rate of ``grid`` with the lowest mean validation MSE over the selection seeds."""
    def mean_val(lr):
        vals = [r["val_mse"] for r in rows if r["lr"] == lr and r["seed"] in selection_seeds]
        if len(vals) != len(selection_seeds):
            raise ValueError(f"lr {lr}: {len(vals)} selection runs, expected {len(selection_seeds)}")
        return sum(vals) / len(vals)
    return min(sorted(grid), key=mean_val)


def extend(grid, chosen):
    """The grid with the next ladder value beyond ``chosen`` when it sits at an edge; None when interior
    or when the ladder has no value beyond it."""
    grid = sorted(grid)
    k = LR_LADDER.index(chosen)
    if chosen == grid[0] and k > 0:
        return tuple([LR_LADDER[k - 1]] + grid)
    if chosen == grid[-1] and k + 1 < len(LR_LADDER):
        return tuple(grid + [LR_LADDER[k + 1]])
    return None


def _job_key(job, role):
    model, T, seed, steps, lr = job
    return role, model, T, seed, lr, steps


def _cost(model, T):
    return T * (1 if SPECS[model][0].startswith("rnn") else 2.5)


def run(quick=False, workers=None, pairs=None, cache=None, log=None):
    """Yield, cell by cell, the selection rows (once the cell's grid is settled) and the reported runs.

    ``pairs`` limits the cells (default: all of :func:`cells`); ``cache`` maps :func:`key` to rows
    already trained, which are reused; ``log(row)`` is called with every row trained here.
    """
    all_pairs, seeds, steps = cells(quick)
    pairs = list(pairs or all_pairs)
    cache = dict(cache or {})
    sel_seeds = SELECTION_SEEDS

    with worker_pool(workers) as pool:
        def train_all(jobs):
            """Rows of (job, role) pairs: cached or trained, longest first, logged as they finish."""
            todo = [j for j in dict.fromkeys(jobs) if _job_key(*j) not in cache]
            todo.sort(key=lambda j: -_cost(*j[0][:2]))
            futures = [(j, pool.submit(train_one, j[0], j[1])) for j in todo]
            for _, future in futures:
                row = future.result()
                cache[key(row)] = row
                if log:
                    log(row)

        def rows_of(model, T, role, lrs, seeds_):
            return [cache[(role, model, T, s, lr, steps)] for lr in lrs for s in seeds_]

        grids = {cell: tuple(LR_GRID[cell[0]]) for cell in pairs}
        chosen = {}
        while len(chosen) < len(pairs):   # selection, in waves: each wave trains what the open grids lack
            open_cells = [cell for cell in pairs if cell not in chosen]
            train_all([((m, T, s, steps, lr), "lr_selection") for m, T in open_cells for lr in grids[m, T]
                       for s in sel_seeds])
            for m, T in open_cells:
                best = select(rows_of(m, T, "lr_selection", grids[m, T], sel_seeds), grids[m, T], sel_seeds)
                wider = extend(grids[m, T], best)
                if wider is None:
                    chosen[m, T] = best
                else:
                    grids[m, T] = wider
        train_all([((m, T, s, steps, chosen[m, T]), "test") for m, T in pairs for s in seeds])
        for m, T in pairs:
            extra = {"lr_grid": sorted(grids[m, T]), "selection_seeds": list(sel_seeds)}
            yield from ({**r, **extra} for r in rows_of(m, T, "lr_selection", sorted(grids[m, T]), sel_seeds))
            yield from ({**r, **extra} for r in rows_of(m, T, "test", [chosen[m, T]], seeds))
