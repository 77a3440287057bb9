"""Tests for the lesson-08 reference (autograder/reference/ablation.py).

* Every gradient of the ablated LSTMs (no forget gate, no output gate), step and sequence, is
  checked against centred finite differences (float64, small sizes).
* Each ablation equals a full LSTM whose removed gate is pinned to 1 (its weights zero, its bias
  +1000, so sigmoid = 1 exactly in float64): checked against the course's numpy LSTM and, when
  installed, torch.nn.LSTM (values and the gradients of the remaining blocks).
* Parameter budgets and run summaries, and train_adding's use of the new model names.
"""

import numpy as np
import pytest

from autograder.reference.ablation import (
    ABLATION_BLOCKS,
    hidden_size_for_budget,
    lstm_no_forget_backward,
    lstm_no_forget_forward,
    lstm_no_forget_step_backward,
    lstm_no_forget_step_forward,
    lstm_no_output_backward,
    lstm_no_output_forward,
    lstm_no_output_step_backward,
    lstm_no_output_step_forward,
    model_param_count,
    summarize_runs,
)
from autograder.reference.lstm import lstm_backward, lstm_forward
from autograder.reference.readout import gated_param_count
from tests.gradcheck import numeric_grad, rel_error

KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")
VARIANTS = {
    "lstm_no_forget": (lstm_no_forget_step_forward, lstm_no_forget_step_backward,
                       lstm_no_forget_forward, lstm_no_forget_backward),
    "lstm_no_output": (lstm_no_output_step_forward, lstm_no_output_step_backward,
                       lstm_no_output_forward, lstm_no_output_backward),
}



def params(rng, D, H, G=3, scale=0.7):
    return {"W_ih": rng.normal(scale=scale, size=(G * H, D)), "W_hh": rng.normal(scale=scale, size=(G * H, H)),
            "b_ih": rng.normal(scale=scale, size=G * H), "b_hh": rng.normal(scale=scale, size=G * H)}




@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_step_gradients_match_finite_differences(variant):
    step_forward, step_backward, _, _ = VARIANTS[variant]
    rng = np.random.default_rng(0)
    N, D, H = 3, 2, 4
    x, h, c, p = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params(rng, D, H)
    Rh, Rc = rng.normal(size=(N, H)), rng.normal(size=(N, H))

    def loss():
        h_new, c_new, _ = step_forward(x, h, c, p)
        return float(np.sum(h_new * Rh) + np.sum(c_new * Rc))

    _, _, cache = step_forward(x, h, c, p)
    dx, dh, dc, grads = step_backward(Rh, Rc, cache)
    for name, exact, arr in [("x", dx, x), ("h_prev", dh, h), ("c_prev", dc, c)] + [(k, grads[k], p[k]) for k in KEYS]:
        assert rel_error(exact, numeric_grad(loss, arr)) < 1e-7, f"{variant} step: d{name}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_sequence_gradients_match_finite_differences(variant):
    _, _, forward, backward = VARIANTS[variant]
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 6, 2, 3
    x, h0, c0, p = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params(rng, D, H)
    R = rng.normal(size=(N, T, H))

    def loss():
        return float(np.sum(forward(x, h0, c0, p)[0] * R))

    dx, dh0, dc0, grads = backward(R, forward(x, h0, c0, p)[1])
    for name, exact, arr in [("x", dx, x), ("h0", dh0, h0), ("c0", dc0, c0)] + [(k, grads[k], p[k]) for k in KEYS]:
        assert rel_error(exact, numeric_grad(loss, arr)) < 1e-7, f"{variant} sequence: d{name}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_sequence_equals_its_steps(variant):
    step_forward, step_backward, forward, backward = VARIANTS[variant]
    rng = np.random.default_rng(2)
    N, T, D, H = 2, 5, 3, 4
    x, h, c, p = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params(rng, D, H)
    hs, _ = forward(x, h, c, p)
    for t in range(T):
        h, c, _ = step_forward(x[:, t], h, c, p)
        assert rel_error(hs[:, t], h) < 1e-13


def pinned_full_lstm(p, variant):
    """A 4-block LSTM equal to the ablation: the removed gate's weights 0 and its bias +1000."""
    blocks, H = ABLATION_BLOCKS[variant], p["W_hh"].shape[1]
    full = {}
    for key in KEYS:
        parts = dict(zip(blocks, np.split(p[key], 3, axis=0)))
        missing = ({"i", "f", "g", "o"} - set(blocks)).pop()
        parts[missing] = np.zeros_like(parts["i"])
        if key == "b_ih":
            parts[missing] = np.full(H, 1000.0)
        full[key] = np.concatenate([parts[b] for b in "ifgo"], axis=0)
    return full


def keep_blocks(grads4, variant):
    """The 3-block part of a full LSTM's gradients (the rows of the gates the ablation keeps)."""
    index = {b: k for k, b in enumerate("ifgo")}
    return {key: np.concatenate([np.split(g, 4, axis=0)[index[b]] for b in ABLATION_BLOCKS[variant]], axis=0)
            for key, g in grads4.items()}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_equals_full_lstm_with_pinned_gate(variant):
    _, _, forward, backward = VARIANTS[variant]
    rng = np.random.default_rng(3)
    N, T, D, H = 3, 7, 2, 4
    x, h0, c0, p = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params(rng, D, H)
    R = rng.normal(size=(N, T, H))
    hs, cache = forward(x, h0, c0, p)
    hs4, cache4 = lstm_forward(x, h0, c0, pinned_full_lstm(p, variant))
    assert rel_error(hs, hs4) < 1e-13
    dx, dh0, dc0, grads = backward(R, cache)
    dx4, dh04, dc04, grads4 = lstm_backward(R, cache4)
    for a, b in [(dx, dx4), (dh0, dh04), (dc0, dc04)]:
        assert rel_error(a, b) < 1e-12
    for key, g in keep_blocks(grads4, variant).items():
        assert rel_error(grads[key], g) < 1e-12, key


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_matches_torch_lstm_with_pinned_gate(variant):
    torch = pytest.importorskip("torch")
    _, _, forward, backward = VARIANTS[variant]
    rng = np.random.default_rng(4)
    N, T, D, H = 2, 6, 3, 4
    x, h0, c0, p = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), params(rng, D, H)
    R = rng.normal(size=(N, T, H))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    full = pinned_full_lstm(p, variant)
    with torch.no_grad():
        for key, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                          ("b_hh", "bias_hh_l0")]:
            getattr(lstm, name).copy_(torch.from_numpy(full[key]))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = lstm(xt, (torch.tensor(h0)[None], torch.tensor(c0)[None]))
    (out * torch.tensor(R)).sum().backward()
    hs, cache = forward(x, h0, c0, p)
    assert rel_error(hs, out.detach().numpy()) < 1e-12
    dx, _, _, grads = backward(R, cache)
    assert rel_error(dx, xt.grad.numpy()) < 1e-12
    torch_grads = {"W_ih": lstm.weight_ih_l0.grad, "W_hh": lstm.weight_hh_l0.grad,
                   "b_ih": lstm.bias_ih_l0.grad, "b_hh": lstm.bias_hh_l0.grad}
    for key, g in keep_blocks({k: v.numpy() for k, v in torch_grads.items()}, variant).items():
        assert rel_error(grads[key], g) < 1e-12, key


def test_hidden_size_for_budget_is_the_largest_that_fits():
    for model, G in [("rnn", 1), ("gru", 3), ("lstm", 4), ("lstm_no_forget", 3), ("lstm_no_output", 3)]:
        for D, K, budget in [(2, 1, 1300), (5, 3, 20_000), (1, 1, 10)]:
            H = hidden_size_for_budget(model, D, budget, K)
            assert model_param_count(model, D, H, K) == gated_param_count(G, D, H) + K * (H + 1)
            assert H == 0 or model_param_count(model, D, H, K) <= budget
            assert model_param_count(model, D, H + 1, K) > budget
    assert hidden_size_for_budget("lstm", 2, 1297) == 16      # 4·16·20 + 17 = 1297 exactly
    assert hidden_size_for_budget("lstm", 2, 1296) == 15


def test_summarize_runs():
    runs = [{"model": "rnn", "T": 10, "test_mse": v} for v in (1.0, 2.0, 3.0)]
    runs += [{"model": "gru", "T": 10, "test_mse": 5.0}, {"model": "gru", "T": 20, "test_mse": 7.0},
             {"model": "other", "T": 10, "test_mse": 100.0}]
    mean, std = summarize_runs(runs, ["rnn", "gru"], [10, 20])
    assert mean.shape == std.shape == (2, 2)
    assert mean[0, 0] == 2.0 and std[0, 0] == 1.0                      # sample std of (1, 2, 3)
    assert np.isnan(mean[0, 1]) and mean[1, 0] == 5.0 and np.isnan(std[1, 0])


@pytest.mark.parametrize("model", ["lstm_no_forget", "lstm_no_output"])
def test_train_adding_trains_the_ablations(model):
    from autograder.train import train_adding

    run = train_adding(model, T=6, H=4, steps=3, batch=4, test_size=8, record_every=1)
    assert run["params"] == model_param_count(model, 2, 4)
    assert len(run["losses"]) == 3 and np.isfinite(run["test_mse"])


def test_train_adding_reports_validation_mse_apart_from_the_test_set():
    from autograder.train import train_adding

    plain = train_adding("gru", T=6, H=4, steps=3, batch=4, test_size=8, record_every=1)
    run = train_adding("gru", T=6, H=4, steps=3, batch=4, test_size=8, record_every=1, val_size=8)
    assert "val_mse" not in plain and np.isfinite(run["val_mse"])
    assert run["test_mse"] == plain["test_mse"]          # validation draws nothing from the training stream
    assert run["val_mse"] != run["test_mse"]             # other sequences than the test set's


def test_adding_stream_concatenates_adding_problems():
    from rnnkit.train import adding_stream

    x, y = adding_stream(5, 8, 3, np.random.default_rng(0))
    assert x.shape == (5, 24, 2) and y.shape == (5, 3)
    for k in range(3):                                    # two markers per segment, the target is their sum
        seg = x[:, 8 * k:8 * (k + 1)]
        assert np.all(seg[:, :, 1].sum(axis=1) == 2)
        assert np.allclose((seg[:, :, 0] * seg[:, :, 1]).sum(axis=1), y[:, k])
    x3, _ = adding_stream(2, 4, 2, np.random.default_rng(0), boundary=True)
    assert x3.shape == (2, 8, 3) and np.array_equal(x3[0, :, 2], [1, 0, 0, 0, 1, 0, 0, 0])


@pytest.mark.parametrize("model", ["lstm", "gru", "lstm_no_forget"])
def test_train_stream_carries_the_state(model):
    from autograder.train import TOOLS, layer
    from rnnkit.train import stream_errors, train_stream

    run = train_stream(layer(model), TOOLS, T=5, H=3, segments=4, batch=2, seed=0, test_streams=3,
                       test_segments=4, record_every=1)
    assert len(run["losses"]) == 4 and len(run["test_mse_per_segment"]) == 4
    assert len(run["cell_per_segment"]) == (4 if model.startswith("lstm") else 0)
    again, cell = stream_errors(layer(model), run["weights"], 5, 3, 4)
    assert again == run["test_mse_per_segment"] and cell == run["cell_per_segment"]
    # The stream is never reset: segment 2 run from a zero state gives another error than in the stream.
    from rnnkit.train import adding_stream
    x, y = adding_stream(3, 5, 4, np.random.default_rng(30_005))
    p = run["weights"]
    hs, _ = layer(model).run(x[:, 10:15], {k: p[k] for k in KEYS})
    fresh = float(np.mean((hs[:, -1] @ p["w_out"] + p["c_out"] - y[:, 2]) ** 2))
    assert fresh != pytest.approx(run["test_mse_per_segment"][2], rel=1e-12)
    if model == "lstm_no_forget":                          # the cell only accumulates: no forget gate
        assert run["cell_per_segment"][-1] > run["cell_per_segment"][0]


# ------------------------------------------------------------------- the ReLU RNN and the initialisations

def test_relu_rnn_gradients_match_finite_differences():
    from autograder.reference.ablation import rnn_relu_backward, rnn_relu_forward

    rng = np.random.default_rng(5)
    N, T, D, H = 2, 6, 2, 4
    x, h0, p = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), params(rng, D, H, G=1, scale=0.5)
    R = rng.normal(size=(N, T, H))

    def loss():
        return float(np.sum(rnn_relu_forward(x, h0, p)[0] * R))

    hs, cache = rnn_relu_forward(x, h0, p)
    assert 0.2 < np.mean(hs > 0) < 0.8, "the test must cross ReLU's kink on both sides"
    dx, dh0, grads = rnn_relu_backward(R, cache)
    for name, exact, arr in [("x", dx, x), ("h0", dh0, h0)] + [(k, grads[k], p[k]) for k in KEYS]:
        assert rel_error(exact, numeric_grad(loss, arr)) < 1e-7, f"rnn_relu: d{name}"


def test_relu_rnn_matches_torch():
    torch = pytest.importorskip("torch")
    from autograder.reference.ablation import rnn_relu_backward, rnn_relu_forward

    rng = np.random.default_rng(6)
    N, T, D, H = 2, 7, 3, 4
    x, h0, p = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), params(rng, D, H, G=1, scale=0.5)
    R = rng.normal(size=(N, T, H))
    rnn = torch.nn.RNN(D, H, nonlinearity="relu", batch_first=True).double()
    with torch.no_grad():
        for key, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                          ("b_hh", "bias_hh_l0")]:
            getattr(rnn, name).copy_(torch.from_numpy(p[key]))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt, torch.tensor(h0)[None])
    (out * torch.tensor(R)).sum().backward()
    hs, cache = rnn_relu_forward(x, h0, p)
    assert rel_error(hs, out.detach().numpy()) < 1e-12
    dx, _, grads = rnn_relu_backward(R, cache)
    assert rel_error(dx, xt.grad.numpy()) < 1e-12
    assert rel_error(grads["W_hh"], rnn.weight_hh_l0.grad.numpy()) < 1e-12


def test_initialisations():
    """identity: W_hh = I, zero biases, tiny input weights (the IRNN); orthogonal: W_hh^T W_hh = I. The default's
    draws are untouched by the option, and an unknown name or a gated layer is refused."""
    from rnnkit.train import init_params

    default = init_params("rnn", 2, 36, np.random.default_rng(0))
    same = init_params("rnn", 2, 36, np.random.default_rng(0), init="default")
    assert all(np.array_equal(default[k], same[k]) for k in KEYS)
    assert np.max(np.abs(np.linalg.eigvals(default["W_hh"]))) < 0.8          # PyTorch's default: radius ~0.6
    irnn = init_params("rnn_relu", 2, 36, np.random.default_rng(0), init="identity")
    assert np.array_equal(irnn["W_hh"], np.eye(36)) and not irnn["b_ih"].any() and not irnn["b_hh"].any()
    assert irnn["W_ih"].shape == (36, 2) and 0 < np.std(irnn["W_ih"]) < 0.01
    orth = init_params("rnn", 2, 36, np.random.default_rng(0), init="orthogonal")
    assert rel_error(orth["W_hh"].T @ orth["W_hh"], np.eye(36)) < 1e-12
    assert np.allclose(np.abs(np.linalg.eigvals(orth["W_hh"])), 1.0)
    with pytest.raises(ValueError):
        init_params("rnn", 2, 4, np.random.default_rng(0), init="orthogonl")
    with pytest.raises(ValueError):
        init_params("lstm", 2, 4, np.random.default_rng(0), init="identity")


def test_train_adding_trains_the_initialised_rnns():
    from autograder.train import train_adding

    for model, init in [("rnn_relu", "identity"), ("rnn", "orthogonal")]:
        run = train_adding(model, T=6, H=4, steps=3, batch=4, test_size=8, record_every=1, init=init)
        assert run["params"] == model_param_count(model, 2, 4) and np.isfinite(run["test_mse"])
