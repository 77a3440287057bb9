"""References of lessons 06 and 07 (windows, scaling, readout, early stopping, NMSE, seasonal naive,
recursive forecasts) and the forecaster of rnnkit.train, run with the references (autograder.forecast)."""

import numpy as np
import pytest

from autograder import forecast as fc
from autograder.checking import rel_error
from autograder.reference.bptt import numeric_gradient
from autograder.reference.forecasting import nmse, recursive_forecast, seasonal_naive, weigend_split
from autograder.reference.training import early_stopping, make_windows, readout_backward, standardize


def test_make_windows_pairs_each_window_with_the_next_value():
    s = np.arange(10.0) ** 2
    X, y = make_windows(s, 4)
    assert X.shape == (6, 4, 1) and y.shape == (6,)
    for i in range(6):
        assert np.array_equal(X[i, :, 0], s[i:i + 4]) and y[i] == s[i + 4]
    Xd, Yd = fc.make_direct_windows(s, 4, 3)
    assert Xd.shape == (4, 4, 1) and Yd.shape == (4, 3)
    assert np.array_equal(Xd[:, :, 0], X[:4, :, 0]) and np.array_equal(Yd[:, 0], y[:4])
    assert np.array_equal(Yd[-1], s[7:10])


def test_standardize_uses_training_statistics_only():
    s = np.r_[np.random.default_rng(0).normal(size=50), 100 + np.zeros(10)]
    z, mean, std = standardize(s, 50)
    assert mean == pytest.approx(s[:50].mean()) and std == pytest.approx(s[:50].std())
    assert abs(z[:50].mean()) < 1e-12 and z[:50].std() == pytest.approx(1.0)
    assert z[-1] > 50  # the test part is not squeezed into the training range


def test_readout_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    h, w, c, y = np.tanh(rng.normal(size=(6, 4))), rng.normal(size=4), 0.2, rng.normal(size=6)
    loss, dh, dw, dc = readout_backward(h, w, c, y)
    assert loss == pytest.approx(np.mean((h @ w + c - y) ** 2))
    assert rel_error(dw, numeric_gradient(lambda v: readout_backward(h, v, c, y)[0], w.copy())) < 1e-8
    assert rel_error(dh, numeric_gradient(lambda v: readout_backward(v, w, c, y)[0], h.copy())) < 1e-8
    assert rel_error(dc, numeric_gradient(lambda v: readout_backward(h, w, float(v[0]), y)[0], np.array([c]))) < 1e-8


def test_early_stopping_rule():
    assert early_stopping([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9, 0.6], 3) == (2, 5)
    assert early_stopping([1.0, 0.8, 0.9, 0.8, 0.85], 2) == (1, 3)  # a tie is no improvement
    assert early_stopping([3.0, 2.0, 1.0], 1) == (2, 2)
    assert early_stopping([1.0], 5) == (0, 0)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("K", [1, 3])
def test_forecaster_gradient_matches_finite_differences(model, K):
    rng = np.random.default_rng(2)
    p = fc.init_forecaster(model, 3, rng, K=K)
    X, Y = rng.normal(size=(4, 5, 1)), rng.normal(size=(4,) if K == 1 else (4, K))
    _, grads = fc.loss_and_grads(model, p, X, Y)
    for name in ("W_hh", "b_ih", "w_out", "c_out"):
        def loss(v, name=name):
            return fc.loss_and_grads(model, {**p, name: v}, X, Y)[0]
        assert rel_error(grads[name], numeric_gradient(loss, np.array(p[name], dtype=float))) < 1e-6, name


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_truncated_bptt_keeps_the_states_and_drops_old_gradient_terms(model):
    rng = np.random.default_rng(3)
    p = fc.init_forecaster(model, 4, rng)
    X, y = rng.normal(size=(3, 8, 1)), rng.normal(size=3)
    full_hs, _ = fc.hidden_states(model, X, p)
    trunc_hs, _ = fc.hidden_states(model, X, p, truncate=3)
    assert rel_error(trunc_hs, full_hs[:, -3:]) < 1e-12
    _, g_full = fc.loss_and_grads(model, p, X, y)
    _, g_same = fc.loss_and_grads(model, p, X, y, truncate=8)
    _, g_1 = fc.loss_and_grads(model, p, X, y, truncate=1)
    assert rel_error(g_same["W_hh"], g_full["W_hh"]) == 0
    assert rel_error(g_1["w_out"], g_full["w_out"]) == 0  # the readout does not go through time
    assert rel_error(g_1["W_hh"], g_full["W_hh"]) > 1e-6


def test_fit_stops_where_early_stopping_says():
    rng = np.random.default_rng(4)
    s = np.sin(np.arange(120) / 3) + 0.3 * rng.normal(size=120)
    X, y = make_windows(s, 6)
    run = fc.fit("rnn", X[:80], y[:80], X[80:], y[80:], H=4, lr=0.05, epochs=60, patience=3, seed=0)
    assert (run["best_epoch"], run["stop_epoch"]) == early_stopping(run["val_losses"], 3)
    assert run["val_losses"][run["best_epoch"]] == pytest.approx(fc.mse("rnn", run["params"], X[80:], y[80:]))
    again = fc.fit("rnn", X[:80], y[:80], X[80:], y[80:], H=4, lr=0.05, epochs=60, patience=3, seed=0)
    assert again["val_losses"] == run["val_losses"]  # fixed seeds: identical runs


def test_nmse_and_weigend_split():
    ref = np.array([0.0, 2.0, 4.0, 6.0])
    assert nmse([1.0, 3.0, 7.0], [0.0, 4.0, 5.0], ref) == pytest.approx(0.4)
    years = np.arange(1700, 2009)
    fit, t1, t2 = weigend_split(years, 12)
    assert years[fit[0]] == 1712 and years[fit[-1]] == 1920 and len(fit) == 209
    assert (years[t1[0]], years[t1[-1]], years[t2[0]], years[t2[-1]]) == (1921, 1955, 1956, 1979)


def test_sunspot_baselines_reproduce_the_quoted_numbers():
    from autograder.experiments.forecasting import sunspot_baselines, sunspot_data

    got = {(r["model"], r["split"]): r["nmse"] for r in sunspot_baselines(sunspot_data())}
    quoted = {"persistence": (0.427, 0.965), "ar2": (0.189, 0.451), "ar9": (0.126, 0.351)}
    for model, (first, second) in quoted.items():
        assert got[(model, "1921-1955")] == pytest.approx(first, abs=1e-3)
        assert got[(model, "1956-1979")] == pytest.approx(second, abs=1e-3)


def test_seasonal_naive_matches_statsmodels_seasonal_random_walk():
    import warnings

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(5)
    history = np.sin(np.arange(50) * 2 * np.pi / 12) + 0.05 * np.arange(50) + 0.1 * rng.normal(size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = SARIMAX(history, order=(0, 0, 0), seasonal_order=(0, 1, 0, 12)).fit(disp=False).forecast(30)
    assert rel_error(seasonal_naive(history, 12, 30), sm) < 1e-9
    assert np.array_equal(seasonal_naive(np.arange(8.0), 4, 6), [4, 5, 6, 7, 4, 5])


def test_recursive_forecast_feeds_back_its_forecasts():
    f = recursive_forecast(lambda w: 0.5 * w[-1] + 0.25 * w[-2], np.array([1.0, 2.0, 4.0, 8.0]), 3, 2)
    assert np.allclose(f, [5.0, 4.5, 3.5])


def test_co2_recursive_feeds_the_model_its_own_forecasts():
    from autograder.experiments.forecasting import co2_data, co2_recursive

    d, p = co2_data(), fc.init_forecaster("gru", 4, np.random.default_rng(6))
    o, T = d["first_origin"], d["T"]
    window, steps = list(d["z"][o - T:o]), []
    for _ in range(5):
        steps.append(float(fc.predict("gru", p, np.array(window[-T:])[None, :, None])[0]))
        window.append(steps[-1])
    want = d["level"][o] + np.cumsum(np.array(steps) * d["std"] + d["mean"])
    assert rel_error(co2_recursive(d, "gru", p, [o], 5)[0], want) < 1e-12
