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

The reader trusts nothing it is sent (the worker runs a learner's code): one message is at most
:data:`MAX_MESSAGE` bytes on the wire, the archive must be stored uncompressed, and every array's
size, as its ``.npy`` header declares it, must match the bytes actually there before anything is
allocated for it, so a compression bomb, an oversized frame or an array header that claims terabytes
is a :class:`WireError` (for the grader: the worker is gone), never an allocation in the grader.
"""

import io
import json
import os
import struct
import zipfile

import numpy as np

MAX_MESSAGE = 256 * 1024 * 1024  # bytes of one message (header and arrays together): more is a protocol error
MAX_FRAME = MAX_MESSAGE  # (kept for readers of the old name)
MAX_ARRAYS = 100_000  # arrays in one message


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


def _array(raw: bytes, name: str):
    """One ``.npy`` member, its declared size checked against its bytes before it is used."""
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise WireError(f"{name}: unknown array format {version}")
    except (ValueError, TypeError, SyntaxError) as exc:
        raise WireError(f"{name}: not an array ({exc})") from None
    if dtype.hasobject or dtype.kind not in "biufc":
        raise WireError(f"{name}: an array of {dtype} is not plain data")
    count = 1
    for n in shape:
        if not isinstance(n, int) or n < 0:
            raise WireError(f"{name}: a bad shape {shape}")
        count *= n
    data = raw[stream.tell():]
    if count * dtype.itemsize != len(data):
        raise WireError(f"{name}: its header declares {count * dtype.itemsize} bytes, {len(data)} were sent")
    flat = np.frombuffer(data, dtype=dtype, count=count).copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def load_arrays(body: bytes, limit=MAX_MESSAGE) -> list:
    """The arrays of an ``.npz`` body: stored (never compressed) members, ``limit`` bytes in all."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise WireError(f"not an array archive ({exc})") from None
    if len(members) > MAX_ARRAYS:
        raise WireError(f"{len(members)} arrays in one message")
    total, arrays = 0, {}
    for info in members:
        if info.compress_type != zipfile.ZIP_STORED:
            raise WireError(f"{info.filename}: a compressed array (only stored arrays are read)")
        total += info.file_size
        if info.file_size != info.compress_size or total > min(limit, len(body)):
            raise WireError(f"the arrays of one message declare more than {min(limit, len(body))} bytes")
        try:
            with archive.open(info) as fh:
                raw = fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
            raise WireError(f"{info.filename}: unreadable ({exc})") from None
        if len(raw) != info.file_size:
            raise WireError(f"{info.filename}: its size does not match")
        arrays[info.filename] = _array(raw, info.filename)
    try:
        return [arrays[f"arr_{k}.npy"] for k in range(len(arrays))]
    except KeyError as exc:
        raise WireError(f"an array is missing from the message: {exc}") from None


def unpack(header, body, on_other):
    if len(header) + len(body) > MAX_MESSAGE:
        raise WireError(f"a message of {len(header) + len(body)} bytes is over the limit")
    arrays = load_arrays(body)
    try:
        skeleton = json.loads(header)
        if not isinstance(skeleton, dict):
            raise WireError("a message that is not a mapping")
        message = decode(skeleton, arrays, on_other)
    except RecursionError:
        raise WireError("a message nested too deep") from None
    except (TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise WireError(f"a malformed message ({exc})") from None
    if not isinstance(message, dict):
        raise WireError("a message that is not a mapping")
    return message


def write_frame(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd, n, wait=None):
    """``n`` bytes from ``fd``; ``wait(fd)`` blocks until readable or raises (the grader's timeout)."""
    if n > MAX_MESSAGE:
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


def read_frame(fd, wait=None, limit=MAX_MESSAGE):
    """One frame's header and body, ``limit`` bytes at most for both together (checked before reading)."""
    (n,) = struct.unpack(">Q", read_exact(fd, 8, wait))
    if n > limit:
        raise WireError(f"a message of more than {limit} bytes is over the limit")
    header = read_exact(fd, n, wait)
    (m,) = struct.unpack(">Q", read_exact(fd, 8, wait))
    if n + m > limit:
        raise WireError(f"a message of {n + m} bytes is over the limit")
    return header, read_exact(fd, m, wait)
