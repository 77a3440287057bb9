"""Stored results that lessons 03, 06, 07 and 09 show while they are graded agree with the live runs.

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


LESSON09 = SOLUTIONS / "09_char_lm"


def test_lesson09_unit_analysis_matches_the_printed_results_and_the_stored_lstm():
    """unit_analysis.npz (what section 9 shows while lesson 09 is graded) holds the numbers the unit analysis
    prints, computed from the LSTM stored now, and the traces its figure plots."""
    import numpy as np

    from autograder.experiments.char_lm import _data
    from autograder.reference.charlm import lstm_forward_ids
    from rnnkit.text import build_vocab, decode, load_text

    with np.load(LESSON09 / "unit_analysis.npz") as stored:
        units = {k: stored[k] for k in stored.files}
    with np.load(LESSON09 / "char_lm_lstm.npz") as saved:
        params = {k: saved[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
        assert int(units["seed"]) == int(saved["seed"]) and float(units["val_bpc"]) == float(saved["val_bpc"]), \
            "unit_analysis.npz was computed from other weights: python -m autograder.experiments.char_lm_stored"
    table = printed("09_char_lm", "l09-c38")
    for name, unit, (r_val, r_test, own_max, own_95, best_max, best_95) in zip(units["features"], units["unit"],
                                                                               units["r"]):
        assert (f"{name:>21} {unit:4d} {r_val:+12.3f} {r_test:+7.3f}   {own_max:6.3f} / {own_95:.3f}"
                f"   {best_max:13.3f} / {best_95:.3f}") in table
    for part, share in zip(("validation", "test"), units["share_inside"]):
        assert f"{share:.1%} of the {part} characters are inside a quotation" in table
    (start, stop), (quote, length) = units["span"], units["quote"]
    assert f"passage: test characters {start} to {stop - 1} (a quotation of {length} characters opens at {quote})" \
        in table
    # the traces: the stored LSTM's cell states over the passage (another forward pass), and the features
    _, _, _, test = _data(quick=False)
    passage = decode(test[start:stop], build_vocab(load_text()))
    assert printed("09_char_lm", "l09-c40") == passage + "\n"
    H = params["W_hh"].shape[1]
    _, _, cache = lstm_forward_ids(test[None, :stop], np.zeros((1, H)), np.zeros((1, H)), params)
    cells = cache["c_states"][1 + start:, 0]
    assert np.allclose(units["cell_trace"], cells[:, units["unit"]].T, rtol=0, atol=1e-10)
    inside, line, word = units["feature_trace"]
    assert inside[quote - start] == 1 and inside[quote - start - 1] == 0 and passage[quote - start] == '"'
    assert inside[quote - start + length] == 0 and inside[quote - start: quote - start + length].all()
    assert all((line[i] == 0) == (ch == "\n") for i, ch in enumerate(passage))
    assert all((word[i] == 0) == (not ch.isalpha()) for i, ch in enumerate(passage))


def test_lesson09_unit_analysis_is_what_its_code_computes(tmp_path):
    """The stored file is the maintainer function's result on the stored LSTM (regenerated and compared; floats
    to 1e-9, as another BLAS kernel changes their last bits)."""
    import numpy as np

    from autograder.experiments import char_lm_stored

    fresh = char_lm_stored.unit_analysis(out=tmp_path / "units.npz")
    with np.load(fresh) as new, np.load(LESSON09 / "unit_analysis.npz") as stored:
        assert new.files == stored.files
        for k in set(new.files) - {"blas"}:      # the kernel each was computed on
            same = np.allclose if new[k].dtype.kind == "f" else np.array_equal
            assert same(new[k], stored[k], **({"rtol": 0, "atol": 1e-9} if same is np.allclose else {})), k


def test_lesson09_stored_scores_match_the_printed_results():
    """While graded, section 7 prints the race's scores stored in live_run.npz and section 8 the stored LSTM's
    recorded validation score: the same lines as the live evaluation printed."""
    import numpy as np

    from autograder.experiments.char_lm import _data, bpc

    keys = ("W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")
    _, _, val, _ = _data(quick=False)
    final = printed("09_char_lm", "l09-c33")
    with np.load(LESSON09 / "live_run.npz") as run:
        for label, model, prefix in (("LSTM (H = 64", "lstm", ""), ("tanh RNN (H = 140", "rnn", "rnn_")):
            score = float(run[f"{model}_val_bpc"])
            assert abs(score - bpc(model, {k: run[prefix + k] for k in keys}, val)) < 1e-9
            line = next(x for x in final.splitlines() if x.startswith(label))
            assert line.endswith(f"validation {score:.3f} bits per character (perplexity {2 ** score:.2f})")
    with np.load(LESSON09 / "char_lm_lstm.npz") as saved:
        score = float(saved["val_bpc"])
    assert f"validation: {score:.3f} bits per character (perplexity {2 ** score:.2f}); the experiment recorded " \
        f"{score:.3f}" in printed("09_char_lm", "l09-c35")
