"""Tests for the NumPy reference LSTM and GRU (autograder/reference/{lstm,gru}.py).

* Every gradient of the step and sequence functions is checked against
  centred finite differences (float64, small sizes).
* Forward values and gradients are checked against torch.nn.LSTM / GRU and
  torch.nn.LSTMCell / GRUCell when torch is installed (skipped otherwise).
"""

import numpy as np
import pytest

from autograder.reference.gru import (
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
)
from autograder.reference.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from tests.gradcheck import numeric_grad, rel_error

PARAM_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")
FD_TOL = 1e-7
TORCH_TOL = 1e-10


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------



def make_params(rng, D, H, n_gates, scale=0.5):
    """Random float64 parameters in PyTorch layout (n_gates * H rows)."""
    return {
        "W_ih": scale * rng.standard_normal((n_gates * H, D)),
        "W_hh": scale * rng.standard_normal((n_gates * H, H)),
        "b_ih": scale * rng.standard_normal(n_gates * H),
        "b_hh": scale * rng.standard_normal(n_gates * H),
    }




def check_grads(loss, named_inputs, analytic):
    """Compare analytic gradients with finite differences for every input."""
    for name, arr in named_inputs.items():
        num = numeric_grad(loss, arr)
        err = rel_error(num, analytic[name])
        assert err < FD_TOL, f"d{name}: rel error {err:.3e}"


# --------------------------------------------------------------------------
# finite differences: LSTM
# --------------------------------------------------------------------------


def test_lstm_step_gradients_fd():
    rng = np.random.default_rng(0)
    N, D, H = 2, 3, 4
    x = rng.standard_normal((N, D))
    h = rng.standard_normal((N, H))
    c = rng.standard_normal((N, H))
    p = make_params(rng, D, H, 4)
    wh, wc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():
        h_new, c_new, _ = lstm_step_forward(x, h, c, p)
        return np.sum(h_new * wh) + np.sum(c_new * wc)

    _, _, cache = lstm_step_forward(x, h, c, p)
    dx, dh, dc, grads = lstm_step_backward(wh, wc, cache)
    assert dx.shape == x.shape and dh.shape == h.shape and dc.shape == c.shape
    check_grads(
        loss,
        {"x": x, "h": h, "c": c, **p},
        {"x": dx, "h": dh, "c": dc, **grads},
    )


def test_lstm_sequence_gradients_fd():
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 4, 3, 4
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    c0 = rng.standard_normal((N, H))
    p = make_params(rng, D, H, 4)
    w = rng.standard_normal((N, T, H))

    def loss():
        return np.sum(lstm_forward(x, h0, c0, p)[0] * w)

    hs, cache = lstm_forward(x, h0, c0, p)
    assert hs.shape == (N, T, H)
    dx, dh0, dc0, grads = lstm_backward(w, cache)
    assert set(grads) == set(PARAM_KEYS)
    for k in PARAM_KEYS:
        assert grads[k].shape == p[k].shape
    check_grads(
        loss,
        {"x": x, "h0": h0, "c0": c0, **p},
        {"x": dx, "h0": dh0, "c0": dc0, **grads},
    )


def test_lstm_sequence_matches_steps():
    rng = np.random.default_rng(2)
    N, T, D, H = 3, 5, 2, 4
    x = rng.standard_normal((N, T, D))
    h = h0 = rng.standard_normal((N, H))
    c = c0 = rng.standard_normal((N, H))
    p = make_params(rng, D, H, 4)
    hs, _ = lstm_forward(x, h0, c0, p)
    for t in range(T):
        h, c, _ = lstm_step_forward(x[:, t], h, c, p)
        assert rel_error(hs[:, t], h) < 1e-13


# --------------------------------------------------------------------------
# finite differences: GRU
# --------------------------------------------------------------------------


def test_gru_step_gradients_fd():
    rng = np.random.default_rng(3)
    N, D, H = 2, 3, 4
    x = rng.standard_normal((N, D))
    h = rng.standard_normal((N, H))
    p = make_params(rng, D, H, 3)
    w = rng.standard_normal((N, H))

    def loss():
        return np.sum(gru_step_forward(x, h, p)[0] * w)

    _, cache = gru_step_forward(x, h, p)
    dx, dh, grads = gru_step_backward(w, cache)
    assert dx.shape == x.shape and dh.shape == h.shape
    check_grads(loss, {"x": x, "h": h, **p}, {"x": dx, "h": dh, **grads})


def test_gru_sequence_gradients_fd():
    rng = np.random.default_rng(4)
    N, T, D, H = 2, 4, 3, 4
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    p = make_params(rng, D, H, 3)
    w = rng.standard_normal((N, T, H))

    def loss():
        return np.sum(gru_forward(x, h0, p)[0] * w)

    hs, cache = gru_forward(x, h0, p)
    assert hs.shape == (N, T, H)
    dx, dh0, grads = gru_backward(w, cache)
    assert set(grads) == set(PARAM_KEYS)
    for k in PARAM_KEYS:
        assert grads[k].shape == p[k].shape
    check_grads(loss, {"x": x, "h0": h0, **p}, {"x": dx, "h0": dh0, **grads})


def test_gru_sequence_matches_steps():
    rng = np.random.default_rng(5)
    N, T, D, H = 3, 5, 2, 4
    x = rng.standard_normal((N, T, D))
    h = h0 = rng.standard_normal((N, H))
    p = make_params(rng, D, H, 3)
    hs, _ = gru_forward(x, h0, p)
    for t in range(T):
        h, _ = gru_step_forward(x[:, t], h, p)
        assert rel_error(hs[:, t], h) < 1e-13


def test_saturated_inputs_stay_finite():
    """Huge pre-activations must not overflow the sigmoid (no NaN / inf)."""
    rng = np.random.default_rng(6)
    N, T, D, H = 2, 3, 3, 4
    x = 1e4 * rng.standard_normal((N, T, D))
    h0 = np.zeros((N, H))
    with np.errstate(over="raise", invalid="raise"):
        hs, cache = lstm_forward(x, h0, h0, make_params(rng, D, H, 4))
        grads = lstm_backward(np.ones_like(hs), cache)[3]
        assert np.all(np.isfinite(hs)) and np.all(np.abs(hs) <= 1.0)
        assert all(np.all(np.isfinite(g)) for g in grads.values())
        hs, cache = gru_forward(x, h0, make_params(rng, D, H, 3))
        grads = gru_backward(np.ones_like(hs), cache)[2]
        assert np.all(np.isfinite(hs)) and np.all(np.abs(hs) <= 1.0)
        assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_backward_does_not_modify_cache():
    """Running a sequence backward twice must give identical gradients."""
    rng = np.random.default_rng(7)
    N, T, D, H = 2, 3, 3, 4
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    w = rng.standard_normal((N, T, H))
    _, cache = lstm_forward(x, h0, h0, make_params(rng, D, H, 4))
    first, second = lstm_backward(w, cache), lstm_backward(w, cache)
    for a, b in zip(first[:3], second[:3]):
        np.testing.assert_array_equal(a, b)
    for k in PARAM_KEYS:
        np.testing.assert_array_equal(first[3][k], second[3][k])
    _, cache = gru_forward(x, h0, make_params(rng, D, H, 3))
    first, second = gru_backward(w, cache), gru_backward(w, cache)
    for a, b in zip(first[:2], second[:2]):
        np.testing.assert_array_equal(a, b)
    for k in PARAM_KEYS:
        np.testing.assert_array_equal(first[2][k], second[2][k])


def test_public_names():
    from autograder.reference import gru, lstm

    assert sorted(lstm.__all__) == [
        "lstm_backward",
        "lstm_forward",
        "lstm_step_backward",
        "lstm_step_forward",
    ]
    assert sorted(gru.__all__) == ["gru_backward", "gru_forward", "gru_step_backward", "gru_step_forward"]
    for module in (lstm, gru):
        for name in module.__all__:
            assert callable(getattr(module, name))


# --------------------------------------------------------------------------
# against PyTorch
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def load_torch_params(torch, module, p):
    """Copy a reference parameter dict into a torch RNN module / cell."""
    suffix = "_l0" if hasattr(module, "weight_ih_l0") else ""
    names = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
    with torch.no_grad():
        for k, name in names.items():
            getattr(module, name + suffix).copy_(torch.from_numpy(p[k]))
    return {k: getattr(module, name + suffix) for k, name in names.items()}


def leaf(torch, a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def assert_close_to_torch(pairs):
    """Assert rel_error(ours, torch) < TORCH_TOL for each named (ours, tensor) pair."""
    for name, (a, t) in pairs.items():
        err = rel_error(a, t.detach().numpy())
        assert err < TORCH_TOL, f"{name}: rel error {err:.3e} vs torch"


def test_lstm_matches_torch(torch):
    rng = np.random.default_rng(10)
    N, T, D, H = 3, 7, 5, 6
    x, h0, c0 = (rng.standard_normal(s) for s in [(N, T, D), (N, H), (N, H)])
    p = make_params(rng, D, H, 4)
    w = rng.standard_normal((N, T, H))

    hs, cache = lstm_forward(x, h0, c0, p)
    dx, dh0, dc0, grads = lstm_backward(w, cache)

    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    tp = load_torch_params(torch, lstm, p)
    xt, h0t, c0t = leaf(torch, x), leaf(torch, h0[None]), leaf(torch, c0[None])
    out, (hn, _) = lstm(xt, (h0t, c0t))
    (out * torch.from_numpy(w)).sum().backward()

    assert_close_to_torch(
        {
            "hs": (hs, out),
            "h_T": (hs[:, -1], hn[0]),
            "dx": (dx, xt.grad),
            "dh0": (dh0, h0t.grad[0]),
            "dc0": (dc0, c0t.grad[0]),
            **{f"d{k}": (grads[k], tp[k].grad) for k in PARAM_KEYS},
        }
    )


def test_gru_matches_torch(torch):
    rng = np.random.default_rng(11)
    N, T, D, H = 3, 7, 5, 6
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    p = make_params(rng, D, H, 3)
    w = rng.standard_normal((N, T, H))

    hs, cache = gru_forward(x, h0, p)
    dx, dh0, grads = gru_backward(w, cache)

    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    tp = load_torch_params(torch, gru, p)
    xt, h0t = leaf(torch, x), leaf(torch, h0[None])
    out, hn = gru(xt, h0t)
    (out * torch.from_numpy(w)).sum().backward()

    assert_close_to_torch(
        {
            "hs": (hs, out),
            "h_T": (hs[:, -1], hn[0]),
            "dx": (dx, xt.grad),
            "dh0": (dh0, h0t.grad[0]),
            **{f"d{k}": (grads[k], tp[k].grad) for k in PARAM_KEYS},
        }
    )


def test_lstm_step_matches_torch_cell(torch):
    rng = np.random.default_rng(12)
    N, D, H = 4, 5, 6
    x, h, c = (rng.standard_normal(s) for s in [(N, D), (N, H), (N, H)])
    p = make_params(rng, D, H, 4)
    wh, wc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    h_new, c_new, cache = lstm_step_forward(x, h, c, p)
    dx, dh, dc, grads = lstm_step_backward(wh, wc, cache)

    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    tp = load_torch_params(torch, cell, p)
    xt, ht, ct = leaf(torch, x), leaf(torch, h), leaf(torch, c)
    h_t, c_t = cell(xt, (ht, ct))
    ((h_t * torch.from_numpy(wh)).sum() + (c_t * torch.from_numpy(wc)).sum()).backward()

    assert_close_to_torch(
        {
            "h": (h_new, h_t),
            "c": (c_new, c_t),
            "dx": (dx, xt.grad),
            "dh_prev": (dh, ht.grad),
            "dc_prev": (dc, ct.grad),
            **{f"d{k}": (grads[k], tp[k].grad) for k in PARAM_KEYS},
        }
    )


def test_gru_step_matches_torch_cell(torch):
    rng = np.random.default_rng(13)
    N, D, H = 4, 5, 6
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    p = make_params(rng, D, H, 3)
    w = rng.standard_normal((N, H))

    h_new, cache = gru_step_forward(x, h, p)
    dx, dh, grads = gru_step_backward(w, cache)

    cell = torch.nn.GRUCell(D, H, dtype=torch.float64)
    tp = load_torch_params(torch, cell, p)
    xt, ht = leaf(torch, x), leaf(torch, h)
    h_t = cell(xt, ht)
    (h_t * torch.from_numpy(w)).sum().backward()

    assert_close_to_torch(
        {
            "h": (h_new, h_t),
            "dx": (dx, xt.grad),
            "dh_prev": (dh, ht.grad),
            **{f"d{k}": (grads[k], tp[k].grad) for k in PARAM_KEYS},
        }
    )
