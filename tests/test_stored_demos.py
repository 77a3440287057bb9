"""Stored results that lessons 03, 06 and 07 show while they are graded agree with the live runs.

While a notebook is graded (rnnkit.notebook.grading()), its demonstration cells read these files
instead of training. The stored outputs of the solution notebooks are the live computation (nbval
re-runs them), so each file is checked here against the numbers those outputs print.
"""

import json

import pytest

from autograder.course import SOLUTIONS, read_notebook


def printed(lesson, cell_id):
    """The text a code cell of a solution notebook printed."""
    nb = read_notebook(SOLUTIONS / lesson / f"{lesson}.ipynb")
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def test_lesson03_adding_runs_match_the_printed_results():
    stored = json.loads((SOLUTIONS / "03_bptt" / "adding_rnn_runs.json").read_text())
    text = printed("03_bptt", "l03-c32")
    for T, run in stored["runs"].items():
        assert f"T = {int(T):3d}: test MSE {run['test_mse']:.4f}   ({run['params']} parameters" in text
        assert len(run["losses"]) == 60  # one record every 10 of the 600 steps
    table = printed("03_bptt", "l03-c34")
    for T, (short, long) in stored["table"].items():
        assert f"{int(T):4d} {short:20.4f} {long:21.4f}" in table


def test_lesson06_stored_runs_match_the_printed_results():
    stored = json.loads((SOLUTIONS / "06_training" / "demo_runs.json").read_text())
    text = printed("06_training", "l06-c15")
    for label, errors in stored["errors"].items():
        assert f"{label}: relative error of the truncated gradient  k=1: {errors[0]:.2e}  k=4: {errors[3]:.2e}" in text
    table = printed("06_training", "l06-c17")
    for k, row in stored["runs"].items():
        assert f"{int(k):2d}   {row['best_epoch']:10d}   {row['val_mse']:29.4f}" in table
    curves = printed("06_training", "l06-c23")
    for label, run in stored["curves"].items():
        best, stop = run["best_epoch"], len(run["val_losses"]) - 1
        assert f"{label:5s} {best + 1:12d} {stop + 1:9d} {run['train_losses'][best]:21.4f}" in curves
    assert set(stored["forecasts"]) == {"RNN", "LSTM", "GRU"}


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_lesson07_stores_the_drawn_origin_forecasts(strategy):
    rows = [json.loads(line) for line in (SOLUTIONS / "07_forecasting" / "results.jsonl").read_text().splitlines()]
    origin = [r for r in rows if r["experiment"] == "co2-origin" and r["strategy"] == strategy]
    assert len(origin) == 1 and origin[0]["origin"] == "1997-12" and len(origin[0]["forecast"]) == 24
    assert "its forecast reproduces results.jsonl" in printed("07_forecasting", "l07-c22")
