"""Lesson 08: does the forget gate matter on a stream? Adding problems concatenated without resets.

Gers, Schmidhuber & Cummins (2000) added the forget gate so that an LSTM can reset its own cell
on a continual stream, which nothing cuts into sequences. This experiment tests that claim with
the adding problem (lesson 03):

* a stream is ``SEGMENTS`` adding problems of length T, one after the other; the target of each
  segment (the sum of its two marked values) is due at its last step; nothing marks where a segment
  starts, and the state (h, and c for the LSTMs) is carried from segment to segment, never reset;
* each model (``MODELS``, at the parameter budget ``BUDGET``, LSTMs with forget bias
  ``FORGET_BIAS``) is trained on ``BATCH`` such streams side by side, one segment per Adam step
  (learning rate ``LR``, global-norm clipping at 1), backpropagating through the current segment
  only: the carried state is a constant (truncated BPTT), :func:`rnnkit.train.train_stream`;
* ``"role": "stream"`` rows: the test MSE per segment index on ``TEST_STREAMS`` fresh streams of
  ``TEST_SEGMENTS`` segments, and the mean |c| at each segment's end;
* ``"role": "reset_trained"`` rows: the same models trained on separate sequences with the state
  reset for each (:func:`rnnkit.train.train_adding`, ``SEGMENTS`` steps, the protocol of the
  main experiment), then tested on the same streams: what a cell that never had to forget does
  when nothing resets it.

One JSON line per run: experiment, role, model, T, seed, H, params, segments, lr, forget_bias,
test_mse (the mean over the test segments), test_mse_per_segment, cell_per_segment, seconds.
"""

from __future__ import annotations

from autograder.experiments.pool import worker_pool

NAME = "stream"
BUDGET = 1500
Ts = (25, 50)
MODELS = ("lstm", "gru", "lstm_no_forget")
RESET_MODELS = ("lstm", "lstm_no_forget")
SEEDS = (0, 1, 2, 3, 4)
SEGMENTS, BATCH, LR, FORGET_BIAS, RECORD_EVERY = 3000, 32, 1e-2, 1.0, 20
TEST_STREAMS, TEST_SEGMENTS = 200, 40
QUICK = {"Ts": (10,), "seeds": (0,), "segments": 60, "test_segments": 5}


def jobs(quick=False):
    """The runs, as (role, model, T, seed, segments, test_segments) tuples, in the order of the results."""
    Ts_, seeds, segments, test_segments = ((QUICK["Ts"], QUICK["seeds"], QUICK["segments"], QUICK["test_segments"])
                                           if quick else (Ts, SEEDS, SEGMENTS, TEST_SEGMENTS))
    runs = [("stream", model, T, seed) for T in Ts_ for model in MODELS for seed in seeds]
    runs += [("reset_trained", model, T, seed) for T in Ts_ for model in RESET_MODELS for seed in seeds]
    return [run + (segments, test_segments) for run in runs]


def _short(values):
    return [float(f"{v:.4g}") for v in values]


def train_one(job):
    """Train one model on one segment length with one seed; the row written to the results."""
    from autograder.reference.ablation import hidden_size_for_budget
    from autograder.train import TOOLS, layer
    from rnnkit.train import stream_errors, train_adding, train_stream

    role, model, T, seed, segments, test_segments = job
    H = hidden_size_for_budget(model, 2, BUDGET)
    bias = FORGET_BIAS if model == "lstm" else 0.0
    if role == "stream":
        run = train_stream(layer(model), TOOLS, T=T, H=H, segments=segments, batch=BATCH, lr=LR, seed=seed,
                           forget_bias=bias, test_streams=TEST_STREAMS, test_segments=test_segments,
                           record_every=RECORD_EVERY)
        per_segment, cell = run["test_mse_per_segment"], run["cell_per_segment"]
    else:
        run = train_adding(layer(model), TOOLS, T=T, H=H, steps=segments, batch=BATCH, lr=LR, seed=seed,
                           forget_bias=bias, record_every=RECORD_EVERY)
        per_segment, cell = stream_errors(layer(model), run["weights"], T, TEST_STREAMS, test_segments)
    return {"experiment": NAME, "role": role, "model": model, "T": T, "seed": seed, "H": H,
            "params": run["params"], "segments": segments, "batch": BATCH, "lr": LR, "forget_bias": bias,
            "seconds": round(run["seconds"], 2), "test_mse": float(sum(per_segment) / len(per_segment)),
            "test_mse_per_segment": _short(per_segment), "cell_per_segment": _short(cell),
            "record_every": RECORD_EVERY, "losses": _short(run["losses"])}


def run(quick=False, workers=None):
    """Yield one result dict per run (see :func:`jobs` for the order)."""
    todo = jobs(quick)
    # Longest runs first, so that the workers finish together; results are yielded in `todo` order.
    order = sorted(range(len(todo)), key=lambda k: -todo[k][2] * (1 if todo[k][1] == "lstm_no_forget" else 1.7))
    with worker_pool(workers) as pool:
        futures = {k: pool.submit(train_one, todo[k]) for k in order}
        for k in range(len(todo)):
            yield futures[k].result()
