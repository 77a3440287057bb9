"""The worker processes the experiments train in: spawned, one BLAS thread each.

For the course's small matrices one thread per process is several times faster than many threads
competing for the cores, and it makes every run reproduce exactly.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def worker_pool(workers: int | None = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes (all cores by default) that use one BLAS thread each.

    The thread variables are set while the pool exists (the workers inherit them) and restored after.
    """
    saved = {var: os.environ.get(var) for var in THREAD_VARS}
    os.environ.update({var: "1" for var in THREAD_VARS})
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=context) as pool:
            yield pool
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
