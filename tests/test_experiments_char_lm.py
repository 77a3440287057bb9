"""Lesson 09's experiment (autograder/experiments/char_lm.py): the quick run's rows and protocol, and the
committed full results and weights that the notebook reads."""

import json
from pathlib import Path

import numpy as np
import pytest

from autograder.experiments import char_lm

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "solutions" / "09_char_lm" / "results.jsonl"


def check_rows(rows, lr_grids, seeds, selection_seeds):
    baselines = [r for r in rows if r["role"] == "baseline"]
    selection = [r for r in rows if r["role"] == "lr_selection"]
    reported = [r for r in rows if r["role"] == "test"]
    assert len(baselines) + len(selection) + len(reported) == len(rows)
    assert [r["model"] for r in baselines] == [name for name, _, _ in char_lm.BASELINES]
    assert all(r["experiment"] == "char_lm" and np.isfinite(r["test_bpc"]) for r in rows)
    assert all(r["seed"] is None for r in baselines)
    for model in char_lm.MODELS:
        grid = [r for r in selection if r["model"] == model]
        first = {r["lr"] for r in grid if r["seed"] == selection_seeds[0]}
        assert set(lr_grids[model]) <= first, f"{model}: the first selection seed runs the whole grid"
        assert {r["seed"] for r in grid} == set(selection_seeds)
        assert len({(r["seed"], r["lr"]) for r in grid}) == len(grid), f"{model}: a selection run twice"
        chosen, both = char_lm.choose_lr(grid, selection_seeds)
        ladder = char_lm.LR_LADDER
        assert both[0] < chosen < both[-1] or chosen in (ladder[0], ladder[-1]), \
            f"{model}: the chosen learning rate {chosen} must be inside the grid run with every selection seed {both}"
        runs = [r for r in reported if r["model"] == model]
        assert sorted(r["seed"] for r in runs) == sorted(seeds[model])
        assert {r["lr"] for r in runs} == {chosen}, f"{model}: reported runs must use the validation-chosen lr"
        assert all(r["lr_grid"] == both for r in runs)
        assert len({r["params"] for r in runs}) == 1
    return reported


def test_choose_lr_takes_the_mean_over_the_selection_seeds_among_the_rates_run_with_all():
    rows = [{"seed": 100, "lr": 0.01, "val_bpc": 2.0}, {"seed": 101, "lr": 0.01, "val_bpc": 2.6},
            {"seed": 100, "lr": 0.03, "val_bpc": 2.2}, {"seed": 101, "lr": 0.03, "val_bpc": 2.3},
            {"seed": 100, "lr": 0.1, "val_bpc": 1.0}]                       # one seed only: not a candidate
    assert char_lm.choose_lr(rows, seeds=(100, 101)) == (0.03, [0.01, 0.03])
    # the best single seed would have chosen 0.1, the first seed alone 0.01
    assert char_lm.choose_lr(rows, seeds=(100,))[0] == 0.1


def test_quick_run_rows_and_weights(tmp_path):
    weights = tmp_path / "lstm.npz"
    rows = list(char_lm.run(quick=True, workers=1, weights=weights))
    quick = char_lm.QUICK
    reported = check_rows(rows, {m: quick["lrs"] for m in char_lm.MODELS}, {m: quick["seeds"] for m in char_lm.MODELS},
                          quick["selection_seeds"])
    for r in reported:  # equal budgets: every network within the quick budget
        assert r["params"] <= char_lm.QUICK["budget"] and r["epochs"] == char_lm.QUICK["epochs"]
    saved = np.load(weights)
    best = min((r for r in reported if r["model"] == "lstm"), key=lambda r: r["val_bpc"])
    assert float(saved["val_bpc"]) == best["val_bpc"]
    H = saved["W_hh"].shape[1]
    assert saved["W_ih"].shape[0] == 4 * H and saved["W_out"].shape[1] == H


def test_network_bpc_is_what_the_reference_evaluation_gives():
    """The experiment's scoring of an LSTM is the reference evaluate_bpc (exercise 5)."""
    from autograder.reference.charlm import evaluate_bpc, init_char_lm

    V, _, val, _ = char_lm._data(quick=True)
    params = init_char_lm(V, 6, np.random.default_rng(0))
    assert abs(char_lm.bpc("lstm", params, val) - evaluate_bpc(params, val)[0]) < 1e-10


@pytest.mark.skipif(not RESULTS.exists(), reason="no committed results for lesson 09 yet")
def test_committed_results_follow_the_protocol():
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()]
    reported = check_rows(rows, char_lm.LR_GRIDS, char_lm.SEEDS, char_lm.SELECTION_SEEDS)
    assert all(r["params"] <= char_lm.BUDGET and r["epochs"] == char_lm.EPOCHS for r in reported)
    weights = RESULTS.with_name("char_lm_lstm.npz")
    assert weights.exists() and weights.stat().st_size < 2_000_000
    best = min((r for r in reported if r["model"] == "lstm"), key=lambda r: r["val_bpc"])
    with np.load(weights) as saved:
        assert int(saved["seed"]) == best["seed"] and float(saved["val_bpc"]) == best["val_bpc"]


def _printed(cell_id):
    from autograder.course import read_notebook

    nb = read_notebook(RESULTS.with_name("09_char_lm.ipynb"))
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def test_stored_live_run_matches_the_printed_results():
    """live_run.npz (what lesson 09 shows while it is graded) is the live race its stored outputs print: the
    validation curves of both networks, and the final scores, recomputed here by other code (the experiment's
    scoring, not the notebook's)."""
    keys = ("W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")
    with np.load(RESULTS.with_name("live_run.npz")) as run:
        lstm, rnn = {k: run[k] for k in keys}, {k: run[f"rnn_{k}"] for k in keys}
        curve = {k: run[k] for k in ("step", "rnn", "lstm")}
    race = _printed("l09-c23")
    assert len(curve["step"]) >= 5 and curve["lstm"][-1] < curve["rnn"][-1]
    for step, rnn_bpc, lstm_bpc in zip(curve["step"], curve["rnn"], curve["lstm"]):
        assert f"{step:6d} {rnn_bpc:6.3f} {lstm_bpc:6.3f}" in race
    assert f"tanh RNN {sum(v.size for v in rnn.values()):,}, LSTM {sum(v.size for v in lstm.values()):,}" in race
    _, _, val, _ = char_lm._data(quick=False)
    final = _printed("l09-c33")
    for name, model, params in (("LSTM (H = 64", "lstm", lstm), ("tanh RNN (H = 140", "rnn", rnn)):
        line = next(x for x in final.splitlines() if x.startswith(name))
        assert f"validation {char_lm.bpc(model, params, val):.3f} bits per character" in line


@pytest.mark.skipif(not RESULTS.exists(), reason="no committed results for lesson 09 yet")
def test_notebook_reads_the_stored_lstm_and_results():
    with np.load(RESULTS.with_name("char_lm_lstm.npz")) as saved:
        assert f"the experiment recorded {float(saved['val_bpc']):.3f}" in _printed("l09-c35")
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()]
    table = _printed("l09-c46")
    for model in char_lm.MODELS:
        scores = np.array([r["test_bpc"] for r in rows if r["role"] == "test" and r["model"] == model])
        assert f"{scores.mean():.3f} ± {scores.std(ddof=1):.3f}" in table
