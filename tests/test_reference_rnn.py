"""The reference tanh RNN against centred finite differences and, when installed, torch.nn.RNN."""

import numpy as np
import pytest

from autograder.checking import rel_error
from autograder.reference import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from tests.gradcheck import numeric_grad

N, T, D, H = 2, 4, 3, 5


def params(rng):
    return {
        "W_ih": rng.normal(scale=0.6, size=(H, D)),
        "W_hh": rng.normal(scale=0.5, size=(H, H)),
        "b_ih": rng.normal(scale=0.3, size=H),
        "b_hh": rng.normal(scale=0.3, size=H),
    }




def test_step_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    p, x, h_prev = params(rng), rng.normal(size=(N, D)), rng.normal(size=(N, H))
    w = rng.normal(size=(N, H))  # loss = sum(w * h)

    def loss():
        return float(np.sum(w * rnn_step_forward(x, h_prev, p)[0]))

    _, cache = rnn_step_forward(x, h_prev, p)
    dx, dh_prev, grads = rnn_step_backward(w, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-7
    assert rel_error(dh_prev, numeric_grad(loss, h_prev)) < 1e-7
    for key in p:
        assert rel_error(grads[key], numeric_grad(loss, p[key])) < 1e-7, key


def test_sequence_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    p, x, h0 = params(rng), rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    w = rng.normal(size=(N, T, H))

    def loss():
        return float(np.sum(w * rnn_forward(x, h0, p)[0]))

    _, cache = rnn_forward(x, h0, p)
    dx, dh0, grads = rnn_backward(w, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-7
    assert rel_error(dh0, numeric_grad(loss, h0)) < 1e-7
    for key in p:
        assert rel_error(grads[key], numeric_grad(loss, p[key])) < 1e-7, key


def test_sequence_equals_repeated_steps():
    rng = np.random.default_rng(2)
    p, x, h = params(rng), rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    hs, _ = rnn_forward(x, h, p)
    for t in range(T):
        h, _ = rnn_step_forward(x[:, t], h, p)
        assert rel_error(hs[:, t], h) < 1e-14


def test_matches_torch_rnn():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p, x, h0 = params(rng), rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    w = rng.normal(size=(N, T, H))
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for key, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"),
                          ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]:
            getattr(rnn, name).copy_(torch.from_numpy(p[key]))
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    out, _ = rnn(xt, h0t)
    (out * torch.from_numpy(w)).sum().backward()

    hs, cache = rnn_forward(x, h0, p)
    dx, dh0, grads = rnn_backward(w, cache)
    assert rel_error(hs, out.detach().numpy()) < 1e-10
    assert rel_error(dx, xt.grad.numpy()) < 1e-10
    assert rel_error(dh0, h0t.grad.numpy()[0]) < 1e-10
    for key, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"),
                      ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]:
        assert rel_error(grads[key], getattr(rnn, name).grad.numpy()) < 1e-10, key
