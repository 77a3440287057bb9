"""Lesson 08 — gated versus vanilla: hidden tests and planted bugs.

The ablated LSTM of the lesson has three gate blocks (PyTorch's order without the removed gate);
the no-forget cell uses blocks [i | g | o]. Step cache, as in lesson 04:
(x, h_prev, c_prev, gates, tanh_c, p) with gates (N, 3H) the activated blocks [i | g | o].
"""

import numpy as np

from autograder.checking import Case, Exercise, Mismatch, returns
from autograder.exercises.gated import grads_entries, step_cases, step_forward_run
from autograder.reference import ablation

REF = {name: getattr(ablation, name)
       for name in ["hidden_size_for_budget", "lstm_no_forget_step_forward", "lstm_no_forget_step_backward",
                    "summarize_runs"]}
GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4, "lstm_no_forget": 3, "lstm_no_output": 3}


# ---------------------------------------------------------------- Exercise 1: H for a budget

def _budget_cases(rng):
    # Hand-picked so that every planted bug gives a different H from the reference and from the
    # bugs registered before it, on the first case where it goes wrong.
    # The first two cases separate the bugs; the others cover every model and the edge H = 0.
    chosen = [("lstm", 1, 1000, 1), ("gru", 1, 20_000, 40), ("lstm", 2, 1297, 1), ("lstm", 2, 1296, 1),
              ("rnn", 2, 1300, 1), ("lstm_no_forget", 3, 2000, 1), ("lstm_no_output", 1, 700, 10), ("rnn", 1, 5, 1)]
    return [Case(f"model={m!r}, D={D}, budget={b}, K={K}", (m, D, b, K)) for m, D, b, K in chosen]


def _run_budget(target, fns, case):
    H = target(*case.args)
    if not isinstance(H, int | np.integer):
        raise Mismatch(f"hidden_size_for_budget should return an int, got {type(H).__name__}")
    return {"H": H}


ex_hidden_size = Exercise(
    "l08_e1_hidden_size_for_budget", ("hidden_size_for_budget",), _run_budget, _budget_cases, REF, tol=0,
)


@ex_hidden_size.bug("the readout was left out: count K·(H + 1) for the linear layer on top as well")
def budget_no_readout(model, D, budget, K=1):
    G, H = GATE_BLOCKS[model], 0
    while G * (H + 1) * (D + H + 3) <= budget:
        H += 1
    return H


@ex_hidden_size.bug("only one bias vector per gate block was counted: PyTorch has b_ih and b_hh, so D + H + 2")
def budget_one_bias(model, D, budget, K=1):
    G, H = GATE_BLOCKS[model], 0
    while G * (H + 1) * (D + H + 2) + K * (H + 2) <= budget:
        H += 1
    return H


@ex_hidden_size.bug("off by one: this is the smallest H that exceeds the budget, not the largest that fits")
def budget_off_by_one(model, D, budget, K=1):
    G, H = GATE_BLOCKS[model], 0
    while G * H * (D + H + 2) + K * (H + 1) <= budget:
        H += 1
    return H


@ex_hidden_size.bug("the readout has K outputs: it has K·(H + 1) parameters, not H + 1")
def budget_ignores_K(model, D, budget, K=1):
    G, H = GATE_BLOCKS[model], 0
    while G * (H + 1) * (D + H + 3) + (H + 2) <= budget:
        H += 1
    return H


@ex_hidden_size.bug("every model was given the LSTM's 4 gate blocks: G is 1 (rnn), 3 (gru and the ablations), 4 (lstm)")
def budget_always_four(model, D, budget, K=1):
    H = 0
    while 4 * (H + 1) * (D + H + 3) + K * (H + 2) <= budget:
        H += 1
    return H


# ---------------------------------------------------------- Exercise 2: no-forget step forward

ex_no_forget_forward = Exercise(
    "l08_e2_lstm_no_forget_step_forward", ("lstm_no_forget_step_forward",),
    step_forward_run(ablation.lstm_no_forget_step_forward), lambda rng: step_cases(rng, 3, True), REF,
)


@ex_no_forget_forward.bug("the blocks were read as [i | o | g]; they are PyTorch's i, f, g, o without f: [i | g | o]")
def nf_forward_wrong_blocks(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    i, g, o = 1 / (1 + np.exp(-a[:, :H])), np.tanh(a[:, 2 * H:]), 1 / (1 + np.exp(-a[:, H:2 * H]))
    c = c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c), p)


@ex_no_forget_forward.bug("the blocks were read as [g | i | o]; they are PyTorch's i, f, g, o without f: [i | g | o]")
def nf_forward_blocks_gio(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    g, i, o = np.tanh(a[:, :H]), 1 / (1 + np.exp(-a[:, H:2 * H])), 1 / (1 + np.exp(-a[:, 2 * H:]))
    c = c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c), p)


@ex_no_forget_forward.bug("the cache holds tanh(c) of the old cell; the backward pass needs tanh(c') of the new one")
def nf_forward_cache_old_tanh(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    i, g, o = 1 / (1 + np.exp(-a[:, :H])), np.tanh(a[:, H:2 * H]), 1 / (1 + np.exp(-a[:, 2 * H:]))
    c = c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c_prev), p)


@ex_no_forget_forward.bug("the old cell was dropped: with f ≡ 1 the cell keeps all of it, c' = c + i ⊙ g")
def nf_forward_no_old_cell(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    i, g, o = 1 / (1 + np.exp(-a[:, :H])), np.tanh(a[:, H:2 * H]), 1 / (1 + np.exp(-a[:, 2 * H:]))
    c = i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c), p)


@ex_no_forget_forward.bug("the input gate took the forget gate's job: c' = c + i ⊙ g, not (1 − i) ⊙ c + i ⊙ g")
def nf_forward_coupled(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    i, g, o = 1 / (1 + np.exp(-a[:, :H])), np.tanh(a[:, H:2 * H]), 1 / (1 + np.exp(-a[:, 2 * H:]))
    c = (1 - i) * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c), p)


@ex_no_forget_forward.bug("tanh of the new cell state is missing: h' = o ⊙ tanh(c')")
def nf_forward_no_tanh(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    i, g, o = 1 / (1 + np.exp(-a[:, :H])), np.tanh(a[:, H:2 * H]), 1 / (1 + np.exp(-a[:, 2 * H:]))
    c = c_prev + i * g
    h = o * c
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c), p)


@ex_no_forget_forward.bug("the candidate g uses a sigmoid; it is tanh (so the cell can also decrease)")
def nf_forward_g_sigmoid(x, h_prev, c_prev, p):
    H = h_prev.shape[1]
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    i, g, o = 1 / (1 + np.exp(-a[:, :H])), 1 / (1 + np.exp(-a[:, H:2 * H])), 1 / (1 + np.exp(-a[:, 2 * H:]))
    c = c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, np.hstack([i, g, o]), np.tanh(c), p)


# --------------------------------------------------------- Exercise 3: no-forget step backward

def _run_step_backward(target, fns, case):
    x, h_prev, c_prev, p, dh, dc = case.args
    _, _, cache = fns["lstm_no_forget_step_forward"](x, h_prev, c_prev, p)
    dx, dh_prev, dc_prev, grads = target(dh, dc, cache)
    return {"dx": dx, "dh_prev": dh_prev, "dc_prev": dc_prev, **grads_entries(grads)}


ex_no_forget_backward = Exercise(
    "l08_e3_lstm_no_forget_step_backward", ("lstm_no_forget_step_backward", "lstm_no_forget_step_forward"),
    _run_step_backward, lambda rng: step_cases(rng, 3, True), REF,
)


@ex_no_forget_backward.bug("dc_prev lost the part that came through h: it is the total dc + dh ⊙ o ⊙ (1 − tanh²(c'))")
def nf_backward_dc_prev_upstream_only(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    di, dg, do = dc_total * g, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), dg * (1 - g ** 2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc, grads


@ex_no_forget_backward.bug("the gate gradients are stacked as [i | o | g]; they must follow the weights' "
                           "blocks [i | g | o]")
def nf_backward_stacked_iog(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    di, dg, do = dc_total * g, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), do * o * (1 - o), dg * (1 - g ** 2)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total, grads


@ex_no_forget_backward.bug("the upstream dc is ignored: the cell gets dc plus dh ⊙ o ⊙ (1 − tanh²(c'))")
def nf_backward_ignores_dc(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dc_total = dh * o * (1 - tanh_c ** 2)
    di, dg, do = dc_total * g, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), dg * (1 - g ** 2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total, grads


@ex_no_forget_backward.bug("tanh' of the cell is missing: dh reaches c' as dh ⊙ o ⊙ (1 − tanh²(c'))")
def nf_backward_no_tanh_grad(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dc_total = dc + dh * o
    di, dg, do = dc_total * g, dc_total * i, dh * tanh_c
    da = np.hstack([di * i * (1 - i), dg * (1 - g ** 2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total, grads


@ex_no_forget_backward.bug("di and dg are swapped: c' = c + i ⊙ g gives di = dc ⊙ g and dg = dc ⊙ i")
def nf_backward_swapped(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    di, dg, do = dc_total * i, dc_total * g, dh * tanh_c
    da = np.hstack([di * i * (1 - i), dg * (1 - g ** 2), do * o * (1 - o)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total, grads


@ex_no_forget_backward.bug("the sigmoid's derivative is s ⊙ (1 − s); 1 − s² is tanh's")
def nf_backward_wrong_sigmoid_grad(dh, dc, cache):
    x, h_prev, c_prev, gates, tanh_c, p = cache
    H = h_prev.shape[1]
    i, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dc_total = dc + dh * o * (1 - tanh_c ** 2)
    di, dg, do = dc_total * g, dc_total * i, dh * tanh_c
    da = np.hstack([di * (1 - i ** 2), dg * (1 - g ** 2), do * (1 - o ** 2)])
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], dc_total, grads


# ------------------------------------------------------------------ Exercise 4: summarize runs

MODELS = ["rnn", "gru", "lstm", "lstm_no_forget"]


def _summary_cases(rng):
    cases = []
    for n_models, Ts, seeds, key in [(2, [10, 20], 3, "test_mse"), (3, [25, 50, 100], 4, "test_mse"),
                                     (4, [5], 2, "seconds")]:
        models = MODELS[:n_models]
        results = []
        for seed in range(seeds):
            for model in MODELS:                     # a model that is not asked for must be ignored
                for T in Ts + [7]:                   # and so must a length that is not asked for
                    results.append({"experiment": "adding", "model": model, "T": T, "seed": seed,
                                    "test_mse": float(rng.uniform(0.001, 0.2)),
                                    "seconds": float(rng.uniform(1, 30))})
        order = rng.permutation(len(results))
        results = [results[k] for k in order]
        cases.append(Case(f"{n_models} models, Ts={Ts}, {seeds} seeds, key={key!r}", (results, models, Ts, key)))
    return cases


ex_summarize = Exercise(
    "l08_e4_summarize_runs", ("summarize_runs",), returns("mean", "std"), _summary_cases, REF,
)


@ex_summarize.bug("np.std defaults to ddof=0 (population); over a few seeds report the sample std, ddof=1")
def summarize_population_std(results, models, Ts, key="test_mse"):
    mean, std = np.zeros((len(models), len(Ts))), np.zeros((len(models), len(Ts)))
    for a, m in enumerate(models):
        for b, T in enumerate(Ts):
            v = np.array([r[key] for r in results if r["model"] == m and r["T"] == T])
            mean[a, b], std[a, b] = v.mean(), v.std()
    return mean, std


@ex_summarize.bug("this is the standard error std/√n; the table reports the spread over seeds, the std itself")
def summarize_standard_error(results, models, Ts, key="test_mse"):
    mean, std = np.zeros((len(models), len(Ts))), np.zeros((len(models), len(Ts)))
    for a, m in enumerate(models):
        for b, T in enumerate(Ts):
            v = np.array([r[key] for r in results if r["model"] == m and r["T"] == T])
            mean[a, b], std[a, b] = v.mean(), v.std(ddof=1) / np.sqrt(v.size)
    return mean, std


@ex_summarize.bug("the runs were grouped by model only: each (model, T) pair has its own mean and std")
def summarize_by_model_only(results, models, Ts, key="test_mse"):
    mean, std = np.zeros((len(models), len(Ts))), np.zeros((len(models), len(Ts)))
    for a, m in enumerate(models):
        v = np.array([r[key] for r in results if r["model"] == m])
        mean[a], std[a] = v.mean(), v.std(ddof=1)
    return mean, std


@ex_summarize.bug("the arrays are transposed: rows are models, columns are lengths T, shape (len(models), len(Ts))")
def summarize_transposed(results, models, Ts, key="test_mse"):
    mean, std = np.zeros((len(Ts), len(models))), np.zeros((len(Ts), len(models)))
    for a, m in enumerate(models):
        for b, T in enumerate(Ts):
            v = np.array([r[key] for r in results if r["model"] == m and r["T"] == T])
            mean[b, a], std[b, a] = v.mean(), v.std(ddof=1)
    return mean, std


@ex_summarize.bug("key was ignored: summarise r[key], which is not always the test MSE")
def summarize_ignores_key(results, models, Ts, key="test_mse"):
    mean, std = np.zeros((len(models), len(Ts))), np.zeros((len(models), len(Ts)))
    for a, m in enumerate(models):
        for b, T in enumerate(Ts):
            v = np.array([r["test_mse"] for r in results if r["model"] == m and r["T"] == T])
            mean[a, b], std[a, b] = v.mean(), v.std(ddof=1)
    return mean, std


EXERCISES = [ex_hidden_size, ex_no_forget_forward, ex_no_forget_backward, ex_summarize]
