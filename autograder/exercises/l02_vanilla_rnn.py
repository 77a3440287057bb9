"""Lesson 02 — the vanilla RNN: hidden tests and planted bugs."""

import numpy as np

from autograder import reference as ref
from autograder.checking import Case, Exercise, returns
from autograder.reference import rnn_step_forward

REF = {
    name: getattr(ref, name)
    for name in ["rnn_step_forward", "rnn_forward", "rnn_param_count", "scale_spectral_radius",
                 "fit_readout"]
}


def random_rnn_params(rng, D, H, scale=0.5, gates=1):
    """A random parameter dict in PyTorch's layout (G = gates blocks; odd shapes expose transposes)."""
    return {
        "W_ih": rng.normal(scale=scale, size=(gates * H, D)),
        "W_hh": rng.normal(scale=scale / np.sqrt(H), size=(gates * H, H)),
        "b_ih": rng.normal(scale=scale, size=gates * H),
        "b_hh": rng.normal(scale=scale, size=gates * H),
    }


def _step_cases(rng):
    cases = []
    for N, D, H in [(1, 1, 1), (3, 4, 5), (2, 6, 3)]:
        p = random_rnn_params(rng, D, H)
        args = (rng.normal(size=(N, D)), rng.normal(size=(N, H)), p)
        cases.append(Case(f"N={N}, D={D}, H={H}", args))
    return cases


ex_rnn_step_forward = Exercise(
    "l02_e1_rnn_step_forward", ("rnn_step_forward",), returns("h", None), _step_cases, REF
)


@ex_rnn_step_forward.bug("a bias is missing: PyTorch's RNN adds both b_ih and b_hh")
def step_one_bias(x, h_prev, p):
    h = np.tanh(x @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b_hh"])
    return h, (x, h_prev, h, p)


@ex_rnn_step_forward.bug("the weights are not transposed the PyTorch way: use x @ W_ih.T and h_prev @ W_hh.T")
def step_untransposed_hh(x, h_prev, p):
    h = np.tanh(x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"] + p["b_hh"])
    return h, (x, h_prev, h, p)


@ex_rnn_step_forward.bug("tanh is missing: the new state is tanh of the pre-activation")
def step_no_tanh(x, h_prev, p):
    h = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    return h, (x, h_prev, h, p)


@ex_rnn_step_forward.bug("a sigmoid was used where the vanilla RNN uses tanh")
def step_sigmoid(x, h_prev, p):
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    h = 1 / (1 + np.exp(-a))
    return h, (x, h_prev, h, p)


def _sequence_cases(rng):
    cases = []
    for N, T, D, H in [(1, 1, 1, 2), (2, 5, 3, 4), (3, 9, 1, 6)]:
        p = random_rnn_params(rng, D, H, scale=0.8)
        args = (rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), p)
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args))
    return cases


ex_rnn_forward = Exercise(
    "l02_e2_rnn_forward", ("rnn_forward", "rnn_step_forward"), returns("hs", None),
    _sequence_cases, REF,
)


@ex_rnn_forward.bug("h0 is not used: every step must start from the previous state, the first from h0")
def forward_ignores_h0(x, h0, p):
    N, T, _ = x.shape
    hs, h = np.zeros((N, T, h0.shape[1])), np.zeros_like(h0)
    for t in range(T):
        h, _ = rnn_step_forward(x[:, t], h, p)
        hs[:, t] = h
    return hs, None


@ex_rnn_forward.bug("the state is not carried: each step should receive the previous step's output")
def forward_no_carry(x, h0, p):
    N, T, _ = x.shape
    hs = np.zeros((N, T, h0.shape[1]))
    for t in range(T):
        hs[:, t], _ = rnn_step_forward(x[:, t], h0, p)
    return hs, None


@ex_rnn_forward.bug("hs is shifted by one step: hs[:, t] must be the state after reading x[:, t]")
def forward_shifted(x, h0, p):
    N, T, _ = x.shape
    hs, h = np.zeros((N, T, h0.shape[1])), h0
    for t in range(T):
        hs[:, t] = h
        h, _ = rnn_step_forward(x[:, t], h, p)
    return hs, None


@ex_rnn_forward.bug("hs is time-major (T, N, H): stack the states along axis 1 to get (N, T, H)")
def forward_time_major(x, h0, p):
    states, h = [], h0
    for t in range(x.shape[1]):
        h, _ = rnn_step_forward(x[:, t], h, p)
        states.append(h)
    return np.stack(states), None


@ex_rnn_forward.bug("hs includes h0: it should hold only the T states after reading x[:, 0], ..., x[:, T-1]")
def forward_includes_h0(x, h0, p):
    states, h = [h0], h0
    for t in range(x.shape[1]):
        h, _ = rnn_step_forward(x[:, t], h, p)
        states.append(h)
    return np.stack(states, axis=1), None


def _count_cases(rng):
    return [Case(f"D={D}, H={H}, K={K}", (D, H, K)) for D, H, K in [(1, 32, 1), (3, 7, 2), (10, 1, 4)]]


ex_rnn_param_count = Exercise(
    "l02_e3_rnn_param_count", ("rnn_param_count",), returns("count"), _count_cases, REF, tol=0
)


@ex_rnn_param_count.bug("one bias vector is missing: PyTorch's RNN has both b_ih and b_hh")
def count_one_bias(D, H, K):
    return H * (D + H + 1) + K * (H + 1)


@ex_rnn_param_count.bug("the readout is missing: count its weights (K, H) and biases (K,)")
def count_no_readout(D, H, K):
    return H * (D + H + 2)


@ex_rnn_param_count.bug("the readout's bias is missing: it has K biases")
def count_no_readout_bias(D, H, K):
    return H * (D + H + 2) + K * H


@ex_rnn_param_count.bug("W_hh is (H, H), not (H, D)")
def count_wrong_whh(D, H, K):
    return H * (2 * D + 2) + K * (H + 1)


def _radius_cases(rng):
    cases = []
    for H, rho in [(2, 0.5), (6, 0.9), (12, 1.4)]:
        W = rng.normal(size=(H, H)) + np.diag(rng.uniform(0, 1, H))
        cases.append(Case(f"H={H}, rho={rho}", (W, rho)))
    return cases


ex_scale_spectral_radius = Exercise(
    "l02_e4_scale_spectral_radius", ("scale_spectral_radius",), returns("W"), _radius_cases, REF
)


@ex_scale_spectral_radius.bug("this divides by the 2-norm (largest singular value), not max |eigenvalue|")
def radius_by_norm(W, rho):
    return W * (rho / np.linalg.norm(W, 2))


@ex_scale_spectral_radius.bug("this uses the largest real part; the radius is the largest modulus |λ|")
def radius_by_real_part(W, rho):
    return W * (rho / np.max(np.linalg.eigvals(W).real))


@ex_scale_spectral_radius.bug("this scales by the Frobenius norm, not by the spectral radius")
def radius_by_frobenius(W, rho):
    return W * (rho / np.linalg.norm(W))


@ex_scale_spectral_radius.bug("the ratio is upside down: multiply W by rho / (max |eigenvalue|)")
def radius_inverted(W, rho):
    return W * (np.max(np.abs(np.linalg.eigvals(W))) / rho)


def _readout_cases(rng):
    cases = []
    for N, H, alpha in [(30, 4, 0.0), (50, 8, 1.5), (200, 16, 10.0)]:
        F = rng.normal(size=(N, H)) + rng.normal(size=H)
        y = F @ rng.normal(size=H) + 3.0 + 0.1 * rng.normal(size=N)
        cases.append(Case(f"N={N}, H={H}, alpha={alpha}", (F, y, alpha)))
    return cases


ex_fit_readout = Exercise(
    "l02_e5_fit_readout", ("fit_readout",), returns("w", "c"), _readout_cases, REF
)


@ex_fit_readout.bug("the intercept is penalised too: centre F and y so that only w is shrunk")
def readout_penalised_intercept(F, y, alpha):
    A = np.hstack([F, np.ones((len(F), 1))])
    wc = np.linalg.solve(A.T @ A + alpha * np.eye(A.shape[1]), A.T @ y)
    return wc[:-1], float(wc[-1])


@ex_fit_readout.bug("there is no intercept: y ≈ F w + c needs the constant c")
def readout_no_intercept(F, y, alpha):
    w = np.linalg.solve(F.T @ F + alpha * np.eye(F.shape[1]), F.T @ y)
    return w, 0.0


@ex_fit_readout.bug("alpha is ignored: ridge regression adds alpha·I to FᵀF")
def readout_no_ridge(F, y, alpha):
    Fc, yc = F - F.mean(axis=0), y - y.mean()
    w = np.linalg.lstsq(Fc, yc, rcond=None)[0]
    return w, float(y.mean() - F.mean(axis=0) @ w)


@ex_fit_readout.bug("the intercept is not mean(y): with centred features it is c = mean(y) - mean(F) @ w")
def readout_intercept_mean_y(F, y, alpha):
    Fc, yc = F - F.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Fc.T @ Fc + alpha * np.eye(F.shape[1]), Fc.T @ yc)
    return w, float(y.mean())


EXERCISES = [
    ex_rnn_step_forward, ex_rnn_forward, ex_rnn_param_count, ex_scale_spectral_radius, ex_fit_readout,
]
