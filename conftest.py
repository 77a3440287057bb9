"""Repository-wide pytest settings, also when nbval runs one notebook alone.

- nbval compares the solution notebooks' cells tagged ``approx-output`` within a tolerance instead of
  exactly (autograder/approx_outputs.py says why and how);
- nbval's kernels inherit the environment stored outputs are made in (no progress bars).
"""

import os

from autograder.course import STORED_OUTPUT_ENV

os.environ.update(STORED_OUTPUT_ENV)

pytest_plugins = ["autograder.approx_outputs"]
