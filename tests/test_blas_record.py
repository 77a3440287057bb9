"""blas_record() names the kernel a stored result was computed on (issue: stored outputs per kernel)."""

import json
import os
import subprocess
import sys

import pytest

from autograder.experiments.pool import blas_record


def _record_in(env_update):
    env = {**os.environ, **env_update}
    code = "import json; from autograder.experiments.pool import blas_record; print(json.dumps(blas_record()))"
    return json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                     check=True).stdout)


def test_blas_record_is_plain_data_with_the_machine_and_numpy():
    record = blas_record()
    assert json.loads(json.dumps(record)) == record
    assert record["machine"] and record["numpy"]


def test_blas_record_names_the_kernel_chosen_by_the_environment():
    here = blas_record()
    if "blas_coretype" not in here or here["machine"] != "x86_64":
        pytest.skip("no OpenBLAS with a run-time kernel choice here")
    sandy = _record_in({"OPENBLAS_CORETYPE": "Sandybridge", "NPY_DISABLE_CPU_FEATURES": "X86_V4"})
    assert sandy["blas_coretype"] == "Sandybridge" and sandy["OPENBLAS_CORETYPE"] == "Sandybridge"
    assert sandy["NPY_DISABLE_CPU_FEATURES"] == "X86_V4" and "X86_V4" not in sandy.get("numpy_simd", [])
