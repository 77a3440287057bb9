"""The worker processes the experiments train in: spawned, one BLAS thread each.

For the course's small matrices one thread per process is several times faster than many threads
competing for the cores, and it makes every run reproduce exactly.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import platform
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Variables that choose the kernels numpy's arithmetic runs on (OpenBLAS's, numpy's own SIMD loops).
KERNEL_VARS = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")


def _openblas() -> dict:
    """The OpenBLAS this process loaded: its configuration and the core type it chose at run time."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        found = {}
        for key, name in (("blas_coretype", "get_corename"), ("blas_config", "get_config")):
            for symbol in (f"scipy_openblas_{name}64_", f"openblas_{name}64_", f"openblas_{name}"):
                function = getattr(lib, symbol, None)
                if function is not None:
                    function.restype = ctypes.c_char_p
                    found[key] = function().decode().strip()
                    break
        if found:
            return found
    return {}


def blas_record() -> dict:
    """What numbers computed in this process depend on beyond the seed: store it with every result file.

    A training run of hundreds of steps turns last-bit differences between BLAS kernels into different
    third digits, so a stored result reproduces exactly only on the kernel recorded here: OpenBLAS's
    core type (``OPENBLAS_CORETYPE`` chooses another), numpy's version and the SIMD extensions its own
    loops use (``NPY_DISABLE_CPU_FEATURES`` limits them), the machine and the thread count.
    """
    import numpy

    record = {"numpy": numpy.__version__, "machine": platform.machine()}
    record.update(_openblas())
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        record["numpy_simd"] = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
    except ImportError:  # numpy's private module moved: the rest still identifies the run
        pass
    record.update({var: os.environ[var] for var in (*KERNEL_VARS, "OPENBLAS_NUM_THREADS") if os.environ.get(var)})
    return record


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
