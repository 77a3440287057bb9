"""What lesson 09 reads while it is graded, instead of computing it (no grade depends on these cells).

While the notebook is graded (``rnnkit.notebook.grading()``), three demonstration cells after the last
graded test read small stored results instead of spending seconds per submission:

* the unit analysis of section 9 reads ``UNITS`` (``unit_analysis.npz``): for each feature the unit chosen
  on the validation text, its correlations, the circular-shift nulls, the share of characters inside a
  quotation, the plotted passage and the plotted traces (cell state of the chosen unit and the feature over
  the passage), the seed and validation score of the weights it was computed from, and ``blas_record()``;
* the live race's final scores (section 7) read ``lstm_val_bpc`` and ``rnn_val_bpc`` from ``live_run.npz``;
* the stored LSTM's validation score (section 8) is the one recorded with its weights.

The code here is independent of the notebook's (its own feature extraction, correlations and passage rule,
the reference LSTM); ``tests/test_stored_demos.py`` checks that the files hold what the notebook's stored
outputs print. Regenerate after new weights or a new race::

    .venv/bin/python -m autograder.experiments.char_lm_stored
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from autograder.experiments.pool import blas_record

FOLDER = Path(__file__).resolve().parents[2] / "solutions" / "09_char_lm"
UNITS = FOLDER / "unit_analysis.npz"
LIVE_RUN = FOLDER / "live_run.npz"
WEIGHTS = FOLDER / "char_lm_lstm.npz"
FEATURES = ("inside a quotation", "position in the line", "position in the word")
SHIFTS, SHIFT_MARGIN = 200, 1000          # circular shifts of the feature, from SHIFT_MARGIN to n - SHIFT_MARGIN
QUOTE_LENGTHS, BEFORE, PASSAGE = (100, 200), 50, 300   # the plotted passage's rule, fixed in advance
LSTM_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


def cell_states(params, ids):
    """The LSTM's cell state after every character of ids, read as one stream from zero: (len(ids), H)."""
    from autograder.reference.charlm import lstm_forward_ids

    H = params["W_hh"].shape[1]
    _, _, cache = lstm_forward_ids(np.asarray(ids)[None, :], np.zeros((1, H)), np.zeros((1, H)),
                                   {k: params[k] for k in LSTM_KEYS})
    return cache["c_states"][1:, 0].copy()


def _since_last(reset):
    """For each position i: i minus the last position <= i where reset holds (-1 when none)."""
    index = np.arange(len(reset))
    return index - np.maximum.accumulate(np.where(reset, index, -1))


def features(text):
    """The three features of lesson 09 for every character of text, as float arrays keyed by FEATURES.

    A quotation mark toggles "inside a quotation" (the mark that opens one is inside, the one that closes it
    is not), and the second line break of a blank line ends it; "position in the line" counts the characters
    since the last line break (0 on a line break), "position in the word" the letters since the last
    character that is not a letter (0 on such a character)."""
    inside, state, previous = np.zeros(len(text)), False, ""
    for i, ch in enumerate(text):
        state = (not state) if ch == '"' else (False if ch + previous == "\n\n" else state)
        inside[i], previous = state, ch
    chars = np.array(list(text))
    letters = np.array([ch.isalpha() for ch in text])
    return {FEATURES[0]: inside, FEATURES[1]: _since_last(chars == "\n").astype(float),
            FEATURES[2]: _since_last(~letters).astype(float)}


def correlations(states, feature):
    """Pearson correlation of each column of states (n, H) with feature (n,) or each column of (n, k)."""
    a = states - states.mean(axis=0)
    b = feature.reshape(len(feature), -1) - feature.mean(axis=0)
    r = (a.T @ b) / np.outer(np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0))
    return r if feature.ndim == 2 else r[:, 0]


def passage(inside):
    """Start of the first quotation of QUOTE_LENGTHS[0]..QUOTE_LENGTHS[1] characters, and its length."""
    change = np.diff(inside.astype(int))
    opens, closes = np.flatnonzero(change == 1) + 1, np.flatnonzero(change == -1) + 1
    for start in opens:
        end = closes[np.searchsorted(closes, start)]
        if QUOTE_LENGTHS[0] <= end - start <= QUOTE_LENGTHS[1]:
            return int(start), int(end - start)
    raise ValueError("no quotation of the wanted length")


def unit_analysis(weights=WEIGHTS, out=UNITS):
    """Compute section 9's unit analysis of the stored LSTM from scratch and save it to out."""
    from autograder.experiments.char_lm import _data
    from rnnkit.text import build_vocab, decode, load_text

    vocab = build_vocab(load_text())
    _, _, val, test = _data(quick=False)
    with np.load(weights) as stored:
        params = {k: stored[k] for k in LSTM_KEYS}
        seed, val_bpc = int(stored["seed"]), float(stored["val_bpc"])
    parts = {"validation": val, "test": test}
    states = {part: cell_states(params, ids) for part, ids in parts.items()}
    feats = {part: features(decode(ids, vocab)) for part, ids in parts.items()}
    offsets = np.linspace(SHIFT_MARGIN, len(test) - SHIFT_MARGIN, SHIFTS).astype(int)
    start, length = passage(feats["test"][FEATURES[0]])
    span = slice(start - BEFORE, start - BEFORE + PASSAGE)
    rows, cell_trace, feature_trace = [], [], []
    for name in FEATURES:
        r_val = correlations(states["validation"], feats["validation"][name])
        unit = int(np.argmax(np.abs(r_val)))
        f_test = feats["test"][name]
        r_test = correlations(states["test"][:, [unit]], f_test)[0]
        shifted = np.stack([np.roll(f_test, k) for k in offsets], axis=1)
        null = np.abs(correlations(states["test"], shifted))                 # (H, shifts)
        best = null.max(axis=0)
        rows.append((unit, r_val[unit], float(r_test), null[unit].max(), np.percentile(null[unit], 95),
                     best.max(), np.percentile(best, 95)))
        cell_trace.append(states["test"][span, unit])
        feature_trace.append(f_test[span])
    np.savez(out, features=np.array(FEATURES), unit=np.array([r[0] for r in rows]),
             r=np.array([r[1:] for r in rows]),    # r_val, r_test, own null max / 95th, best-unit null max / 95th
             share_inside=np.array([feats[p][FEATURES[0]].mean() for p in parts]),
             span=np.array([span.start, span.stop]), quote=np.array([start, length]),
             cell_trace=np.array(cell_trace), feature_trace=np.array(feature_trace),
             seed=seed, val_bpc=val_bpc, blas=json.dumps(blas_record()))   # the kernel it was computed on
    return out


def race_scores(live_run=LIVE_RUN):
    """Add the live race's final validation scores (one stream) to live_run, keeping what it holds."""
    from autograder.experiments.char_lm import _data, bpc

    _, _, val, _ = _data(quick=False)
    with np.load(live_run) as run:
        arrays = {k: run[k] for k in run.files}
    keys = ("W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")
    arrays["lstm_val_bpc"] = np.float64(bpc("lstm", {k: arrays[k] for k in keys}, val))
    arrays["rnn_val_bpc"] = np.float64(bpc("rnn", {k: arrays[f"rnn_{k}"] for k in keys}, val))
    np.savez_compressed(live_run, **arrays)
    return live_run


if __name__ == "__main__":
    print(unit_analysis())
    print(race_scores())
