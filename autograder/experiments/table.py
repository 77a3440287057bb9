"""Markdown results table (model × dataset, baselines included) from the experiments' JSON lines.

``python -m autograder experiments --table`` prints it from the result files committed with
lessons 07 and 08 (written by ``python -m autograder experiments --out ...``).
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from autograder.course import SOLUTIONS

RESULT_FILES = [SOLUTIONS / "07_forecasting" / "results.jsonl",
                SOLUTIONS / "08_gated_vs_vanilla" / "adding_results.jsonl"]
MODELS = ["persistence", "seasonal_naive", "ar2", "ar9", "sarima", "holt_winters", "rnn", "irnn", "rnn_orth", "lstm",
          "gru"]
ADDING_MODELS = ("rnn", "irnn", "rnn_orth", "lstm", "gru")


def load(paths=RESULT_FILES):
    rows = []
    for path in paths:
        if path.exists():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def _cell(values):
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{np.mean(values):.3g} ± {np.std(values, ddof=1):.2g} (n={len(values)})"


def markdown(rows) -> str:
    columns = {}  # column title -> {model: [values]}
    for r in rows:
        exp = r.get("experiment")
        if exp == "sunspots" and "nmse" in r:
            title = f"sunspots {r['split']} NMSE"
            columns.setdefault(title, defaultdict(list))[r["model"]].append(r["nmse"])
        elif exp == "co2" and "rmse" in r:
            strategy = f" {r['strategy']}" if r.get("strategy") else ""
            title = f"CO2 h={r['horizon']} RMSE (ppm)"
            columns.setdefault(title, defaultdict(list))[r["model"] + strategy].append(r["rmse"])
        elif exp == "adding" and r.get("model") in ADDING_MODELS and r.get("role", "test") == "test":
            title = f"adding T={r['T']} test MSE"
            columns.setdefault(title, defaultdict(list))[r["model"]].append(r["test_mse"])
    titles = sorted(columns, key=lambda t: (not t.startswith("sunspots"), not t.startswith("CO2"),
                                            int(t.split("T=")[1].split()[0]) if "T=" in t else 0, t))
    models = sorted({m for col in columns.values() for m in col},
                    key=lambda m: (MODELS.index(m.split()[0]) if m.split()[0] in MODELS else 99, m))
    lines = ["| model | " + " | ".join(titles) + " |", "|---" * (len(titles) + 1) + "|"]
    for model in models:
        lines.append(f"| {model} | " + " | ".join(_cell(columns[t].get(model, [])) for t in titles) + " |")
    return "\n".join(lines)
