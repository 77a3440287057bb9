"""The training toolkit (:mod:`rnnkit.train`) run with the reference implementations.

The loops live in rnnkit, which implements none of the exercises; here they get the reference
passes of every recurrent layer (:func:`layer`) and the reference Adam, clipping, readout gradient
and early stopping (:data:`TOOLS`). ``python -m autograder experiments`` and the tests train
through these.
"""

from __future__ import annotations

from autograder import reference as ref
from autograder.reference import ablation
from rnnkit import train as kit
from rnnkit.data import adding_problem  # noqa: F401 - re-exported
from rnnkit.train import GATES, Layer, Tools, init_params, param_count  # noqa: F401 - re-exported

ABLATIONS = tuple(ablation.ABLATION_BLOCKS)
TOOLS = Tools(adam_step=ref.adam_step, clip_grad_norm=ref.clip_grad_norm, readout_backward=ref.readout_backward,
              early_stopping=ref.early_stopping)


def layer(model) -> Layer:
    """The reference forward and backward passes of ``model`` ("rnn", "rnn_relu", "lstm", "gru" or an ablation)."""
    module = ablation if model in ABLATIONS or model == "rnn_relu" else ref
    final_cell = (lambda cache: cache["c_states"][-1]) if model.startswith("lstm") else None
    return Layer(model, getattr(module, f"{model}_forward"), getattr(module, f"{model}_backward"), final_cell)


def train_adding(model="rnn", **kwargs):
    """:func:`rnnkit.train.train_adding` with the reference implementations (same keyword arguments)."""
    return kit.train_adding(layer(model), TOOLS, **kwargs)


def train_stream(model="lstm", **kwargs):
    """:func:`rnnkit.train.train_stream` with the reference implementations (same keyword arguments)."""
    return kit.train_stream(layer(model), TOOLS, **kwargs)
