"""Repository-wide pytest settings: nbval compares the solution notebooks' cells tagged ``approx-output``
within a tolerance instead of exactly (autograder/approx_outputs.py says why and how)."""

pytest_plugins = ["autograder.approx_outputs"]
