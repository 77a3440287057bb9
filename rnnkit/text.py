"""Lesson 09's text: Jane Austen's *Persuasion* (1818), shipped in ``rnnkit/texts/`` (offline).

- :func:`load_text`: the novel as one string (466,854 characters, 75 distinct);
- :func:`build_vocab`, :func:`encode`, :func:`decode`: the vocabulary is the sorted list of the
  distinct characters, and a character's id is its position in that list;
- :func:`split_ids`: contiguous train / validation / test parts (90 / 5 / 5 by default): the
  validation and test parts are later passages of the novel, never seen in training;
- :func:`bptt_batches`: batches for truncated backpropagation through time over a continuous text.
  The text is cut into N parallel streams, each a contiguous slice; batch k holds the k-th window of
  T characters of every stream, so row n of batch k+1 continues exactly where row n of batch k
  ended, and a recurrent state carried from one batch to the next stays meaningful (the sequential
  partitioning of Karpathy's char-rnn and of d2l's language models);
- :func:`one_hot`: ids (N, T) as one-hot vectors (N, T, V), the networks' input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["TEXTS", "bptt_batches", "build_vocab", "decode", "encode", "load_text", "one_hot", "split_ids"]

TEXTS = Path(__file__).with_name("texts")


def load_text(name="persuasion"):
    """The text ``rnnkit/texts/<name>.txt`` as one string (see ``rnnkit/texts/README.md``)."""
    return (TEXTS / f"{name}.txt").read_text(encoding="utf-8")


def build_vocab(text):
    """The sorted list of the distinct characters of ``text``; a character's id is its index."""
    return sorted(set(text))


def encode(text, vocab):
    """Character ids of ``text`` (int64 array of len(text)); every character must be in ``vocab``."""
    index = {ch: i for i, ch in enumerate(vocab)}
    return np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))


def decode(ids, vocab):
    """The string whose character ids are ``ids`` (any integer sequence)."""
    return "".join(vocab[int(i)] for i in ids)


def split_ids(ids, fractions=(0.9, 0.05, 0.05)):
    """Contiguous train / validation / test parts of ``ids``, in this order (no shuffling).

    The part lengths are floor(fraction * len(ids)) for train and validation; test gets the rest.
    Returns three arrays (views of ``ids``).
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers that sum to 1, got {fractions}")
    n = len(ids)
    n_train = int(fractions[0] * n)
    n_val = int(fractions[1] * n)
    return ids[:n_train], ids[n_train : n_train + n_val], ids[n_train + n_val :]


def bptt_batches(ids, batch_size, seq_len, drop_last=True):
    """Batches (x, y) for truncated BPTT over the continuous text ``ids``; y is x shifted by one.

    With N = batch_size, the first N·L + 1 ids, L = (len(ids) - 1) // N, are used: stream n is
    ids[n·L : (n+1)·L] (inputs) and ids[n·L + 1 : (n+1)·L + 1] (targets), and batch k is columns
    k·T ... k·T + T - 1 of the streams (T = seq_len). Row n of batch k+1 therefore continues row n
    of batch k. ``drop_last``: skip a last batch shorter than T (training); False keeps it, so that
    every one of the N·L targets is predicted exactly once (evaluation).

    Yields x (N, T) and y (N, T), int arrays (the last one (N, T') with T' < T when not dropped).
    """
    ids = np.asarray(ids)
    if batch_size < 1 or seq_len < 1:
        raise ValueError("batch_size and seq_len must be at least 1")
    L = (len(ids) - 1) // batch_size
    if L < 1:
        raise ValueError(f"a text of {len(ids)} characters is too short for {batch_size} streams")
    x = ids[: batch_size * L].reshape(batch_size, L)
    y = ids[1 : batch_size * L + 1].reshape(batch_size, L)
    for start in range(0, L, seq_len):
        stop = min(start + seq_len, L)
        if drop_last and stop - start < seq_len:
            break
        yield x[:, start:stop], y[:, start:stop]


def one_hot(ids, V):
    """One-hot float64 vectors: ids of any shape S (integers in [0, V)) -> array of shape S + (V,)."""
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (V,), dtype=np.float64)
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out
