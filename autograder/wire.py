"""Plain-data messages between the grader and a sandboxed worker that runs a learner's code.

Self-contained on purpose (numpy and the standard library only): the worker runs this module's
source text, never an import of ``autograder``. A message is a JSON skeleton plus numeric arrays in
an ``.npz`` archive, loaded with ``allow_pickle=False``, so nothing the other side sends can run
code or fake a comparison. Values that are not plain data stay on the side that owns them:

- a learner's object that is not plain data (a cache of some custom class) becomes a *handle*,
  a number the worker keeps; sending the handle back gives the worker its object again;
- a grader's callable (the function a numeric gradient is taken of) becomes a *callback*: the
  worker asks the grader to evaluate it on plain data and waits for the answer.

Frame: 8-byte big-endian length of the JSON header, the header, 8-byte length of the npz, the npz.
"""

import io
import json
import os
import struct

import numpy as np

MAX_FRAME = 256 * 1024 * 1024  # bytes in one message: more is a protocol error


class WireError(Exception):
    """A message that is not well formed, too large, or a peer that went away."""


class Handle:
    """A value that stays in the worker (``kind`` is its type name, for messages)."""

    def __init__(self, ident, kind):
        self.ident, self.kind = ident, kind

    def __repr__(self):
        return f"<{self.kind} object>"


def encode(value, arrays, on_other):
    """JSON-able skeleton of ``value``; arrays go to ``arrays``; ``on_other(v)`` encodes the rest."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int) and not isinstance(value, np.integer):
        return value if abs(value) < 2**53 else {"__big__": str(value)}
    if isinstance(value, float) and not isinstance(value, np.floating):
        return {"__float__": repr(value)}  # keeps nan/inf and every bit
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
            return on_other(value)
        arrays.append(np.array(arr, copy=True))
        return {"__nd__": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple | list):
        items = [encode(v, arrays, on_other) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, arrays, on_other) for k, v in value.items()}}
    return on_other(value)


def decode(skeleton, arrays, on_other):
    """The inverse of :func:`encode`; ``on_other(tag, payload)`` decodes handles and callbacks."""
    if isinstance(skeleton, list):
        return [decode(v, arrays, on_other) for v in skeleton]
    if not isinstance(skeleton, dict):
        return skeleton
    if "__nd__" in skeleton:
        arr = arrays[int(skeleton["__nd__"])].copy()
        return arr[()] if skeleton.get("scalar") else arr
    if "__float__" in skeleton:
        return float(skeleton["__float__"])
    if "__big__" in skeleton:
        return int(skeleton["__big__"])
    if "__tuple__" in skeleton:
        return tuple(decode(v, arrays, on_other) for v in skeleton["__tuple__"])
    if "__dict__" in skeleton:
        return {k: decode(v, arrays, on_other) for k, v in skeleton["__dict__"].items()}
    for tag in ("__handle__", "__callback__"):
        if tag in skeleton:
            return on_other(tag, skeleton)
    raise WireError(f"unknown value in a message: {sorted(skeleton)[:3]}")


def pack(message, on_other):
    """Bytes of one frame for ``message`` (a dict whose values may hold arrays)."""
    arrays = []
    header = json.dumps(encode(message, arrays, on_other)).encode()
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    body = buffer.getvalue()
    return struct.pack(">Q", len(header)) + header + struct.pack(">Q", len(body)) + body


def unpack(header, body, on_other):
    with np.load(io.BytesIO(body), allow_pickle=False) as archive:
        arrays = [archive[f"arr_{k}"] for k in range(len(archive.files))]
    return decode(json.loads(header), arrays, on_other)


def write_frame(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd, n, wait=None):
    """``n`` bytes from ``fd``; ``wait(fd)`` blocks until readable or raises (the grader's timeout)."""
    if n > MAX_FRAME:
        raise WireError(f"a message of {n} bytes is over the limit")
    chunks, left = [], n
    while left:
        if wait is not None:
            wait(fd)
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd, wait=None):
    (n,) = struct.unpack(">Q", read_exact(fd, 8, wait))
    header = read_exact(fd, n, wait)
    (m,) = struct.unpack(">Q", read_exact(fd, 8, wait))
    return header, read_exact(fd, m, wait)
