"""Shared hidden-test plumbing for the gated lessons (04 LSTM, 05 GRU).

The notebooks teach one cache layout: a step cache as the reference's step functions return it,
and a sequence cache that is the list of the T step caches. ``sequence_forward`` builds that
layout from any step function, so planted sequence-backward bugs can be diagnosed.
"""

import numpy as np

from autograder.checking import Case, Mismatch, name_outputs
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


LSTM_CACHE = ("x", "h_prev", "c_prev", "gates", "tanh_c")  # a step cache's arrays, before p
GRU_CACHE = ("x", "h_prev", "gates", "hn")


def cache_entries(cache, want, names) -> dict:
    """The arrays of a learner's cache, named, to compare with the course's cache ``want``.

    The later exercise (the backward pass) reads the cache, so a wrong cache loses the forward pass's
    own points, not the backward's. A step cache is a tuple (names..., p); a sequence cache is the
    list of its step caches. A cache of a layout of the learner's own is not compared (``want``
    stands in): their backward pass is tested with it.
    """
    def step_like(value, model):
        return isinstance(value, tuple | list) and len(value) == len(model) and not isinstance(model, list)

    if isinstance(want, list):  # a sequence: the list of step caches
        ok = isinstance(cache, list) and len(cache) == len(want) and all(
            step_like(c, w) for c, w in zip(cache, want))
        steps = cache if ok else want
        return {f"the cache's step {t} {name}": steps[t][k]
                for t in range(len(want)) for k, name in enumerate(names)}
    step = cache if step_like(cache, want) else want
    return {f"the cache's {name}": step[k] for k, name in enumerate(names)}


def step_forward_run(reference, with_c=True):
    """``run`` of a gated step forward: h (and c) and the arrays of its cache (see :func:`cache_entries`)."""
    outputs, names = (("h", "c", None), LSTM_CACHE) if with_c else (("h", None), GRU_CACHE)

    def run(target, fns, case):
        args = case.args[:4] if with_c else case.args[:3]
        out = target(*args)
        flat = name_outputs(getattr(target, "__name__", "the function"), out, outputs)
        return {**flat, **cache_entries(out[-1], reference(*args)[-1], names)}

    return run


def sequence_forward_run(course_forward, with_c=True):
    """``run`` of a gated sequence forward: hs and the arrays of every step cache."""
    names = LSTM_CACHE if with_c else GRU_CACHE

    def run(target, fns, case):
        args = case.args[:4] if with_c else case.args[:3]
        out = target(*args)
        flat = name_outputs(getattr(target, "__name__", "the function"), out, ("hs", None))
        return {**flat, **cache_entries(out[-1], course_forward(*args)[-1], names)}

    return run
