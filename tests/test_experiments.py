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
    """Every run says its model's layer and initialisation and its learning rate; each cell's grid holds every
    selection seed at every rate, brackets the chosen rate (or reaches the end of the ladder), and the reported
    runs use the rate with the lowest mean validation MSE over the selection seeds."""
    from autograder.experiments import adding

    for r in rows:
        assert {"model", "T", "seed", "test_mse", "val_mse", "lr", "lr_grid", "role", "init", "layer",
                "nonlinearity", "selection_seeds"} <= set(r)
        assert (r["layer"], r["nonlinearity"], r["init"]) == adding.SPECS[r["model"]]
        assert r["lr"] in r["lr_grid"] and set(r["lr_grid"]) <= set(adding.LR_LADDER)
        assert set(adding.LR_GRID[r["model"]]) <= set(r["lr_grid"])
        assert r["forget_bias"] == (1.0 if r["model"] in ("lstm", "lstm_no_output") else 0.0)
    selection = [r for r in rows if r["role"] == "lr_selection"]
    reported = [r for r in rows if r["role"] == "test"]
    assert selection and reported and len(selection) + len(reported) == len(rows)
    assert not {r["seed"] for r in selection} & {r["seed"] for r in reported}
    for cell in {(r["model"], r["T"]) for r in reported}:
        grid = [r for r in selection if (r["model"], r["T"]) == cell]
        lrs, seeds = grid[0]["lr_grid"], grid[0]["selection_seeds"]
        assert all(r["lr_grid"] == lrs and r["selection_seeds"] == seeds for r in grid)
        assert sorted((r["lr"], r["seed"]) for r in grid) == sorted((lr, s) for lr in lrs for s in seeds)
        best = adding.select(grid, lrs, seeds)
        assert {r["lr"] for r in reported if (r["model"], r["T"]) == cell} == {best}
        assert len(seeds) >= 2, f"{cell}: {len(seeds)} selection seed(s)"
        assert adding.extend(lrs, best) is None, f"{cell}: the chosen rate {best} sits at the edge of {lrs}"


def test_protocol_checks_can_fail():
    """A reported rate that is not the selection's choice, or a choice at the grid's edge, is caught."""
    import pytest

    from autograder.experiments import adding

    def row(role, lr, seed, val):
        return {"experiment": "adding", "role": role, "model": "rnn", "layer": "rnn", "nonlinearity": "tanh",
                "init": "default", "T": 10, "seed": seed, "lr": lr, "val_mse": val, "test_mse": val,
                "forget_bias": 0.0, "lr_grid": [1e-3, 3e-3, 1e-2, 3e-2], "selection_seeds": [100, 101]}

    vals = {1e-3: 0.2, 3e-3: 0.1, 1e-2: 0.15, 3e-2: 0.3}
    selection = [row("lr_selection", lr, s, v) for lr, v in vals.items() for s in (100, 101)]
    check_adding_rows(selection + [row("test", 3e-3, 0, 0.1)])
    with pytest.raises(AssertionError):                       # reported at a rate the selection did not choose
        check_adding_rows(selection + [row("test", 1e-2, 0, 0.1)])
    edge = [dict(r, val_mse=0.01) if r["lr"] == 3e-2 else r for r in selection]
    with pytest.raises(AssertionError):                       # chosen at the edge: the grid must grow
        check_adding_rows(edge + [row("test", 3e-2, 0, 0.1)])
    one_seed = [dict(r, selection_seeds=[100]) for r in selection if r["seed"] == 100]
    with pytest.raises(AssertionError):                       # one selection seed is not enough
        check_adding_rows(one_seed + [row("test", 3e-3, 0, 0.1)])
    with pytest.raises(AssertionError):                       # a cell with fewer runs than its grid says
        check_adding_rows(selection[1:] + [row("test", 3e-3, 0, 0.1)])
    assert adding.extend((1e-3, 3e-3), 3e-3) == (1e-3, 3e-3, 1e-2)
    assert adding.extend((1e-3, 3e-3, 1e-2), 3e-3) is None


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
    for model in ("gru",):
        assert f"live {live[f'rerun, {model}']['test_mse']:.6f}" in text
    text = printed("l08-c-side")
    side = live["side by side"]
    assert {r["model"] for r in side} == {"rnn", "gru"} and len(side) == 6
    for model in ("rnn", "gru"):
        mine = [r for r in side if r["model"] == model]
        assert "  ".join(f"{r['test_mse']:.4f}" for r in mine) in text
        file_lr = {r["lr"] for r in reported if (r["model"], r["T"]) == (model, 50)}
        assert {r["lr"] for r in mine} == file_lr, f"the live {model} uses the file's learning rate at T = 50"
