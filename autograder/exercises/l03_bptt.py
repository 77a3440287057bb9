"""Lesson 03 — backpropagation through time: hidden tests and planted bugs."""

import numpy as np

from autograder import reference as ref
from autograder.checking import Case, Exercise, Mismatch, returns
from autograder.exercises.l02_vanilla_rnn import random_rnn_params
from autograder.reference import rnn_step_backward

REF = {
    name: getattr(ref, name)
    for name in ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                 "numeric_gradient", "state_gradient_norms", "clip_grad_norm"]
}


def _step_backward_cases(rng):
    cases = []
    for N, D, H in [(1, 1, 1), (3, 4, 5), (2, 6, 3)]:
        p = random_rnn_params(rng, D, H, scale=0.8)
        args = (rng.normal(size=(N, D)), rng.normal(size=(N, H)), p, rng.normal(size=(N, H)))
        cases.append(Case(f"N={N}, D={D}, H={H}", args))
    return cases


def _run_step_backward(target, fns, case):
    x, h_prev, p, dh = case.args
    _, cache = fns["rnn_step_forward"](x, h_prev, p)
    dx, dh_prev, grads = target(dh, cache)
    return {"dx": dx, "dh_prev": dh_prev, **{f"grads[{k!r}]": v for k, v in _dict(grads).items()}}


def _dict(grads):
    if not isinstance(grads, dict):
        raise Mismatch(f"grads should be a dict with keys W_ih, W_hh, b_ih, b_hh, not {type(grads).__name__}")
    return grads


ex_rnn_step_backward = Exercise(
    "l03_e1_rnn_step_backward", ("rnn_step_backward", "rnn_step_forward"), _run_step_backward,
    _step_backward_cases, REF,
)


@ex_rnn_step_backward.bug("tanh' was taken at the pre-activation: with h = tanh(a), tanh'(a) = 1 - h²")
def step_backward_wrong_derivative(dh, cache):
    x, h_prev, h, p = cache
    da = dh * (1 - np.tanh(h) ** 2)
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], grads


@ex_rnn_step_backward.bug("the tanh derivative is missing: multiply dh by 1 - h² first")
def step_backward_no_tanh(dh, cache):
    x, h_prev, h, p = cache
    da = dh
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], grads


@ex_rnn_step_backward.bug("dW is transposed: W_ih is (H, D), so dW_ih = daᵀ x, not xᵀ da")
def step_backward_transposed(dh, cache):
    x, h_prev, h, p = cache
    da = dh * (1 - h ** 2)
    grads = {"W_ih": x.T @ da, "W_hh": h_prev.T @ da, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"], grads


@ex_rnn_step_backward.bug("the bias gradient must be summed over the batch (axis 0)")
def step_backward_bias_mean(dh, cache):
    x, h_prev, h, p = cache
    da = dh * (1 - h ** 2)
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.mean(0), "b_hh": da.mean(0)}
    return da @ p["W_ih"], da @ p["W_hh"], grads


@ex_rnn_step_backward.bug("dh_prev used W_hhᵀ: the state enters as h_prev @ W_hh.T, so dh_prev = da @ W_hh")
def step_backward_dh_prev_transposed(dh, cache):
    x, h_prev, h, p = cache
    da = dh * (1 - h ** 2)
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    return da @ p["W_ih"], da @ p["W_hh"].T, grads


def _sequence_cases(rng):
    cases = []
    for N, T, D, H in [(1, 1, 1, 2), (2, 5, 3, 4), (3, 8, 1, 6)]:
        p = random_rnn_params(rng, D, H, scale=0.8)
        args = (rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), p, rng.normal(size=(N, T, H)))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args))
    return cases


def _run_backward(target, fns, case):
    x, h0, p, dhs = case.args
    _, cache = fns["rnn_forward"](x, h0, p)
    dx, dh0, grads = target(dhs, cache)
    return {"dx": dx, "dh0": dh0, **{f"grads[{k!r}]": v for k, v in _dict(grads).items()}}


ex_rnn_backward = Exercise(
    "l03_e2_rnn_backward", ("rnn_backward", "rnn_forward"), _run_backward, _sequence_cases, REF,
)


def _step_cache(cache, t):
    h_prev = cache["hs"][:, t - 1] if t > 0 else cache["h0"]
    return cache["x"][:, t], h_prev, cache["hs"][:, t], cache["p"]


@ex_rnn_backward.bug("the gradient from the future is dropped: hs[:, t] gets dhs[:, t] plus the next step's dh_prev")
def backward_no_carry(dhs, cache):
    x, hs, p = cache["x"], cache["hs"], cache["p"]
    dx, grads, dh_prev = np.zeros(x.shape), {k: np.zeros_like(v) for k, v in p.items()}, None
    for t in reversed(range(hs.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else cache["h0"]
        dx[:, t], dh_prev, g = rnn_step_backward(dhs[:, t], (x[:, t], h_prev, hs[:, t], p))
        for k in grads:
            grads[k] += g[k]
    return dx, dh_prev, grads


@ex_rnn_backward.bug("the parameter gradients are overwritten at each step; they must be summed over time")
def backward_overwrites_grads(dhs, cache):
    x, hs, p = cache["x"], cache["hs"], cache["p"]
    dx, dh = np.zeros(x.shape), np.zeros_like(cache["h0"])
    grads = {}
    for t in reversed(range(hs.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else cache["h0"]
        dx[:, t], dh, grads = rnn_step_backward(dhs[:, t] + dh, (x[:, t], h_prev, hs[:, t], p))
    return dx, dh, grads


@ex_rnn_backward.bug("time runs forwards here: backpropagation must visit t = T-1 down to 0")
def backward_forward_in_time(dhs, cache):
    x, hs, p = cache["x"], cache["hs"], cache["p"]
    dx, dh = np.zeros(x.shape), np.zeros_like(cache["h0"])
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(hs.shape[1]):
        h_prev = hs[:, t - 1] if t > 0 else cache["h0"]
        dx[:, t], dh, g = rnn_step_backward(dhs[:, t] + dh, (x[:, t], h_prev, hs[:, t], p))
        for k in grads:
            grads[k] += g[k]
    return dx, dh, grads


@ex_rnn_backward.bug("each step's cache used h_t instead of h_{t-1} as the previous state")
def backward_wrong_previous_state(dhs, cache):
    x, hs, p = cache["x"], cache["hs"], cache["p"]
    dx, dh = np.zeros(x.shape), np.zeros_like(cache["h0"])
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    for t in reversed(range(hs.shape[1])):
        dx[:, t], dh, g = rnn_step_backward(dhs[:, t] + dh, (x[:, t], hs[:, t], hs[:, t], p))
        for k in grads:
            grads[k] += g[k]
    return dx, dh, grads


@ex_rnn_backward.bug("dh0 is the gradient of h0, one step before hs[:, 0]: return the dh_prev of step 0")
def backward_dh0_is_first_state(dhs, cache):
    x, hs, p = cache["x"], cache["hs"], cache["p"]
    dx, dh = np.zeros(x.shape), np.zeros_like(cache["h0"])
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    for t in reversed(range(hs.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else cache["h0"]
        dh_t = dhs[:, t] + dh
        dx[:, t], dh, g = rnn_step_backward(dh_t, (x[:, t], h_prev, hs[:, t], p))
        for k in grads:
            grads[k] += g[k]
    return dx, dh_t, grads


@ex_rnn_backward.bug("the gradient from the next state skipped tanh': add it to dhs[:, t] before the 1 - h² factor")
def backward_carry_skips_tanh(dhs, cache):
    x, hs, p = cache["x"], cache["hs"], cache["p"]
    dx, dh_next = np.zeros(x.shape), np.zeros_like(cache["h0"])
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    for t in reversed(range(hs.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else cache["h0"]
        da = dhs[:, t] * (1 - hs[:, t] ** 2) + dh_next
        dx[:, t] = da @ p["W_ih"]
        grads["W_ih"] += da.T @ x[:, t]
        grads["W_hh"] += da.T @ h_prev
        grads["b_ih"] += da.sum(axis=0)
        grads["b_hh"] += da.sum(axis=0)
        dh_next = da @ p["W_hh"]
    return dx, dh_next, grads


def _numeric_cases(rng):
    cases = []
    for shape in [(3,), (2, 3), (4, 2)]:
        W = rng.normal(size=(5, int(np.prod(shape))))
        x = rng.normal(size=shape)
        cases.append(Case(f"x of shape {shape}, f(x) = Σ sin(W x)",
                          (_SinLoss(W), x, 1e-5)))
    return cases


class _SinLoss:
    """f(x) = Σ sin(W x.ravel()): a smooth test function (a class, so it survives deepcopy)."""

    def __init__(self, W):
        self.W = W

    def __call__(self, x):
        return float(np.sum(np.sin(self.W @ np.ravel(x))))


def _run_numeric(target, fns, case):
    f, x, eps = case.args
    x_before = x.copy()
    grad = target(f, x, eps)
    if not np.array_equal(x, x_before):
        raise Mismatch("numeric_gradient must leave x as it found it (restore each entry)")
    return {"grad": grad}


ex_numeric_gradient = Exercise(
    "l03_e3_numeric_gradient", ("numeric_gradient",), _run_numeric, _numeric_cases, REF, tol=1e-9,
)


@ex_numeric_gradient.bug("this is a one-sided difference; use the centred (f(x+ε) − f(x−ε)) / 2ε")
def numeric_forward_difference(f, x, eps=1e-6):
    grad, flat = np.zeros(x.shape), x.reshape(-1)
    base = f(x)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        grad.reshape(-1)[i] = (f(x) - base) / eps
        flat[i] = old
    return grad


@ex_numeric_gradient.bug("the centred difference divides by 2ε, not ε")
def numeric_half_step(f, x, eps=1e-6):
    grad, flat = np.zeros(x.shape), x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old - eps
        minus = f(x)
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / eps
    return grad


@ex_numeric_gradient.bug("x[i] is not restored after perturbing it, so later entries see a shifted x")
def numeric_no_restore(f, x, eps=1e-6):
    grad, flat = np.zeros(x.shape), x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old - eps
        minus = f(x)
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


@ex_numeric_gradient.bug("x.flatten() is a copy: perturbing it leaves x and f(x) unchanged; perturb x itself")
def numeric_perturbs_copy(f, x, eps=1e-6):
    grad, flat = np.zeros(x.shape), x.flatten()
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old - eps
        minus = f(x)
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def _norm_cases(rng):
    cases = []
    for N, T, D, H, scale in [(1, 3, 1, 2, 0.5), (2, 12, 2, 5, 1.0), (4, 30, 1, 8, 2.0)]:
        p = random_rnn_params(rng, D, H, scale=scale)
        x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", (x, h0, p, rng.normal(size=(N, H)))))
    return cases


def _run_norms(target, fns, case):
    x, h0, p, dh_last = case.args
    _, cache = ref.rnn_forward(x, h0, p)
    return {"norms": target(dh_last, cache)}


ex_state_gradient_norms = Exercise(
    "l03_e4_state_gradient_norms", ("state_gradient_norms",), _run_norms, _norm_cases, REF,
)


@ex_state_gradient_norms.bug("the norms are reversed: norms[t] belongs to hs[:, t], and norms[T-1] = ‖dh_last‖")
def norms_reversed(dh_last, cache):
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    out, dh = [], dh_last
    for t in reversed(range(hs.shape[1])):
        out.append(np.linalg.norm(dh))
        h_prev = hs[:, t - 1] if t > 0 else h0
        _, dh, _ = rnn_step_backward(dh, (x[:, t], h_prev, hs[:, t], p))
    return np.array(out)


@ex_state_gradient_norms.bug("each norm is taken one step late: record ‖∂L/∂h_t‖ before stepping back")
def norms_one_step_late(dh_last, cache):
    x, h0, hs, p = cache["x"], cache["h0"], cache["hs"], cache["p"]
    norms, dh = np.empty(hs.shape[1]), dh_last
    for t in reversed(range(hs.shape[1])):
        h_prev = hs[:, t - 1] if t > 0 else h0
        _, dh, _ = rnn_step_backward(dh, (x[:, t], h_prev, hs[:, t], p))
        norms[t] = np.linalg.norm(dh)
    return norms


@ex_state_gradient_norms.bug("this ignores tanh': it multiplies by W_hh only (the linear-RNN bound)")
def norms_linear(dh_last, cache):
    hs, p = cache["hs"], cache["p"]
    norms, dh = np.empty(hs.shape[1]), dh_last
    for t in reversed(range(hs.shape[1])):
        norms[t] = np.linalg.norm(dh)
        dh = dh @ p["W_hh"]
    return norms


def _clip_cases(rng):
    cases = []
    for max_norm, scale in [(1.0, 0.1), (1.0, 3.0), (5.0, 10.0)]:
        grads = {"W_ih": rng.normal(scale=scale, size=(4, 2)), "W_hh": rng.normal(scale=scale, size=(4, 4)),
                 "b_ih": rng.normal(scale=scale, size=4), "b_hh": rng.normal(scale=scale, size=4)}
        cases.append(Case(f"max_norm={max_norm}, gradient scale {scale}", (grads, max_norm)))
    return cases


ex_clip_grad_norm = Exercise(
    "l03_e5_clip_grad_norm", ("clip_grad_norm",), returns("grads", "total"), _clip_cases, REF,
)


@ex_clip_grad_norm.bug("each gradient was clipped on its own; clipping by global norm uses one norm over all")
def clip_each(grads, max_norm):
    out = {k: g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for k, g in grads.items()}
    return out, float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


@ex_clip_grad_norm.bug("small gradients were scaled up: the factor is min(1, max_norm / total)")
def clip_scales_up(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    return {k: g * (max_norm / (total + 1e-6)) for k, g in grads.items()}, total


@ex_clip_grad_norm.bug("the total norm is a sum of squares; take its square root")
def clip_no_sqrt(grads, max_norm):
    total = float(sum(np.sum(g * g) for g in grads.values()))
    return {k: g * min(1.0, max_norm / (total + 1e-6)) for k, g in grads.items()}, total


@ex_clip_grad_norm.bug("the total norm was taken after clipping; return it before clipping, as torch does")
def clip_total_after(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {k: g * scale for k, g in grads.items()}, total * scale


EXERCISES = [ex_rnn_step_backward, ex_rnn_backward, ex_numeric_gradient, ex_state_gradient_norms,
             ex_clip_grad_norm]
