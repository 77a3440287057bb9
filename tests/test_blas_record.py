"""blas_record() names the kernel a stored result was computed on (issue: stored outputs per kernel)."""

import json
import os
import subprocess
import sys

import pytest

from autograder.course import SOLUTIONS
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


STORED_RESULTS = ["03_bptt/adding_rnn_runs.json", "04_lstm/live_runs.json", "04_lstm/adding_lstm_T100.json",
                  "06_training/demo_runs.json"]


@pytest.mark.parametrize("name", STORED_RESULTS)
def test_stored_results_record_the_kernel_they_were_made_on(name):
    record = json.loads((SOLUTIONS / name).read_text()).get("blas", {})
    assert {"numpy", "machine", "blas_coretype"} <= set(record), f"{name}: store blas_record() with the results"


REPLAY = """
import json
from rnnkit.given import adam_step, readout_backward
from rnnkit.solved.l02_vanilla_rnn import rnn_forward
from rnnkit.solved.l03_bptt import clip_grad_norm, rnn_backward
from rnnkit.train import Layer, Tools, train_adding
run = train_adding(Layer("rnn", rnn_forward, rnn_backward), Tools(adam_step, clip_grad_norm, readout_backward),
                   T=10, H=16, steps=600, lr=1e-2, seed=0)
print(json.dumps({"test_mse": run["test_mse"], "losses": run["losses"]}))
"""


def test_a_stored_training_run_reproduces_exactly_on_the_kernel_it_records():
    """Lesson 03's T = 10 run (600 steps), repeated under the recorded kernel, gives the stored floats."""
    stored = json.loads((SOLUTIONS / "03_bptt" / "adding_rnn_runs.json").read_text())
    record, here = stored["blas"], blas_record()
    if (record["machine"], record["numpy"]) != (here["machine"], here["numpy"]) or "blas_coretype" not in here:
        pytest.skip(f"recorded on {record['machine']} with numpy {record['numpy']}: cannot replay here")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": record["blas_coretype"]}
    env.pop("NPY_DISABLE_CPU_FEATURES", None)
    replay = json.loads(subprocess.run([sys.executable, "-c", REPLAY], env=env, capture_output=True, text=True,
                                       check=True).stdout)
    assert replay["test_mse"] == stored["runs"]["10"]["test_mse"]
    assert replay["losses"] == stored["runs"]["10"]["losses"]
