"""`python -m autograder experiments --quick` runs every experiment and prints well-formed JSON lines."""

import json
import subprocess
import sys

from autograder.experiments.table import load, markdown


def test_quick_experiments_print_json_lines():
    proc = subprocess.run([sys.executable, "-m", "autograder", "experiments", "--quick"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    experiments = {r["experiment"] for r in rows}
    assert {"adding", "stream", "sunspots", "co2"} <= experiments
    assert all("model" in r for r in rows)
    assert "done:" in proc.stderr  # progress goes to stderr
    check_adding_rows([r for r in rows if r["experiment"] == "adding"])
    check_stream_rows([r for r in rows if r["experiment"] == "stream"])


def check_adding_rows(rows):
    """Every run says its learning rate; the reported runs use the one with the lowest validation MSE."""
    from autograder.experiments import adding

    for r in rows:
        assert {"model", "T", "seed", "test_mse", "val_mse", "lr", "lr_grid", "role"} <= set(r)
        assert r["lr"] in r["lr_grid"] and r["lr_grid"] == list(adding.LR_GRID)
        assert r["forget_bias"] == (1.0 if r["model"] in ("lstm", "lstm_no_output") else 0.0)
    selection = [r for r in rows if r["role"] == "lr_selection"]
    reported = [r for r in rows if r["role"] == "test"]
    assert selection and reported and len(selection) + len(reported) == len(rows)
    assert not {r["seed"] for r in selection} & {r["seed"] for r in reported}
    for cell in {(r["model"], r["T"]) for r in reported}:
        grid = [r for r in selection if (r["model"], r["T"]) == cell]
        assert sorted(r["lr"] for r in grid) == sorted(adding.LR_GRID)
        best = min(grid, key=lambda r: r["val_mse"])["lr"]
        assert {r["lr"] for r in reported if (r["model"], r["T"]) == cell} == {best}


def check_stream_rows(rows):
    for r in rows:
        assert {"model", "T", "seed", "test_mse", "role", "test_mse_per_segment", "cell_per_segment"} <= set(r)
        assert r["role"] in ("stream", "reset_trained")
    assert {r["model"] for r in rows if r["role"] == "stream"} == {"lstm", "gru", "lstm_no_forget"}


def test_results_table_has_baselines_and_models():
    table = markdown(load())
    for name in ("persistence", "ar9", "sarima", "rnn", "lstm", "gru", "adding T=100"):
        assert name in table


def test_lesson08_results_follow_the_protocol_and_live_runs_match_the_printed_results():
    """The committed result files of lesson 08 hold what the lesson reads; live_runs.json (what the
    notebook shows while it is graded) holds the numbers its stored outputs print."""
    from autograder.course import SOLUTIONS, read_notebook
    from autograder.experiments import adding, stream

    folder = SOLUTIONS / "08_gated_vs_vanilla"
    rows = [json.loads(line) for line in (folder / "adding_results.jsonl").read_text().splitlines()]
    check_adding_rows(rows)
    reported = [r for r in rows if r["role"] == "test"]
    assert {r["seed"] for r in reported} == set(adding.SEEDS) and {r["steps"] for r in rows} == {adding.STEPS}
    stream_rows = [json.loads(line) for line in (folder / "stream_results.jsonl").read_text().splitlines()]
    check_stream_rows(stream_rows)
    assert len(stream_rows) == len(stream.jobs())
    nb = read_notebook(folder / "08_gated_vs_vanilla.ipynb")

    def printed(cell_id):
        cell = next(c for c in nb.cells if c.get("id") == cell_id)
        return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")

    live = json.loads((folder / "live_runs.json").read_text())
    text = printed("l08-c-stream-live")
    for name, result in live["stream"].items():
        errors = result["test_mse_per_segment"]
        assert f"{name:38s}" + "".join(f"{errors[k - 1]:9.4f}" for k in (1, 2, 5, len(errors))) in text
    text = printed("l08-c35")
    for model in ("gru", "lstm"):
        assert f"live {live[f'rerun, {model}']['test_mse']:.6f}" in text
