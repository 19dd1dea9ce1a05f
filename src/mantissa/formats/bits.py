"""Bit packing: the one place where mantissa packs codes into bytes.

* :func:`pack_bits` / :func:`unpack_bits` — unsigned ``bits``-bit codes
  (``1 <= bits <= 8``) as one flat little-endian stream: code ``i`` occupies
  stream bits ``i·bits .. i·bits + bits − 1``, least significant first, and
  stream bit ``j`` is bit ``j mod 8`` of byte ``j // 8``. The saved quantized
  layers (:mod:`mantissa.quant.layers`) store their codes this way.
* :func:`pack_signs` / :func:`unpack_signs` — rows of signs, one bit per
  element (``x > 0`` is 1), ``width`` bytes per row, zero padded.
  ``order="msb"`` is ``numpy.packbits``' order, which is also
  sentence-transformers' ``ubinary`` and FAISS's binary codes (the index's
  ``binary`` layout); ``order="lsb"`` puts element ``8c + j`` in bit ``j`` of
  byte ``c`` (BCQ's look-up-table kernel, :mod:`mantissa.arith.bcq`).
"""

from __future__ import annotations

import numpy as np
import torch

from mantissa.errors import ConfigError, CorruptFileError, ShapeError

_ORDERS = {"msb": "big", "lsb": "little"}


def pack_bits(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """Pack unsigned codes (< 2**bits) into a flat uint8 stream, little-endian bit order."""
    if not 1 <= bits <= 8:
        raise ConfigError(f"can pack 1..8 bits per code, got {bits}")
    flat = codes.reshape(-1).to(torch.int64)
    if flat.numel() and (int(flat.min()) < 0 or int(flat.max()) >= 1 << bits):
        raise ShapeError(f"codes out of range for {bits}-bit packing")
    if bits == 8:
        return flat.to(torch.uint8)
    n_bits = flat.numel() * bits
    pad = (-n_bits) % 8
    shifts = torch.arange(bits, dtype=torch.int64)
    bitstream = ((flat.unsqueeze(1) >> shifts) & 1).reshape(-1)
    bitstream = torch.cat([bitstream, bitstream.new_zeros(pad)]).reshape(-1, 8)
    return (bitstream << torch.arange(8, dtype=torch.int64)).sum(1).to(torch.uint8)


def unpack_bits(packed: torch.Tensor, bits: int, count: int) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: the first ``count`` codes as int64."""
    if packed.dtype != torch.uint8:
        raise CorruptFileError(f"packed codes must be uint8, got {packed.dtype}")
    if bits == 8:
        out = packed.to(torch.int64)
    else:
        if packed.numel() * 8 < count * bits:
            raise CorruptFileError(f"packed stream holds {packed.numel() * 8} bits, need {count * bits}")
        stream = ((packed.to(torch.int64).unsqueeze(1) >> torch.arange(8)) & 1).reshape(-1)
        stream = stream[: count * bits].reshape(count, bits)
        out = (stream << torch.arange(bits)).sum(1)
    if out.numel() < count:
        raise CorruptFileError(f"packed stream holds {out.numel()} codes, need {count}")
    return out[:count]


def _order(order: str) -> str:
    if order not in _ORDERS:
        raise ConfigError(f"bit order must be 'msb' or 'lsb', got {order!r}")
    return _ORDERS[order]


def pack_signs(x: torch.Tensor, width: int, order: str = "msb") -> torch.Tensor:
    """Bits ``x > 0`` of each row ``(n, d)`` packed into ``width`` bytes per row (zero padded)."""
    n, d = x.shape
    if width * 8 < d:
        raise ShapeError(f"{d} bits per row do not fit in {width} bytes")
    out = np.zeros((n, width), dtype=np.uint8)
    out[:, : -(-d // 8)] = np.packbits(x.detach().cpu().numpy() > 0, axis=1, bitorder=_order(order))
    return torch.from_numpy(out)


_UNPACK = {order: ((torch.arange(256).unsqueeze(1) >> shifts) & 1).to(torch.int8) * 2 - 1
           for order, shifts in (("msb", torch.arange(7, -1, -1)), ("lsb", torch.arange(8)))}


def unpack_signs(codes: torch.Tensor, dim: int, order: str = "msb") -> torch.Tensor:
    """Inverse of :func:`pack_signs`: ``(n, dim)`` int8 of ±1."""
    _order(order)
    n = codes.shape[0]
    return _UNPACK[order][codes.long()].view(n, -1)[:, :dim]
