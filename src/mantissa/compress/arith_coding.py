"""Integer arithmetic coding (Witten, Neal & Cleary, 1987, "Arithmetic coding for
data compression", CACM 30(6)), the entropy coder of paper #18.

A 32-bit interval ``[low, high]`` is narrowed to each symbol's share of the
cumulative frequencies; whenever its leading bits agree they are emitted, and
the "underflow" case (interval straddling the middle) is handled by counting
pending opposite bits. Frequencies are integers with ``total <= 2**16`` so every
symbol keeps a non-empty sub-interval. Code length is within ~2 bits of
``Σ -log2 p(symbol)`` plus the rounding of the probabilities.

:func:`binary_freq` turns a probability of a 1 into the integer frequency both the
encoder and the decoder must use; :func:`encode_binary` / :func:`decode_binary`
code a bit sequence with per-bit probabilities (the decoder asks a callback for
each probability, so it can depend on the bits decoded so far).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mantissa.errors import ConfigError, CorruptFileError

PRECISION = 32
_FULL = (1 << PRECISION) - 1
_HALF = 1 << (PRECISION - 1)
_QUARTER = 1 << (PRECISION - 2)
TOTAL_BITS = 16
TOTAL = 1 << TOTAL_BITS


class ArithmeticEncoder:
    """``encode(cum_low, cum_high, total)`` per symbol, then ``finish() -> bytes``."""

    def __init__(self) -> None:
        self.low, self.high, self.pending = 0, _FULL, 0
        self.bits: list[int] = []

    def _emit(self, bit: int) -> None:
        self.bits.append(bit)
        if self.pending:
            self.bits.extend([1 - bit] * self.pending)
            self.pending = 0

    def encode(self, cum_low: int, cum_high: int, total: int) -> None:
        if not 0 <= cum_low < cum_high <= total <= TOTAL:
            raise ConfigError(f"need 0 <= cum_low < cum_high <= total <= {TOTAL}, "
                              f"got {cum_low}, {cum_high}, {total}")
        span = self.high - self.low + 1
        self.high = self.low + span * cum_high // total - 1
        self.low = self.low + span * cum_low // total
        while True:
            if self.high < _HALF:
                self._emit(0)
            elif self.low >= _HALF:
                self._emit(1)
                self.low -= _HALF
                self.high -= _HALF
            elif self.low >= _QUARTER and self.high < 3 * _QUARTER:
                self.pending += 1
                self.low -= _QUARTER
                self.high -= _QUARTER
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1

    def finish(self) -> bytes:
        self.pending += 1
        self._emit(0 if self.low < _QUARTER else 1)
        return np.packbits(np.asarray(self.bits, dtype=np.uint8)).tobytes()


class ArithmeticDecoder:
    """Reads what :class:`ArithmeticEncoder` wrote; ``decode(cum) -> symbol`` where
    ``cum`` is the cumulative frequency list ``[0, f0, f0+f1, ..., total]``."""

    def __init__(self, data: bytes) -> None:
        self.bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tolist()
        self.pos = 0
        self.low, self.high = 0, _FULL
        self.value = 0
        for _ in range(PRECISION):
            self.value = 2 * self.value + self._next()

    def _next(self) -> int:
        bit = self.bits[self.pos] if self.pos < len(self.bits) else 0
        self.pos += 1
        return bit

    def decode(self, cum: Sequence[int]) -> int:
        total = cum[-1]
        span = self.high - self.low + 1
        scaled = ((self.value - self.low + 1) * total - 1) // span
        sym = next((s for s in range(len(cum) - 1) if cum[s] <= scaled < cum[s + 1]), None)
        if sym is None:
            raise CorruptFileError("arithmetic-coded stream is corrupt (value outside every symbol)")
        self.high = self.low + span * cum[sym + 1] // total - 1
        self.low = self.low + span * cum[sym] // total
        while True:
            if self.high < _HALF:
                pass
            elif self.low >= _HALF:
                self.low -= _HALF
                self.high -= _HALF
                self.value -= _HALF
            elif self.low >= _QUARTER and self.high < 3 * _QUARTER:
                self.low -= _QUARTER
                self.high -= _QUARTER
                self.value -= _QUARTER
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1
            self.value = 2 * self.value + self._next()
        return sym


def binary_freq(p1: float) -> int:
    """Integer frequency (out of :data:`TOTAL`) of a 1, clamped to ``[1, TOTAL-1]``."""
    if not 0.0 <= p1 <= 1.0:
        raise ConfigError(f"a probability must be in [0, 1], got {p1}")
    return min(max(int(round(p1 * TOTAL)), 1), TOTAL - 1)


def encode_binary(bits: Sequence[int], p1: Sequence[float]) -> bytes:
    """Code ``bits[k]`` with probability of a 1 ``p1[k]``."""
    if len(bits) != len(p1):
        raise ConfigError(f"got {len(bits)} bits but {len(p1)} probabilities")
    enc = ArithmeticEncoder()
    for b, p in zip(bits, p1):
        f1 = binary_freq(float(p))
        if b:
            enc.encode(TOTAL - f1, TOTAL, TOTAL)
        else:
            enc.encode(0, TOTAL - f1, TOTAL)
    return enc.finish()


def decode_binary(data: bytes, n: int, p1_of: Callable[[int], float]) -> list[int]:
    """Decode ``n`` bits; ``p1_of(k)`` gives the probability of a 1 for bit ``k`` (it may
    look at the bits already decoded)."""
    dec = ArithmeticDecoder(data)
    out = []
    for k in range(n):
        f1 = binary_freq(float(p1_of(k)))
        out.append(dec.decode((0, TOTAL - f1, TOTAL)))
    return out


def ideal_bits(bits: Sequence[int], p1: Sequence[float]) -> float:
    """``Σ -log2 p(bit)`` with the quantised probabilities the coder actually uses."""
    f1 = np.array([binary_freq(float(p)) for p in p1], dtype=np.float64)
    b = np.asarray(bits)
    p = np.where(b == 1, f1, TOTAL - f1) / TOTAL
    return float(-np.log2(p).sum())
