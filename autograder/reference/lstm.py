"""Reference NumPy implementation of a single-layer LSTM (forward and backward).

Notation
--------
N batch size, T sequence length, D input features, H hidden units.
Sequences are batch-first: ``x`` has shape ``(N, T, D)``.

Parameters
----------
``p`` is a dict laid out exactly like ``torch.nn.LSTM`` (layer 0), so the
arrays can be copied to and from PyTorch unchanged::

    p["W_ih"]  (4H, D)   == lstm.weight_ih_l0
    p["W_hh"]  (4H, H)   == lstm.weight_hh_l0
    p["b_ih"]  (4H,)     == lstm.bias_ih_l0
    p["b_hh"]  (4H,)     == lstm.bias_hh_l0

The 4H rows are four stacked gate blocks in PyTorch's order: i, f, g, o.

Equations (one time step)
-------------------------
::

    a  = x W_ih^T + b_ih + h W_hh^T + b_hh        (N, 4H) pre-activations
    i  = sigmoid(a_i)                              input gate
    f  = sigmoid(a_f)                              forget gate
    g  = tanh(a_g)                                 candidate cell
    o  = sigmoid(a_o)                              output gate
    c' = f * c + i * g                             new cell state
    h' = o * tanh(c')                              new hidden state

Gradients are returned as a dict with the same keys as ``p``.
"""

import numpy as np

__all__ = [
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
]


def _sigmoid(x, out=None):
    """Numerically stable logistic function: sigma(x) = (1 + tanh(x / 2)) / 2.

    Unlike 1 / (1 + exp(-x)) this never overflows, for any input. ``out``
    (optional) is an array to write the result into.
    """
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _split(act):
    """Views of the four H-wide gate blocks i, f, g, o of an (N, 4H) array."""
    H = act.shape[1] // 4
    return act[:, :H], act[:, H : 2 * H], act[:, 2 * H : 3 * H], act[:, 3 * H :]


def _activate(a, out=None):
    """Apply the gate nonlinearities to pre-activations a (N, 4H).

    Returns an (N, 4H) array holding [i | f | g | o]: sigmoid on the i, f, o
    blocks and tanh on the g block (written into ``out`` if given).
    """
    H = a.shape[1] // 4
    act = _sigmoid(a, out=out)  # i, f, o (the g block is overwritten next)
    np.tanh(a[:, 2 * H : 3 * H], out=act[:, 2 * H : 3 * H])  # g
    return act


def _activate_grad(act):
    """Local derivative d act / d a (N, 4H), from the activated gates act."""
    H = act.shape[1] // 4
    deriv = act * (1.0 - act)  # sigmoid' = s (1 - s) for i, f, o
    g = act[:, 2 * H : 3 * H]
    deriv[:, 2 * H : 3 * H] = 1.0 - g * g  # tanh' = 1 - t^2 for g
    return deriv


def _pointwise_backward(dh, dc, act, c_prev, tanh_c, out=None):
    """Backward through the element-wise part of one LSTM step.

    Args:
        dh, dc: (N, H) upstream gradients of the new h and the new c.
        act: (N, 4H) activated gates [i | f | g | o] of this step.
        c_prev: (N, H) previous cell state; tanh_c: (N, H) tanh of the new one.
        out: optional (N, 4H) array to write ``da`` into.

    Returns:
        da: (N, 4H) gradient of the gate pre-activations a.
        dc_prev: (N, H) gradient of the previous cell state.
    """
    i, f, g, o = _split(act)
    # h' = o * tanh(c'): gradient of o, and the total gradient of c'
    do = dh * tanh_c
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
    # c' = f * c + i * g: gradients of the activated gates [di | df | dg | do]
    dact = np.concatenate([dc * g, dc * c_prev, dc * i, do], axis=1)
    dc_prev = dc * f
    # Through the nonlinearities to the pre-activations.
    da = np.multiply(dact, _activate_grad(act), out=out)
    return da, dc_prev


def lstm_step_forward(x, h_prev, c_prev, p):
    """One LSTM time step.

    Args:
        x: (N, D) input at this step.
        h_prev: (N, H) previous hidden state.
        c_prev: (N, H) previous cell state.
        p: parameter dict (see module docstring).

    Returns:
        h: (N, H) new hidden state.
        c: (N, H) new cell state.
        cache: values needed by :func:`lstm_step_backward`.
    """
    # a = x W_ih^T + b_ih + h W_hh^T + b_hh
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]
    act = _activate(a)
    i, f, g, o = _split(act)
    # c' = f * c + i * g
    c = f * c_prev + i * g
    # h' = o * tanh(c')
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = (x, h_prev, c_prev, act, tanh_c, p)
    return h, c, cache


def lstm_step_backward(dh, dc, cache):
    """Backward pass of :func:`lstm_step_forward`.

    Args:
        dh: (N, H) upstream gradient of the new hidden state h.
        dc: (N, H) upstream gradient of the new cell state c.
        cache: from :func:`lstm_step_forward`.

    Returns:
        dx: (N, D), dh_prev: (N, H), dc_prev: (N, H),
        grads: dict with "W_ih" (4H, D), "W_hh" (4H, H), "b_ih" (4H,), "b_hh" (4H,).
    """
    x, h_prev, c_prev, act, tanh_c, p = cache
    da, dc_prev = _pointwise_backward(dh, dc, act, c_prev, tanh_c)
    # a = x W_ih^T + b_ih + h W_hh^T + b_hh
    dx = da @ p["W_ih"]
    dh_prev = da @ p["W_hh"]
    db = da.sum(axis=0)
    grads = {
        "W_ih": da.T @ x,
        "W_hh": da.T @ h_prev,
        "b_ih": db,
        "b_hh": db.copy(),
    }
    return dx, dh_prev, dc_prev, grads


def lstm_forward(x, h0, c0, p):
    """Run an LSTM over a whole sequence.

    The input projection x W_ih^T + b_ih + b_hh does not depend on the
    recurrence, so it is computed for all time steps with a single matmul
    before the loop; only h W_hh^T remains inside the loop.

    Args:
        x: (N, T, D) input sequence (batch-first).
        h0: (N, H) initial hidden state.
        c0: (N, H) initial cell state.
        p: parameter dict (see module docstring).

    Returns:
        hs: (N, T, H) hidden state at every time step.
        cache: values needed by :func:`lstm_backward`.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    W_hh_T = np.ascontiguousarray(p["W_hh"].T)  # contiguous: faster matmuls
    dtype = np.result_type(x, h0, c0, p["W_ih"], p["W_hh"])

    # Everything is stored time-major (T, N, .) so that each step reads and
    # writes one contiguous block; x_tm is x in that layout, flattened.
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)
    # Input part of a for all steps at once: (T*N, D) @ (D, 4H) -> (T, N, 4H).
    # Step t overwrites gates[t] with its activated gates [i | f | g | o],
    # which is what the backward pass needs.
    gates = x_tm @ p["W_ih"].T
    gates += p["b_ih"] + p["b_hh"]
    gates = gates.reshape(T, N, 4 * H)

    # h_states[t], c_states[t] are the states entering step t (index 0 holds
    # h0, c0; index T holds the final states).
    h_states = np.empty((T + 1, N, H), dtype=dtype)
    c_states = np.empty((T + 1, N, H), dtype=dtype)
    h_states[0] = h0
    c_states[0] = c0

    for t in range(T):
        # a = (x W_ih^T + b_ih + b_hh) + h W_hh^T
        a = gates[t] + h_states[t] @ W_hh_T
        i, f, g, o = _split(_activate(a, out=gates[t]))
        # c' = f * c + i * g
        c = np.add(f * c_states[t], i * g, out=c_states[t + 1])
        # h' = o * tanh(c')
        np.multiply(o, np.tanh(c), out=h_states[t + 1])

    hs = np.ascontiguousarray(h_states[1:].transpose(1, 0, 2))
    cache = {
        "x_tm": x_tm,
        "p": p,
        "gates": gates,
        "h_states": h_states,
        "c_states": c_states,
    }
    return hs, cache


def lstm_backward(dhs, cache):
    """Backward pass of :func:`lstm_forward` (backpropagation through time).

    Only the hidden states receive upstream gradient; the final cell state
    does not. The gradients of x, W_ih, W_hh and the biases are computed
    after the time loop, with one matmul each, from the stored gradients of
    the pre-activations of all steps.

    Args:
        dhs: (N, T, H) upstream gradient of every hidden state in hs.
        cache: from :func:`lstm_forward`.

    Returns:
        dx: (N, T, D), dh0: (N, H), dc0: (N, H),
        grads: dict with "W_ih" (4H, D), "W_hh" (4H, H), "b_ih" (4H,), "b_hh" (4H,).
    """
    x_tm, p = cache["x_tm"], cache["p"]
    gates, h_states, c_states = cache["gates"], cache["h_states"], cache["c_states"]
    T, N, H = gates.shape[0], h_states.shape[1], h_states.shape[2]
    D = x_tm.shape[1]
    W_hh = p["W_hh"]

    da_all = np.empty_like(gates)  # (T, N, 4H) gradient of the pre-activations a
    dh_next = np.zeros_like(h_states[0])  # gradient reaching h_t from step t+1
    dc_next = np.zeros_like(c_states[0])  # gradient reaching c_t from step t+1

    for t in reversed(range(T)):
        # h_t feeds both the loss directly (dhs) and the next step (dh_next).
        dh = dhs[:, t] + dh_next
        tanh_c = np.tanh(c_states[t + 1])  # recomputed rather than stored
        da, dc_next = _pointwise_backward(dh, dc_next, gates[t], c_states[t], tanh_c, out=da_all[t])
        # a_t = ... + h_{t-1} W_hh^T
        dh_next = da @ W_hh

    # a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, for all t at once.
    da_flat = da_all.reshape(T * N, 4 * H)
    dx = (da_flat @ p["W_ih"]).reshape(T, N, D).transpose(1, 0, 2)
    db = da_flat.sum(axis=0)
    grads = {
        "W_ih": da_flat.T @ x_tm,
        "W_hh": da_flat.T @ h_states[:T].reshape(T * N, H),
        "b_ih": db,
        "b_hh": db.copy(),
    }
    return np.ascontiguousarray(dx), dh_next, dc_next, grads
