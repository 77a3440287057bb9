"""The forecaster of :mod:`rnnkit.train` with the reference implementations, by layer name.

``fit("gru", X, y, ...)`` is ``rnnkit.train.fit(layer("gru"), TOOLS, X, y, ...)``; likewise
:func:`predict`, :func:`mse`, :func:`loss_and_grads`, :func:`hidden_states`. The data loaders
are rnnkit's (``statsmodels.datasets``, offline).
"""

from __future__ import annotations

from autograder.reference import make_windows
from autograder.train import TOOLS, layer
from rnnkit import forecast as protocol
from rnnkit import train as kit
from rnnkit.data import load_co2, load_sunspots  # noqa: F401 - re-exported
from rnnkit.train import init_forecaster  # noqa: F401 - re-exported


def fit(model, *args, **kwargs):
    return kit.fit(layer(model), TOOLS, *args, **kwargs)


def predict(model, p, X):
    return kit.predict(layer(model), p, X)


def mse(model, p, X, Y):
    return kit.mse(layer(model), p, X, Y)


def loss_and_grads(model, p, X, Y, truncate=None):
    return kit.loss_and_grads(layer(model), TOOLS, p, X, Y, truncate)


def hidden_states(model, x, p, truncate=None):
    return kit.hidden_states(layer(model), x, p, truncate)


def make_direct_windows(series, T, horizon):
    return protocol.make_direct_windows(series, T, horizon, make_windows)
