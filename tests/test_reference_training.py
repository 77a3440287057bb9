"""References for lessons 03 and 06 (gradient checking, clipping, Adam) and the adding problem."""

import numpy as np
import pytest

from autograder.checking import rel_error
from autograder.reference import (
    adam_step,
    clip_grad_norm,
    numeric_gradient,
    rnn_backward,
    rnn_forward,
    state_gradient_norms,
)
from autograder.train import adding_problem, init_params


def test_numeric_gradient_of_a_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    grad = numeric_gradient(lambda z: float(np.sum(z**3)), x.copy())
    assert rel_error(grad, 3 * x**2) < 1e-9


def test_state_gradient_norms_match_full_backward():
    rng = np.random.default_rng(0)
    p = init_params("rnn", 2, 5, rng)
    x, h0 = rng.normal(size=(3, 7, 2)), rng.normal(size=(3, 5))
    hs, cache = rnn_forward(x, h0, p)
    dh_last = rng.normal(size=(3, 5))
    norms = state_gradient_norms(dh_last, cache)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = dh_last  # L = <dh_last, h_{T-1}>
    for t in range(7):
        # ∂L/∂h_t is the dh0 of the suffix sequence that starts from state h_t
        if t == 6:
            want = np.linalg.norm(dh_last)
        else:
            sub = {"x": x[:, t + 1:], "h0": hs[:, t], "hs": hs[:, t + 1:], "p": p}
            want = np.linalg.norm(rnn_backward(dhs[:, t + 1:], sub)[1])
        assert norms[t] == pytest.approx(want, rel=1e-12)


def test_clip_grad_norm_rescales_only_large_gradients():
    grads = {"a": np.array([3.0, 4.0]), "b": np.array([0.0])}
    clipped, total = clip_grad_norm(grads, 1.0)
    assert total == 5.0 and rel_error(clipped["a"], [0.6, 0.8]) < 1e-6
    same, _ = clip_grad_norm(grads, 10.0)
    assert np.array_equal(same["a"], grads["a"])


def test_adam_and_clipping_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=3)}
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.Adam(list(tparams.values()), lr=0.01)
    state = {}
    for _ in range(5):
        grads = {k: rng.normal(scale=3, size=v.shape) for k, v in params.items()}
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k])
        total_t = torch.nn.utils.clip_grad_norm_(list(tparams.values()), 1.0)
        grads, total = clip_grad_norm(grads, 1.0)
        assert total == pytest.approx(float(total_t), rel=1e-12)
        for k, t in tparams.items():
            assert rel_error(grads[k], t.grad.numpy()) < 1e-12
        opt.step()
        params, state = adam_step(params, grads, state, lr=0.01)
    for k, t in tparams.items():
        assert rel_error(params[k], t.detach().numpy()) < 1e-12


def test_adding_problem_targets_and_baseline():
    rng = np.random.default_rng(2)
    x, y = adding_problem(20000, 50, rng)
    markers = x[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :25].sum(axis=1) == 1) and np.all(markers[:, 25:].sum(axis=1) == 1)
    assert np.allclose(y, (x[:, :, 0] * markers).sum(axis=1))
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, rel=0.03)
