"""Recurrent networks from feedback loops to gates: references, hidden tests and grading tools.

``python -m autograder --help`` lists the commands (check, build, execute, bench).
"""

import os as _os

# The course's matrices are small: one BLAS thread is fastest, and it makes training runs (and so the
# outputs stored in solutions/) reproduce exactly whatever the machine. Set before numpy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")
