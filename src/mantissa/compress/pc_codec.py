"""Lossless compression of binary data with a probabilistic circuit and an
arithmetic coder (paper #18, Sec. 4): each bit is coded with its exact
conditional ``p(x_i | x_<i)`` from :meth:`mantissa.compress.circuit.HCLT.conditionals`.

Rows are coded *position-major* (bit ``order[0]`` of every row, then ``order[1]``
...), so the decoder recomputes the conditionals of all rows at one position in
a single batched query whose input is bit-identical to the encoder's; the code
length equals that of coding row by row. The stream starts with the row count
(4 bytes, big-endian). The model itself is not part of the stream (as in the
paper, which reports bits/dimension of the data given the model).
"""

from __future__ import annotations

import struct

import torch

from mantissa.compress.arith_coding import TOTAL, ArithmeticDecoder, ArithmeticEncoder, binary_freq
from mantissa.compress.circuit import HCLT, _check_binary
from mantissa.errors import CorruptFileError
from mantissa.progress import progress


def compress(model: HCLT, x: torch.Tensor) -> bytes:
    """Encode binary rows ``x`` of shape ``(n, model.d)``."""
    x = _check_binary(x, model.d)
    enc = ArithmeticEncoder()
    with progress("PC encode", total=model.d) as bar:
        for t, var in enumerate(model.order):
            with torch.no_grad():
                p1 = model.conditional_at(x, t).tolist()
            for bit, p in zip(x[:, var].tolist(), p1):
                f1 = binary_freq(p)
                enc.encode(*((TOTAL - f1, TOTAL) if bit > 0.5 else (0, TOTAL - f1)), TOTAL)
            bar.advance(1)
    return struct.pack(">I", len(x)) + enc.finish()


def decompress(model: HCLT, data: bytes) -> torch.Tensor:
    """Inverse of :func:`compress`: the ``(n, model.d)`` rows as float64 0/1."""
    if len(data) < 4:
        raise CorruptFileError("PC stream shorter than its 4-byte header")
    (n,) = struct.unpack(">I", data[:4])
    dec = ArithmeticDecoder(data[4:])
    x = torch.zeros(n, model.d, dtype=torch.float64)
    with progress("PC decode", total=model.d) as bar:
        for t, var in enumerate(model.order):
            with torch.no_grad():
                p1 = model.conditional_at(x, t).tolist()
            col = [dec.decode((0, TOTAL - binary_freq(p), TOTAL)) for p in p1]
            x[:, var] = torch.tensor(col, dtype=torch.float64)
            bar.advance(1)
    return x
