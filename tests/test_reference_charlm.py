"""Tests of lesson 09's text pipeline (rnnkit/text.py) and references (autograder/reference/charlm.py).

* the shipped text, the vocabulary, the contiguous split and the truncated-BPTT batches;
* every gradient against centred finite differences (float64, small sizes);
* the loss, the readout, the model and one training step (Adam and clipping included, two batches
  with the state carried) against PyTorch to 1e-8 when torch is installed (skipped otherwise);
* edge cases (one unmasked step, extreme logits), sampling determinism and its distribution,
  bits per character of a uniform model = log2(V), and the baselines' probabilities sum to one.
"""

import hashlib
import math

import numpy as np
import pytest

from autograder.reference.charlm import (
    char_lm_forward,
    char_lm_loss_and_grads,
    evaluate_bpc,
    init_char_lm,
    kneser_ney_bpc,
    kneser_ney_probs,
    lstm_backward_ids,
    lstm_forward_ids,
    ngram_bpc,
    ngram_probs,
    sample_chars,
    softmax_cross_entropy,
    tbptt_step,
    temporal_readout_backward,
    temporal_readout_forward,
    unigram_bpc,
)
from autograder.reference.lstm import lstm_backward, lstm_forward
from rnnkit.text import TEXTS, bptt_batches, build_vocab, decode, encode, load_text, one_hot, split_ids
from tests.gradcheck import numeric_grad, rel_error

FD_TOL = 1e-7
TORCH_TOL = 1e-8



@pytest.fixture(scope="module")
def corpus():
    text = load_text()
    vocab = build_vocab(text)
    return text, vocab, encode(text, vocab)


def small_model(V=7, H=5, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    params = init_char_lm(V, H, rng)
    return {k: v + scale * rng.standard_normal(v.shape) for k, v in params.items()}


# --------------------------------------------------------------------------
# the text and its batches
# --------------------------------------------------------------------------


def test_shipped_text_is_the_recorded_file(corpus):
    text, vocab, ids = corpus
    data = (TEXTS / "persuasion.txt").read_bytes()
    assert len(data) <= 1_000_000
    assert hashlib.sha256(data).hexdigest() == "8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a"
    assert (TEXTS / "README.md").is_file()
    assert len(text) == 466_854 and len(vocab) == 75 and text.isascii()
    assert text.startswith("Persuasion\n") and "Anne" in text


def test_vocab_encode_decode(corpus):
    text, vocab, ids = corpus
    assert vocab == sorted(vocab) and len(set(vocab)) == len(vocab)
    assert ids.dtype == np.int64 and ids.min() == 0 and ids.max() == len(vocab) - 1
    assert decode(ids, vocab) == text
    assert list(encode("ab", ["a", "b", "c"])) == [0, 1]
    with pytest.raises(KeyError):
        encode("z", ["a"])


def test_split_is_contiguous(corpus):
    _, _, ids = corpus
    train, val, test = split_ids(ids)
    assert len(train) == int(0.9 * len(ids)) and len(val) == int(0.05 * len(ids))
    assert np.array_equal(np.concatenate([train, val, test]), ids)
    with pytest.raises(ValueError):
        split_ids(ids, (0.5, 0.5, 0.5))


def test_bptt_batches_continue_each_stream():
    ids = np.arange(103)
    N, T = 4, 6
    batches = list(bptt_batches(ids, N, T))
    L = (len(ids) - 1) // N  # 25 per stream: 4 full windows of 6, one of 1 dropped
    assert len(batches) == L // T
    for x, y in batches:
        assert x.shape == y.shape == (N, T)
        assert np.array_equal(y, x + 1)  # targets are the next characters
    for (x0, _), (x1, _) in zip(batches, batches[1:]):
        assert np.array_equal(x1[:, 0], x0[:, -1] + 1)  # row n continues where it ended
    assert np.array_equal(batches[0][0][:, 0], np.arange(N) * L)  # stream n starts at n·L
    full = list(bptt_batches(ids, N, T, drop_last=False))
    assert full[-1][0].shape == (N, L % T)
    targets = np.concatenate([y for _, y in full], axis=1)
    assert np.array_equal(np.sort(targets.ravel()), np.arange(1, N * L + 1))  # each once
    with pytest.raises(ValueError):
        list(bptt_batches(ids[:3], 4, 2))


def test_one_hot():
    x = one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert x.shape == (2, 2, 3) and x.dtype == np.float64
    assert np.array_equal(x.argmax(-1), [[0, 2], [1, 1]]) and np.array_equal(x.sum(-1), np.ones((2, 2)))


# --------------------------------------------------------------------------
# finite differences
# --------------------------------------------------------------------------


def test_softmax_cross_entropy_gradient_fd():
    rng = np.random.default_rng(1)
    N, T, V = 3, 4, 5
    logits = rng.standard_normal((N, T, V)) * 3
    targets = rng.integers(0, V, size=(N, T))
    for mask in (None, rng.random((N, T)) < 0.6):
        _, dlogits = softmax_cross_entropy(logits, targets, mask)
        num = numeric_grad(lambda mask=mask: softmax_cross_entropy(logits, targets, mask)[0], logits)
        assert rel_error(num, dlogits) < FD_TOL


def test_softmax_cross_entropy_values():
    # uniform logits: loss = log V at every step, whatever the targets
    loss, d = softmax_cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int))
    assert abs(loss - math.log(4)) < 1e-15
    assert np.allclose(d.sum(-1), 0.0)
    # all steps masked but one: the loss and gradient are that step's alone
    rng = np.random.default_rng(2)
    logits, targets = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, size=(2, 3))
    mask = np.zeros((2, 3), dtype=bool)
    mask[1, 2] = True
    loss, d = softmax_cross_entropy(logits, targets, mask)
    row = logits[1, 2]
    expected = -(row[targets[1, 2]] - np.log(np.exp(row).sum()))
    assert abs(loss - expected) < 1e-14
    assert np.count_nonzero(d.reshape(6, 4).any(axis=1)) == 1
    # extreme logits stay finite (log-sum-exp)
    big = np.array([[[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]])
    loss, d = softmax_cross_entropy(big, np.array([[1, 0]]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert abs(loss - (2e4 + 2e4 + math.log(2)) / 2) < 1e-9
    with pytest.raises(ValueError):
        softmax_cross_entropy(logits, targets, np.zeros((2, 3)))


def test_readout_gradients_fd():
    rng = np.random.default_rng(3)
    N, T, H, V = 2, 3, 4, 5
    hs, W, b = rng.standard_normal((N, T, H)), rng.standard_normal((V, H)), rng.standard_normal(V)
    w = rng.standard_normal((N, T, V))

    def loss():
        return np.sum(temporal_readout_forward(hs, W, b)[0] * w)

    logits, cache = temporal_readout_forward(hs, W, b)
    assert logits.shape == (N, T, V)
    dhs, dW, db = temporal_readout_backward(w, cache)
    for name, arr, analytic in (("hs", hs, dhs), ("W_out", W, dW), ("b_out", b, db)):
        assert rel_error(numeric_grad(loss, arr), analytic) < FD_TOL, name


def test_char_lm_gradients_fd():
    V, H, N, T = 6, 4, 2, 5
    params = small_model(V, H, seed=4)
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    loss, grads, _ = char_lm_loss_and_grads(params, x, y, h0, c0)
    assert set(grads) == set(params)
    for name, arr in params.items():
        num = numeric_grad(lambda: char_lm_loss_and_grads(params, x, y, h0, c0)[0], arr)
        assert rel_error(num, grads[name]) < FD_TOL, name


def test_id_path_equals_the_general_lstm():
    """lstm_forward_ids / lstm_backward_ids compute what lstm_forward / lstm_backward compute on one-hot x."""
    V, H, N, T = 7, 5, 3, 6
    params = small_model(V, H, seed=21)
    p = {k: params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    rng = np.random.default_rng(22)
    ids, h0, c0 = rng.integers(0, V, size=(N, T)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dhs = rng.standard_normal((N, T, H))
    hs, cache = lstm_forward(one_hot(ids, V), h0, c0, p)
    hs_ids, (h_T, c_T), cache_ids = lstm_forward_ids(ids, h0, c0, p)
    assert np.array_equal(hs, hs_ids)  # a gather of W_ih's columns is the one-hot matmul, exactly
    assert np.array_equal(h_T, hs[:, -1]) and np.array_equal(c_T, cache["c_states"][-1])
    grads, grads_ids = lstm_backward(dhs, cache)[3], lstm_backward_ids(dhs, cache_ids)
    for k in p:
        assert rel_error(grads[k], grads_ids[k]) < 1e-14, k


def test_state_is_carried():
    """Reading a text in two batches with the state carried equals reading it in one."""
    V, H, N = 6, 4, 3
    params = small_model(V, H, seed=6)
    x = np.random.default_rng(7).integers(0, V, size=(N, 10))
    zeros = np.zeros((N, H))
    whole, (h, c), _ = char_lm_forward(params, x, zeros, zeros)
    first, state, _ = char_lm_forward(params, x[:, :4], zeros, zeros)
    second, (h2, c2), _ = char_lm_forward(params, x[:, 4:], *state)
    assert rel_error(np.concatenate([first, second], axis=1), whole) < 1e-14
    assert rel_error(h2, h) < 1e-14 and rel_error(c2, c) < 1e-14


# --------------------------------------------------------------------------
# sampling, bits per character, baselines
# --------------------------------------------------------------------------


def test_sampling_is_deterministic_per_seed():
    params = small_model(8, 5, seed=8)
    a = sample_chars(params, [1, 2, 3], 50, 1.0, np.random.default_rng(42))
    b = sample_chars(params, [1, 2, 3], 50, 1.0, np.random.default_rng(42))
    c = sample_chars(params, [1, 2, 3], 50, 1.0, np.random.default_rng(43))
    assert a.shape == (50,) and a.dtype == np.int64 and np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 8
    assert np.array_equal(a, sample_chars(params, [1, 2, 3], 50, 1.0, 42))  # a seed is the same generator
    with pytest.raises(ValueError):
        sample_chars(params, [1], 5, 0.0, np.random.default_rng(0))


def test_sampling_distribution_and_temperature():
    """With W_out = 0 the next-character distribution is softmax(b_out / temperature) at every step."""
    V = 4
    params = small_model(V, 3, seed=9)
    params["W_out"][:] = 0.0
    params["b_out"] = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    n = 20000
    for temperature in (0.5, 1.0, 2.0):
        ids = sample_chars(params, [0], n, temperature, np.random.default_rng(10))
        expected = np.exp(params["b_out"] / temperature)
        expected /= expected.sum()
        freq = np.bincount(ids, minlength=V) / n
        assert np.max(np.abs(freq - expected)) < 4 * np.sqrt(0.25 / n), (temperature, freq, expected)
    greedy = sample_chars(small_model(V, 3, seed=11), [0, 1], 30, 1e-6, np.random.default_rng(0))
    greedy2 = sample_chars(small_model(V, 3, seed=11), [0, 1], 30, 1e-6, np.random.default_rng(99))
    assert np.array_equal(greedy, greedy2)  # a temperature near 0 is argmax, whatever the seed


def test_uniform_model_has_log2_v_bits(corpus):
    _, vocab, ids = corpus
    V = len(vocab)
    params = init_char_lm(V, 8, np.random.default_rng(0))
    params["W_out"][:] = 0.0
    params["b_out"][:] = 0.0
    bpc, ppl = evaluate_bpc(params, ids[:2000], batch_size=1, seq_len=64)
    assert abs(bpc - math.log2(V)) < 1e-12 and abs(ppl - V) < 1e-9


def test_bpc_does_not_depend_on_the_window_length():
    """With one stream the state is carried, so the window length changes nothing."""
    params = small_model(6, 4, seed=12)
    ids = np.random.default_rng(13).integers(0, 6, size=301)
    a = evaluate_bpc(params, ids, batch_size=1, seq_len=300)[0]
    b = evaluate_bpc(params, ids, batch_size=1, seq_len=7)[0]
    assert abs(a - b) < 1e-12
    # and it is the mean cross-entropy over the targets ids[1:], in bits
    logits, _, _ = char_lm_forward(params, ids[None, :-1], np.zeros((1, 4)), np.zeros((1, 4)))
    assert abs(a - softmax_cross_entropy(logits, ids[None, 1:])[0] / math.log(2)) < 1e-12


def test_unigram_closed_form():
    train, test, V, k = np.array([0, 0, 1, 2, 0]), np.array([2, 0, 1, 1]), 4, 0.5
    p = (np.bincount(train, minlength=V) + k) / (len(train) + k * V)
    expected = -np.mean(np.log2(p[test[1:]]))
    assert abs(unigram_bpc(train, test, V, k) - expected) < 1e-14


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_baselines_are_distributions(n):
    """For every context, the probabilities of the V possible next characters sum to one."""
    V = 5
    rng = np.random.default_rng(14)
    train = rng.integers(0, V, size=400) * (rng.random(400) < 0.7)  # skewed, with unseen contexts
    for context in ([], [0], [3, 4], [0, 0, 1], [4, 4, 4, 4]):
        if len(context) == 0:
            continue
        tests = [np.array(context + [w]) for w in range(V)]
        add_k = sum(ngram_probs(train, t, V, n, 0.1)[-1] for t in tests)
        kn = sum(kneser_ney_probs(train, t, V, n)[-1] for t in tests)
        assert abs(add_k - 1) < 1e-12 and abs(kn - 1) < 1e-12, (context, add_k, kn)


def test_baselines_on_the_text(corpus):
    _, vocab, ids = corpus
    train, val, _ = split_ids(ids)
    V = len(vocab)
    uni = unigram_bpc(train, val, V)
    tri, kn5 = ngram_bpc(train, val, V, 3, 0.1), kneser_ney_bpc(train, val, V, 5)
    assert math.log2(V) > uni > tri > kn5 > 1.5  # each better than the last, none implausibly good
    assert abs(uni - 4.4543) < 1e-3 and abs(kn5 - 1.9565) < 1e-3


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------


def _torch_model(params):
    torch = pytest.importorskip("torch")
    V, H = params["W_out"].shape
    lstm = torch.nn.LSTM(V, H, batch_first=True, dtype=torch.float64)
    linear = torch.nn.Linear(H, V, dtype=torch.float64)
    with torch.no_grad():
        for k, name in (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                        ("b_hh", "bias_hh_l0")):
            getattr(lstm, name).copy_(torch.tensor(params[k]))
        linear.weight.copy_(torch.tensor(params["W_out"]))
        linear.bias.copy_(torch.tensor(params["b_out"]))
    return torch, lstm, linear


def _torch_grads(lstm, linear):
    names = {"W_ih": lstm.weight_ih_l0, "W_hh": lstm.weight_hh_l0, "b_ih": lstm.bias_ih_l0,
             "b_hh": lstm.bias_hh_l0, "W_out": linear.weight, "b_out": linear.bias}
    return names


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    N, T, V = 3, 5, 7
    logits, targets = rng.standard_normal((N, T, V)) * 4, rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) < 0.7
    mask[0, 0] = True
    lt = torch.tensor(logits, requires_grad=True)
    ignored = torch.tensor(np.where(mask, targets, -100))
    expected = torch.nn.functional.cross_entropy(lt.reshape(-1, V), ignored.reshape(-1), ignore_index=-100)
    expected.backward()
    loss, d = softmax_cross_entropy(logits, targets, mask)
    assert abs(loss - expected.item()) < TORCH_TOL * abs(loss)
    assert rel_error(d, lt.grad.numpy()) < TORCH_TOL


def test_readout_matches_torch_linear():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(16)
    N, T, H, V = 2, 4, 3, 6
    hs, w = rng.standard_normal((N, T, H)), rng.standard_normal((N, T, V))
    linear = torch.nn.Linear(H, V, dtype=torch.float64)
    W, b = linear.weight.detach().numpy().copy(), linear.bias.detach().numpy().copy()
    ht = torch.tensor(hs, requires_grad=True)
    out = linear(ht)
    out.backward(torch.tensor(w))
    logits, cache = temporal_readout_forward(hs, W, b)
    dhs, dW, db = temporal_readout_backward(w, cache)
    assert rel_error(logits, out.detach().numpy()) < TORCH_TOL
    for ours, theirs in ((dhs, ht.grad), (dW, linear.weight.grad), (db, linear.bias.grad)):
        assert rel_error(ours, theirs.numpy()) < TORCH_TOL


def test_two_tbptt_steps_match_torch():
    """Two consecutive batches, state carried and detached, clipping at 1.0 and Adam: as torch does it."""
    V, H, N, T = 9, 6, 3, 8
    params = small_model(V, H, seed=17)
    torch, lstm, linear = _torch_model(params)
    tparams = _torch_grads(lstm, linear)
    opt = torch.optim.Adam(list(tparams.values()), lr=0.01)
    ids = np.random.default_rng(18).integers(0, V, size=200)
    batches = list(bptt_batches(ids, N, T))[:2]
    h = c = np.zeros((N, H))
    state_t = (torch.zeros(1, N, H, dtype=torch.float64), torch.zeros(1, N, H, dtype=torch.float64))
    opt_state = {}
    for x, y in batches:
        loss, params, opt_state, (h, c) = tbptt_step(params, opt_state, x, y, h, c, lr=0.01, clip=1.0)
        opt.zero_grad()
        out, state_t = lstm(torch.tensor(one_hot(x, V)), state_t)
        loss_t = torch.nn.functional.cross_entropy(linear(out).reshape(-1, V), torch.tensor(y).reshape(-1))
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(list(tparams.values()), 1.0)
        opt.step()
        state_t = tuple(s.detach() for s in state_t)
        assert abs(loss - loss_t.item()) < TORCH_TOL * loss
        assert rel_error(h, state_t[0][0].numpy()) < TORCH_TOL and rel_error(c, state_t[1][0].numpy()) < TORCH_TOL
        for k, tensor in tparams.items():
            assert rel_error(params[k], tensor.detach().numpy()) < TORCH_TOL, k


def test_evaluate_bpc_matches_torch():
    V, H = 6, 5
    params = small_model(V, H, seed=19)
    torch, lstm, linear = _torch_model(params)
    ids = np.random.default_rng(20).integers(0, V, size=150)
    with torch.no_grad():
        out, _ = lstm(torch.tensor(one_hot(ids[None, :-1], V)))
        nats = torch.nn.functional.cross_entropy(linear(out)[0], torch.tensor(ids[1:])).item()
    bpc, ppl = evaluate_bpc(params, ids, batch_size=1, seq_len=16)
    assert abs(bpc - nats / math.log(2)) < TORCH_TOL and abs(ppl - math.exp(nats)) < TORCH_TOL * ppl
