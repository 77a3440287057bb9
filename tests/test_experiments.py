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
    assert {"adding", "sunspots", "co2"} <= experiments
    assert all("model" in r for r in rows)
    assert "done:" in proc.stderr  # progress goes to stderr


def test_results_table_has_baselines_and_models():
    table = markdown(load())
    for name in ("persistence", "ar9", "sarima", "rnn", "lstm", "gru", "adding T=100"):
        assert name in table
