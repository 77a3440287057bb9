"""Lesson 09's experiment (autograder/experiments/char_lm.py): the quick run's rows and protocol, and the
committed full results and weights that the notebook reads."""

import json
from pathlib import Path

import numpy as np
import pytest

from autograder.experiments import char_lm

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "solutions" / "09_char_lm" / "results.jsonl"


def check_rows(rows, lr_grid, seeds):
    baselines = [r for r in rows if r["role"] == "baseline"]
    selection = [r for r in rows if r["role"] == "lr_selection"]
    reported = [r for r in rows if r["role"] == "test"]
    assert len(baselines) + len(selection) + len(reported) == len(rows)
    assert [r["model"] for r in baselines] == [name for name, _, _ in char_lm.BASELINES]
    assert all(r["experiment"] == "char_lm" and np.isfinite(r["test_bpc"]) for r in rows)
    assert all(r["seed"] is None for r in baselines)
    for model in char_lm.MODELS:
        grid = [r for r in selection if r["model"] == model]
        assert sorted(r["lr"] for r in grid) == sorted(lr_grid)
        assert {r["seed"] for r in grid} == {char_lm.SELECTION_SEED}
        best = min(grid, key=lambda r: r["val_bpc"])["lr"]
        runs = [r for r in reported if r["model"] == model]
        assert sorted(r["seed"] for r in runs) == sorted(seeds)
        assert {r["lr"] for r in runs} == {best}, f"{model}: reported runs must use the validation-chosen lr"
        assert len({r["params"] for r in runs}) == 1
    return reported


def test_quick_run_rows_and_weights(tmp_path):
    weights = tmp_path / "lstm.npz"
    rows = list(char_lm.run(quick=True, workers=1, weights=weights))
    reported = check_rows(rows, char_lm.QUICK["lrs"], char_lm.QUICK["seeds"])
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
    reported = check_rows(rows, char_lm.LR_GRID, char_lm.SEEDS)
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
    """live_run.npz (what lesson 09 shows while it is graded) is the live training its stored outputs print."""
    from autograder.reference.charlm import evaluate_bpc

    with np.load(RESULTS.with_name("live_run.npz")) as run:
        params = {k: run[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")}
        losses = run["losses"]
    assert f"mean over the first 50 steps: {np.mean(losses[:50]):.3f}, over the last 50 steps: " \
           f"{np.mean(losses[-50:]):.3f} bits per character" in _printed("l09-c23")
    _, _, val, _ = char_lm._data(quick=False)
    bpc, ppl = evaluate_bpc(params, val, 1, 256)
    assert f"validation {bpc:.3f} bits per character (perplexity {ppl:.2f})" in _printed("l09-c33")


@pytest.mark.skipif(not RESULTS.exists(), reason="no committed results for lesson 09 yet")
def test_notebook_reads_the_stored_lstm_and_results():
    with np.load(RESULTS.with_name("char_lm_lstm.npz")) as saved:
        assert f"the experiment recorded {float(saved['val_bpc']):.3f}" in _printed("l09-c35")
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()]
    table = _printed("l09-c46")
    for model in char_lm.MODELS:
        scores = np.array([r["test_bpc"] for r in rows if r["role"] == "test" and r["model"] == model])
        assert f"{scores.mean():.3f} ± {scores.std(ddof=1):.3f}" in table
