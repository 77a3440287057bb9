"""Lesson 09: character-level language models on Jane Austen's *Persuasion*: tanh RNN, GRU and LSTM
at equal parameter budgets, against a unigram model and smoothed n-gram baselines.

Protocol (one for every network):

* the text of ``rnnkit.text``, split 90 / 5 / 5 in reading order (train / validation / test);
* every network gets the largest hidden size whose parameter count, readout to the V characters
  included, fits ``BUDGET`` (``hidden_size_for_budget``): RNN H = 271, GRU H = 151, LSTM H = 128
  (the LSTM with forget-gate bias 1); PyTorch's default initialisation;
* training: passes (epochs) over the training text in batches of ``BATCH`` contiguous streams of
  ``T`` characters (``rnnkit.text.bptt_batches``), the state carried from batch to batch and reset at
  the start of each epoch, Adam, global-norm clipping at ``CLIP``;
* **learning rate, chosen on validation data, from a grid that brackets the choice.** For each model
  one network per learning rate of ``LR_GRIDS[model]`` is trained for ``SELECT_EPOCHS`` epochs with the
  first selection seed (``SELECTION_SEEDS``: not reported seeds); the best of them and its neighbours
  on ``LR_LADDER`` (a factor of about 3 apart) are then trained with every other selection seed, and the
  learning rate with the lowest mean validation bits per character over all selection seeds is chosen
  among those run with all of them. While the choice is the smallest or the largest of those, the next
  rung of the ladder beyond it is trained with every selection seed and the choice is made again, so
  the chosen value is interior (``choose_lr``). The selection runs are shorter than the reported runs,
  to keep the whole experiment affordable on a laptop;
* then every seed of ``SEEDS[model]`` trains for ``EPOCHS`` epochs at the chosen learning rate;
* scores: bits per character on the validation and test parts, each read as one stream from start to
  end with the state carried (every target ids[1:] predicted once): the same targets as the
  baselines' (``unigram_bpc``, ``ngram_bpc`` add-k, ``kneser_ney_bpc``, fitted on the training part).

Rows (JSON lines): ``experiment: "char_lm"``, ``role`` ("baseline", "lr_selection" or "test"),
``model``, ``seed`` (None for the baselines), ``test_bpc``, ``val_bpc``, and for the networks ``lr``,
``lr_grid`` (a selection row: the model's first grid; a reported row: the learning rates run with
every selection seed, the choice among them), ``H``, ``params``, ``epochs``, ``seconds`` and ``blas``
(``pool.blas_record()``: the kernel that the numbers reproduce exactly on; the stored rows from before it
existed have none, and one of them, the LSTM's selection run at 0.03, was rerun on the recorded kernel
and reproduced exactly). The full run also saves the weights of the reported LSTM with the lowest
validation bits per character in ``WEIGHTS`` (lesson 09 reads its cells). Runs go to worker processes
with one BLAS thread each.
"""

from __future__ import annotations

import time
from pathlib import Path

from autograder.experiments.pool import blas_record, worker_pool

NAME = "char_lm"
BUDGET = 115_000  # an LSTM with H = 128 and V = 75: 4·128·(75+128+2) + 75·129 = 114,635
MODELS = ("rnn", "gru", "lstm")
SEEDS = {model: (0, 1, 2, 3, 4) for model in MODELS}  # the reported seeds
LR_LADDER = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
LR_GRIDS = {"rnn": (1e-3, 3e-3, 1e-2, 3e-2), "gru": (1e-3, 3e-3, 1e-2, 3e-2),
            "lstm": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)}   # seed 100 alone chose 0.03 from the first four: one more
SELECTION_SEEDS = (100, 101)  # the choice: the lowest mean validation bpc over both (the quick run's too)
SELECT_EPOCHS, EPOCHS = 3, 15
BATCH, T, CLIP = 32, 64, 5.0
FORGET_BIAS = 1.0
WEIGHTS = Path(__file__).resolve().parents[2] / "solutions" / "09_char_lm" / "char_lm_lstm.npz"
QUICK = {"budget": 3_000, "epochs": 1, "train_chars": 20_000, "eval_chars": 2_000, "seeds": (0,),
         "lrs": (3e-3, 1e-2), "selection_seeds": (100, 101)}


def _data(quick):
    from rnnkit.text import build_vocab, encode, load_text, split_ids

    text = load_text()
    vocab = build_vocab(text)
    train, val, test = split_ids(encode(text, vocab))
    if quick:
        train, val, test = train[: QUICK["train_chars"]], val[: QUICK["eval_chars"]], test[: QUICK["eval_chars"]]
    return len(vocab), train, val, test


def _model(model, V, H, seed):
    import numpy as np

    from autograder.reference.charlm import init_char_lm

    rng = np.random.default_rng(seed)
    if model == "lstm":
        return init_char_lm(V, H, rng, forget_bias=FORGET_BIAS)
    G = {"rnn": 1, "gru": 3}[model]
    bound = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (G * H, V), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,),
              "W_out": (V, H), "b_out": (V,)}
    return {k: rng.uniform(-bound, bound, size=s) for k, s in shapes.items()}


def _forward(model, params, x_ids, state):
    """Logits (N, T, V), the final state and what the backward pass needs."""
    import numpy as np

    from autograder import reference as ref
    from autograder.reference.charlm import LSTM_KEYS, lstm_forward_ids, temporal_readout_forward

    core = {k: params[k] for k in LSTM_KEYS}
    if model == "lstm":
        hs, state, cache = lstm_forward_ids(x_ids, state[0], state[1], core)
    else:
        V = params["W_out"].shape[0]
        x = np.zeros(x_ids.shape + (V,))
        np.put_along_axis(x, x_ids[..., None], 1.0, axis=-1)
        hs, cache = getattr(ref, f"{model}_forward")(x, state[0], core)
        state = (hs[:, -1].copy(),)
    logits, rcache = temporal_readout_forward(hs, params["W_out"], params["b_out"])
    return logits, state, (cache, rcache)


def _zero_state(model, N, H):
    import numpy as np

    return (np.zeros((N, H)), np.zeros((N, H))) if model == "lstm" else (np.zeros((N, H)),)


def _train_step(model, params, opt, x_ids, y_ids, state, lr):
    from autograder import reference as ref
    from autograder.reference.bptt import clip_grad_norm
    from autograder.reference.charlm import lstm_backward_ids, softmax_cross_entropy, temporal_readout_backward
    from autograder.reference.optim import adam_step

    logits, state, (cache, rcache) = _forward(model, params, x_ids, state)
    loss, dlogits = softmax_cross_entropy(logits, y_ids)
    dhs, dW_out, db_out = temporal_readout_backward(dlogits, rcache)
    grads = lstm_backward_ids(dhs, cache) if model == "lstm" else getattr(ref, f"{model}_backward")(dhs, cache)[2]
    grads["W_out"], grads["b_out"] = dW_out, db_out
    grads, _ = clip_grad_norm(grads, CLIP)
    params, opt = adam_step(params, grads, opt, lr=lr)
    return loss, params, opt, state


def bpc(model, params, ids):
    """Bits per character of a trained network on ids, read as one stream with the state carried."""
    import math

    from autograder.reference.charlm import softmax_cross_entropy
    from rnnkit.text import bptt_batches

    state, total, count = _zero_state(model, 1, params["W_hh"].shape[1]), 0.0, 0
    for x_ids, y_ids in bptt_batches(ids, 1, 256, drop_last=False):
        logits, state, _ = _forward(model, params, x_ids, state)
        total += softmax_cross_entropy(logits, y_ids)[0] * y_ids.size
        count += y_ids.size
    return total / count / math.log(2)


def train_one(job):
    """Train one network; return its result row and its trained parameters."""
    from autograder.reference.ablation import hidden_size_for_budget, model_param_count
    from rnnkit.text import bptt_batches

    model, seed, lr, role, quick = job
    start = time.perf_counter()
    V, train, val, test = _data(quick)
    budget = QUICK["budget"] if quick else BUDGET
    epochs = QUICK["epochs"] if quick else (SELECT_EPOCHS if role == "lr_selection" else EPOCHS)
    H = hidden_size_for_budget(model, V, budget, K=V)
    params, opt = _model(model, V, H, seed), {}
    for _ in range(epochs):
        state = _zero_state(model, BATCH, H)
        for x_ids, y_ids in bptt_batches(train, BATCH, T):
            _, params, opt, state = _train_step(model, params, opt, x_ids, y_ids, state, lr)
    row = {"experiment": NAME, "role": role, "model": model, "seed": seed, "lr": lr,
           "lr_grid": list(QUICK["lrs"] if quick else LR_GRIDS[model]), "H": H,
           "params": model_param_count(model, V, H, K=V), "epochs": epochs,
           "val_bpc": round(bpc(model, params, val), 4), "test_bpc": round(bpc(model, params, test), 4)}
    row["seconds"] = round(time.perf_counter() - start, 1)
    row["blas"] = blas_record()
    return row, params


BASELINES = (("unigram", "unigram_bpc", {"k": 1.0}),
             ("3-gram add-k", "ngram_bpc", {"n": 3, "k": 0.1}),
             ("4-gram add-k", "ngram_bpc", {"n": 4, "k": 0.1}),
             ("5-gram Kneser-Ney", "kneser_ney_bpc", {"n": 5}))


def baselines(quick=False):
    """The count-based baselines, fitted on the training part: one row each."""
    from autograder.reference import charlm

    V, train, val, test = _data(quick)
    for name, fn, kwargs in BASELINES:
        score = getattr(charlm, fn)
        yield {"experiment": NAME, "role": "baseline", "model": name, "seed": None, **kwargs,
               "val_bpc": round(score(train, val, V, **kwargs), 4),
               "test_bpc": round(score(train, test, V, **kwargs), 4)}


def save_weights(params, row, path=WEIGHTS):
    """Write one trained LSTM's parameters (and its row's scores) as a compressed .npz."""
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **params, seed=row["seed"], lr=row["lr"], epochs=row["epochs"],
                        val_bpc=row["val_bpc"], test_bpc=row["test_bpc"])


def choose_lr(rows, seeds=None):
    """The learning rate with the lowest mean validation bpc over ``seeds``, among those run with every
    one of them (``rows``: one model's selection rows); and the sorted list of those learning rates."""
    import numpy as np

    seeds = SELECTION_SEEDS if seeds is None else seeds
    scores = {}
    for r in rows:
        scores.setdefault(r["lr"], {})[r["seed"]] = r["val_bpc"]
    grid = sorted(lr for lr, by_seed in scores.items() if set(seeds) <= set(by_seed))
    return min(grid, key=lambda lr: np.mean([scores[lr][s] for s in seeds])), grid


def _neighbours(lr):
    i = LR_LADDER.index(lr)
    return LR_LADDER[max(i - 1, 0): i + 2]


def run(quick=False, workers=None, weights=None):
    """Yield the baselines, the learning-rate selection rows, then the reported rows.

    The full run saves the best-validation reported LSTM into ``WEIGHTS`` (``weights`` overrides the
    path; the quick run saves only when it is given)."""
    seeds = {m: QUICK["seeds"] if quick else SEEDS[m] for m in MODELS}
    grids = {m: QUICK["lrs"] if quick else LR_GRIDS[m] for m in MODELS}
    selection_seeds = QUICK["selection_seeds"] if quick else SELECTION_SEEDS
    first, others = selection_seeds[0], selection_seeds[1:]
    weights = weights if (weights or quick) else WEIGHTS

    def select(pool, jobs):
        return [pool.submit(train_one, (m, s, lr, "lr_selection", quick)) for m, s, lr in jobs]

    with worker_pool(workers) as pool:
        coarse = {m: select(pool, [(m, first, lr) for lr in grids[m]]) for m in MODELS}
        yield from baselines(quick)  # computed while the workers train
        fine, rows = {}, {m: [] for m in MODELS}
        for m in MODELS:  # the best learning rate of the first seed and its neighbours, on the other seeds
            rows[m] = [f.result()[0] for f in coarse[m]]
            yield from rows[m]
            best = min(rows[m], key=lambda r: r["val_bpc"])["lr"]
            extra = [lr for lr in _neighbours(best) if lr not in grids[m]] if others else []
            fine[m] = select(pool, [(m, first, lr) for lr in extra]
                             + [(m, s, lr) for s in others for lr in _neighbours(best)])
        reported = {}
        for m in MODELS:  # as soon as one model's learning rate is chosen, its seeds start
            new = [f.result()[0] for f in fine[m]]
            while True:
                rows[m] += new
                yield from new
                chosen, grid = choose_lr(rows[m], selection_seeds)
                step = 1 if chosen == grid[-1] else -1 if chosen == grid[0] else 0
                beyond = LR_LADDER.index(chosen) + step
                if step == 0 or not 0 <= beyond < len(LR_LADDER):  # interior, or the ladder's end
                    break
                lr, done = LR_LADDER[beyond], {(r["seed"], r["lr"]) for r in rows[m]}
                new = [f.result()[0] for f in select(pool, [(m, s, lr) for s in selection_seeds
                                                            if (s, lr) not in done])]
            reported[m] = (grid, [pool.submit(train_one, (m, seed, chosen, "test", quick)) for seed in seeds[m]])
        best = None
        for m in MODELS:
            grid, futures = reported[m]
            for future in futures:
                row, params = future.result()
                row["lr_grid"] = grid
                if m == "lstm" and (best is None or row["val_bpc"] < best[0]["val_bpc"]):
                    best = (row, params)
                yield row
        if weights and best is not None:
            save_weights(best[1], best[0], weights)
