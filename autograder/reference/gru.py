"""Reference NumPy implementation of a single-layer GRU (forward and backward).

Notation
--------
N batch size, T sequence length, D input features, H hidden units.
Sequences are batch-first: ``x`` has shape ``(N, T, D)``.

Parameters
----------
``p`` is a dict laid out exactly like ``torch.nn.GRU`` (layer 0), so the
arrays can be copied to and from PyTorch unchanged::

    p["W_ih"]  (3H, D)   == gru.weight_ih_l0
    p["W_hh"]  (3H, H)   == gru.weight_hh_l0
    p["b_ih"]  (3H,)     == gru.bias_ih_l0
    p["b_hh"]  (3H,)     == gru.bias_hh_l0

The 3H rows are three stacked gate blocks in PyTorch's order: r, z, n.

Equations (one time step, PyTorch convention)
---------------------------------------------
Write the two affine maps as ``gi = x W_ih^T + b_ih`` and
``gh = h W_hh^T + b_hh`` (both (N, 3H), split into r, z, n blocks)::

    r  = sigmoid(gi_r + gh_r)                      reset gate
    z  = sigmoid(gi_z + gh_z)                      update gate
    n  = tanh(gi_n + r * gh_n)                     candidate state
    h' = (1 - z) * n + z * h                       new hidden state

Note that the reset gate multiplies ``W_hn h + b_hn`` (the whole recurrent
term, bias included), which is why gh_n has to be kept separately.

Gradients are returned as a dict with the same keys as ``p``.
"""

import numpy as np

from .lstm import _sigmoid  # the same overflow-free logistic function

__all__ = [
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
]


def _split(act):
    """Views of the three H-wide blocks r, z, n of an (N, 3H) array."""
    H = act.shape[1] // 3
    return act[:, :H], act[:, H : 2 * H], act[:, 2 * H :]


def _activate(gi, gh, out=None):
    """Element-wise part of one GRU step: the gates r, z and the candidate n.

    Args:
        gi: (N, 3H) input projection x W_ih^T + b_ih.
        gh: (N, 3H) recurrent projection h W_hh^T + b_hh.
        out: optional (N, 3H) array to write the result into; it may be
            ``gi`` itself (gi is read before each block is overwritten).

    Returns:
        act: (N, 3H) array holding [r | z | n].
    """
    H = gi.shape[1] // 3
    if out is None:
        out = np.empty(gi.shape, dtype=np.result_type(gi, gh))
    # r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), computed together
    _sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H], out=out[:, : 2 * H])
    r = out[:, :H]
    # n = tanh(gi_n + r * gh_n)
    np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :], out=out[:, 2 * H :])
    return out


def _pointwise_backward(dh, h_prev, act, gh_n, dgi=None, dgh=None):
    """Backward through the element-wise part of one GRU step.

    Args:
        dh: (N, H) gradient of the new hidden state.
        h_prev: (N, H) previous hidden state.
        act: (N, 3H) activations [r | z | n] of this step.
        gh_n: (N, H) the n block of h W_hh^T + b_hh.
        dgi, dgh: optional (N, 3H) arrays to write the results into.

    Returns:
        dgi: (N, 3H) gradient of gi = x W_ih^T + b_ih.
        dgh: (N, 3H) gradient of gh = h W_hh^T + b_hh.
        dh_direct: (N, H) gradient of h_prev through the z * h term only.
    """
    r, z, n = _split(act)
    H = n.shape[1]
    if dgi is None:
        dgi = np.empty_like(act)
    if dgh is None:
        dgh = np.empty_like(act)
    dgi_r, dgi_z, dgi_n = _split(dgi)
    # h' = (1 - z) * n + z * h: gradients of n, z and (directly) of h
    dn = dh * (1.0 - z)
    np.multiply(dh, h_prev - n, out=dgi_z)  # dz
    dh_direct = dh * z
    # n = tanh(gi_n + r * gh_n): tanh' = 1 - n^2 gives d(gi_n), then dr
    np.multiply(dn, 1.0 - n * n, out=dgi_n)
    np.multiply(dgi_n, gh_n, out=dgi_r)  # dr
    # r, z = sigmoid(...): sigma' = s (1 - s), on the [r | z] blocks at once
    rz = act[:, : 2 * H]
    drz = dgi[:, : 2 * H]  # holds [dr | dz]; becomes the pre-activation grads
    drz *= rz * (1.0 - rz)
    # gh enters like gi, except that its n block is scaled by r.
    dgh[:, : 2 * H] = dgi[:, : 2 * H]
    np.multiply(dgi_n, r, out=dgh[:, 2 * H :])
    return dgi, dgh, dh_direct


def gru_step_forward(x, h_prev, p):
    """One GRU time step.

    Args:
        x: (N, D) input at this step.
        h_prev: (N, H) previous hidden state.
        p: parameter dict (see module docstring).

    Returns:
        h: (N, H) new hidden state.
        cache: values needed by :func:`gru_step_backward`.
    """
    H = h_prev.shape[1]
    gi = x @ p["W_ih"].T + p["b_ih"]  # gi = x W_ih^T + b_ih
    gh = h_prev @ p["W_hh"].T + p["b_hh"]  # gh = h W_hh^T + b_hh
    act = _activate(gi, gh)
    _, z, n = _split(act)
    # h' = (1 - z) * n + z * h, written as n + z * (h - n)
    h = n + z * (h_prev - n)
    cache = (x, h_prev, act, gh[:, 2 * H :], p)
    return h, cache


def gru_step_backward(dh, cache):
    """Backward pass of :func:`gru_step_forward`.

    Args:
        dh: (N, H) upstream gradient of the new hidden state.
        cache: from :func:`gru_step_forward`.

    Returns:
        dx: (N, D), dh_prev: (N, H),
        grads: dict with "W_ih" (3H, D), "W_hh" (3H, H), "b_ih" (3H,), "b_hh" (3H,).
    """
    x, h_prev, act, gh_n, p = cache
    dgi, dgh, dh_direct = _pointwise_backward(dh, h_prev, act, gh_n)
    # gi = x W_ih^T + b_ih ;  gh = h W_hh^T + b_hh
    dx = dgi @ p["W_ih"]
    dh_prev = dh_direct + dgh @ p["W_hh"]
    grads = {
        "W_ih": dgi.T @ x,
        "W_hh": dgh.T @ h_prev,
        "b_ih": dgi.sum(axis=0),
        "b_hh": dgh.sum(axis=0),
    }
    return dx, dh_prev, grads


def gru_forward(x, h0, p):
    """Run a GRU over a whole sequence.

    The input projection gi = x W_ih^T + b_ih does not depend on the
    recurrence, so it is computed for all time steps with a single matmul
    before the loop; only h W_hh^T + b_hh remains inside the loop.

    Args:
        x: (N, T, D) input sequence (batch-first).
        h0: (N, H) initial hidden state.
        p: parameter dict (see module docstring).

    Returns:
        hs: (N, T, H) hidden state at every time step.
        cache: values needed by :func:`gru_backward`.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    W_hh_T = np.ascontiguousarray(p["W_hh"].T)  # contiguous: faster matmuls
    b_hh = p["b_hh"]
    dtype = np.result_type(x, h0, p["W_ih"], p["W_hh"])

    # Everything is stored time-major (T, N, .) so that each step reads and
    # writes one contiguous block; x_tm is x in that layout, flattened.
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    # gi for all steps at once: (T*N, D) @ (D, 3H) -> (T, N, 3H). Step t
    # overwrites acts[t] (which holds gi_t) with its activations [r | z | n].
    acts = x_tm @ p["W_ih"].T
    acts += p["b_ih"]
    acts = acts.reshape(T, N, 3 * H)

    # h_states[t] is the state entering step t (h_states[0] = h0).
    h_states = np.empty((T + 1, N, H), dtype=dtype)
    gh_ns = np.empty((T, N, H), dtype=dtype)  # n block of h W_hh^T + b_hh
    h_states[0] = h0

    for t in range(T):
        h = h_states[t]
        gh = h @ W_hh_T + b_hh  # gh = h W_hh^T + b_hh
        _, z, n = _split(_activate(acts[t], gh, out=acts[t]))
        gh_ns[t] = gh[:, 2 * H :]
        # h' = (1 - z) * n + z * h, written as n + z * (h - n)
        np.add(n, z * (h - n), out=h_states[t + 1])

    hs = np.ascontiguousarray(h_states[1:].transpose(1, 0, 2))
    cache = {
        "x_tm": x_tm,
        "p": p,
        "acts": acts,
        "h_states": h_states,
        "gh_ns": gh_ns,
    }
    return hs, cache


def gru_backward(dhs, cache):
    """Backward pass of :func:`gru_forward` (backpropagation through time).

    The gradients of x, W_ih, W_hh and the biases are computed after the time
    loop, with one matmul each, from the stored gradients of gi and gh of all
    steps.

    Args:
        dhs: (N, T, H) upstream gradient of every hidden state in hs.
        cache: from :func:`gru_forward`.

    Returns:
        dx: (N, T, D), dh0: (N, H),
        grads: dict with "W_ih" (3H, D), "W_hh" (3H, H), "b_ih" (3H,), "b_hh" (3H,).
    """
    x_tm, p = cache["x_tm"], cache["p"]
    acts, h_states, gh_ns = cache["acts"], cache["h_states"], cache["gh_ns"]
    T, N, H = gh_ns.shape
    D = x_tm.shape[1]
    W_hh = p["W_hh"]

    dgi_all = np.empty_like(acts)  # (T, N, 3H) gradient of gi at every step
    dgh_all = np.empty_like(acts)  # (T, N, 3H) gradient of gh at every step
    dh_next = np.zeros_like(h_states[0])  # gradient reaching h_t from step t+1

    for t in reversed(range(T)):
        # h_t feeds both the loss directly (dhs) and the next step (dh_next).
        dh = dhs[:, t] + dh_next
        _, dgh, dh_direct = _pointwise_backward(
            dh, h_states[t], acts[t], gh_ns[t], dgi=dgi_all[t], dgh=dgh_all[t]
        )
        # h_{t-1} enters through z * h and through gh = h W_hh^T + b_hh.
        dh_next = dh_direct + dgh @ W_hh

    # gi_t = x_t W_ih^T + b_ih and gh_t = h_{t-1} W_hh^T + b_hh, for all t.
    dgi_flat = dgi_all.reshape(T * N, 3 * H)
    dgh_flat = dgh_all.reshape(T * N, 3 * H)
    dx = (dgi_flat @ p["W_ih"]).reshape(T, N, D).transpose(1, 0, 2)
    grads = {
        "W_ih": dgi_flat.T @ x_tm,
        "W_hh": dgh_flat.T @ h_states[:T].reshape(T * N, H),
        "b_ih": dgi_flat.sum(axis=0),
        "b_hh": dgh_flat.sum(axis=0),
    }
    return np.ascontiguousarray(dx), dh_next, grads
