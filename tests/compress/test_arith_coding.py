"""Arithmetic coding: exact round trips and code length within 2 bits + rounding of
the ideal Σ -log2 p (computed independently in float64)."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mantissa.compress.arith_coding import (
    TOTAL,
    ArithmeticDecoder,
    ArithmeticEncoder,
    binary_freq,
    decode_binary,
    encode_binary,
    ideal_bits,
)
from mantissa.errors import ConfigError


@given(st.lists(st.tuples(st.booleans(), st.floats(0.0, 1.0)), max_size=300))
@settings(max_examples=60, deadline=None)
def test_binary_round_trip(pairs):
    bits = [int(b) for b, _ in pairs]
    p1 = [p for _, p in pairs]
    data = encode_binary(bits, p1)
    assert decode_binary(data, len(bits), lambda k: p1[k]) == bits
    assert 8 * len(data) <= ideal_bits(bits, p1) + 2 + 8  # +2 bits termination, +7 bits byte padding


def test_length_close_to_entropy():
    rng = np.random.default_rng(0)
    p1 = rng.uniform(0.02, 0.98, 20000)
    bits = (rng.uniform(size=20000) < p1).astype(int).tolist()
    data = encode_binary(bits, p1.tolist())
    exact = float(-np.sum(np.where(np.array(bits) == 1, np.log2(p1), np.log2(1 - p1))))
    assert 8 * len(data) == pytest.approx(exact, rel=2e-3)
    assert abs(8 * len(data) - ideal_bits(bits, p1.tolist())) <= 9


def test_multi_symbol_round_trip():
    rng = random.Random(1)
    freqs = [1, 5, 200, 3000, 7, 62323]
    cum = [0]
    for f in freqs:
        cum.append(cum[-1] + f)
    assert cum[-1] == TOTAL
    msg = rng.choices(range(len(freqs)), weights=freqs, k=5000)
    enc = ArithmeticEncoder()
    for s in msg:
        enc.encode(cum[s], cum[s + 1], TOTAL)
    data = enc.finish()
    dec = ArithmeticDecoder(data)
    assert [dec.decode(cum) for _ in msg] == msg
    entropy = -sum(math.log2(freqs[s] / TOTAL) for s in msg)
    assert 8 * len(data) <= entropy + 10


def test_freq_clamping_and_bad_input():
    assert binary_freq(0.0) == 1 and binary_freq(1.0) == TOTAL - 1 and binary_freq(0.5) == TOTAL // 2
    with pytest.raises(ConfigError, match="probability"):
        binary_freq(1.5)
    with pytest.raises(ConfigError, match="cum_low"):
        ArithmeticEncoder().encode(3, 3, 10)
    with pytest.raises(ConfigError, match="probabilities"):
        encode_binary([1, 0], [0.5])
