"""Extract Jane Austen's novels from Debian's ``r-cran-janeaustenr`` (how ``persuasion.txt`` was made).

Usage::

    apt-get download r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_1.0.0-1_all.deb pkg
    python extract_austen.py pkg/usr/lib/R/site-library/janeaustenr/data OUTDIR

The package keeps each novel as an R character vector (one element per printed line) in R's
lazy-load database: ``Rdata.rdx`` (a gzip-compressed serialised index: object name -> offset and
length in ``Rdata.rdb``) and ``Rdata.rdb`` (blocks of a 4-byte big-endian length and zlib data, each
an object serialised in R's XDR format). This reader handles the few types these files use.
Each novel is written as ``OUTDIR/<name>.txt``: its lines joined by newlines, plus a final newline.
Not part of the course's code: kept only to record where the text came from.
"""

import gzip
import pathlib
import struct
import sys
import zlib

NILVALUE, GLOBALENV, EMPTYENV, REF = 254, 253, 242, 255
SYM, LIST, CHAR, LGL, INT, REAL, STR, VEC = 1, 2, 9, 10, 13, 14, 16, 19


class Reader:
    """A reader of R's XDR serialisation (versions 2 and 3) for symbols, pairlists and vectors."""

    def __init__(self, data):
        assert data[:2] == b"X\n", "not an XDR-serialised R object"
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.int()  # the R version that wrote it
        self.int()  # the oldest R version that can read it
        if version == 3:
            n = self.int()  # the native encoding's name: its length, then the name
            self.pos += n

    def int(self):
        (value,) = struct.unpack(">i", self.data[self.pos : self.pos + 4])
        self.pos += 4
        return value

    def double(self):
        (value,) = struct.unpack(">d", self.data[self.pos : self.pos + 8])
        self.pos += 8
        return value

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind in (NILVALUE, GLOBALENV, EMPTYENV):
            return None
        if kind == REF:
            return self.refs[(flags >> 8) - 1]
        if kind == SYM:
            name = self.item()
            self.refs.append(name)
            return name
        if kind == CHAR:
            n = self.int()
            if n == -1:  # NA_character_
                return None
            text = self.data[self.pos : self.pos + n].decode("utf-8")
            self.pos += n
            return text
        if kind == LIST:  # a pairlist: [(tag, value), ...]
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            head, rest = self.item(), self.item()
            return [(tag, head)] + (rest if isinstance(rest, list) else [])
        n = self.int()
        if kind in (STR, VEC):
            values = [self.item() for _ in range(n)]
        elif kind in (INT, LGL):
            values = [self.int() for _ in range(n)]
        elif kind == REAL:
            values = [self.double() for _ in range(n)]
        else:
            raise ValueError(f"R type {kind} is not handled")
        if has_attr:
            attributes = dict(self.item())
            if kind == VEC and attributes.get("names"):
                return dict(zip(attributes["names"], values, strict=True))
        return values


def main(src, out):
    src, out = pathlib.Path(src), pathlib.Path(out)
    index = Reader(gzip.decompress((src / "Rdata.rdx").read_bytes())).item()
    database = (src / "Rdata.rdb").read_bytes()
    for name, (offset, length) in index["variables"].items():
        block = database[offset : offset + length]
        (size,) = struct.unpack(">I", block[:4])
        data = zlib.decompress(block[4:])
        assert len(data) == size
        lines = Reader(data).item()
        text = "\n".join("" if line is None else line for line in lines) + "\n"
        (out / f"{name}.txt").write_text(text, encoding="utf-8")
        print(f"{name}: {len(lines)} lines, {len(text.encode())} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:3])
