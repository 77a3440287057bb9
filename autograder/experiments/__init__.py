"""``python -m autograder experiments``: the experiments behind lessons 07-09, with fixed seeds.

Each module of this package defines ``NAME`` and ``run(quick=False)``, a generator of result dicts
(one per model / seed / split). The command prints one JSON object per line on stdout, progress
on stderr, and can write them to a file that the notebooks and the README table read.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time


def modules():
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "run"):
            found.append(module)
    return found


def run_all(names=None, quick=False, out=None) -> int:
    chosen = [m for m in modules() if not names or m.NAME in names]
    unknown = set(names or []) - {m.NAME for m in modules()}
    if unknown:
        print(f"unknown experiment(s): {', '.join(sorted(unknown))}; "
              f"known: {', '.join(m.NAME for m in modules())}", file=sys.stderr)
        return 2
    rows, start = [], time.perf_counter()
    for module in chosen:
        print(f"[{time.perf_counter() - start:6.0f} s] {module.NAME} ...", file=sys.stderr, flush=True)
        for row in module.run(quick=quick):
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"[{time.perf_counter() - start:6.0f} s] done: {len(rows)} results", file=sys.stderr, flush=True)
    if out:
        with open(out, "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    return 0
