"""Shared hidden-test plumbing for the gated lessons (04 LSTM, 05 GRU).

The notebooks teach one cache layout: a step cache as the reference's step functions return it,
and a sequence cache that is the list of the T step caches. ``sequence_forward`` builds that
layout from any step function, so planted sequence-backward bugs can be diagnosed.
"""

import numpy as np

from autograder.checking import Case, Mismatch
from autograder.exercises.l02_vanilla_rnn import random_rnn_params


def grads_entries(grads) -> dict:
    if not isinstance(grads, dict):
        raise Mismatch(f"grads should be a dict with keys W_ih, W_hh, b_ih, b_hh, not {type(grads).__name__}")
    return {f"grads[{k!r}]": v for k, v in grads.items()}


def step_cases(rng, gates, with_c):
    cases = []
    for N, D, H in [(1, 1, 1), (3, 4, 5), (2, 3, 2)]:
        p = random_rnn_params(rng, D, H, scale=0.8, gates=gates)
        states = [rng.normal(size=(N, H)) for _ in range(2 if with_c else 1)]
        upstream = [rng.normal(size=(N, H)) for _ in range(2 if with_c else 1)]
        cases.append(Case(f"N={N}, D={D}, H={H}", (rng.normal(size=(N, D)), *states, p, *upstream)))
    return cases


def sequence_cases(rng, gates, with_c):
    cases = []
    for N, T, D, H in [(1, 1, 1, 2), (2, 5, 3, 4), (3, 7, 1, 3)]:
        p = random_rnn_params(rng, D, H, scale=0.8, gates=gates)
        states = [rng.normal(size=(N, H)) for _ in range(2 if with_c else 1)]
        args = (rng.normal(size=(N, T, D)), *states, p, rng.normal(size=(N, T, H)))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args))
    return cases


def sequence_forward(step_forward, with_c):
    """A sequence forward in the notebooks' layout: hs (N, T, H) and the list of step caches."""

    def forward(x, h0, *rest):
        *c0, p = rest
        h, c, hs, caches = h0, (c0[0] if with_c else None), [], []
        for t in range(x.shape[1]):
            if with_c:
                h, c, cache = step_forward(x[:, t], h, c, p)
            else:
                h, cache = step_forward(x[:, t], h, p)
            hs.append(h)
            caches.append(cache)
        return np.stack(hs, axis=1), caches

    return forward
