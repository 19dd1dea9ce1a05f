"""formats.bits: the k-bit code stream and the sign rows, against independent references
(a pure-Python bit stream, numpy.packbits / unpackbits in both bit orders)."""

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError, CorruptFileError, ShapeError
from mantissa.formats.bits import pack_bits, pack_signs, unpack_bits, unpack_signs


def _reference_stream(codes: list[int], bits: int) -> list[int]:
    stream = [(c >> i) & 1 for c in codes for i in range(bits)]
    stream += [0] * (-len(stream) % 8)
    return [sum(stream[8 * b + j] << j for j in range(8)) for b in range(len(stream) // 8)]


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 7, 8])
def test_pack_bits_matches_a_python_stream_and_round_trips(bits):
    codes = torch.randint(0, 1 << bits, (1001,), generator=torch.Generator().manual_seed(bits))
    packed = pack_bits(codes, bits)
    assert packed.dtype == torch.uint8 and packed.numel() == -(-1001 * bits // 8)
    assert packed.tolist() == _reference_stream(codes.tolist(), bits)
    assert torch.equal(unpack_bits(packed, bits, 1001), codes)


def test_pack_bits_rejects_bad_input():
    with pytest.raises(ShapeError):
        pack_bits(torch.tensor([16]), 4)
    with pytest.raises(ConfigError):
        pack_bits(torch.tensor([1]), 9)
    with pytest.raises(CorruptFileError):
        unpack_bits(torch.zeros(3, dtype=torch.uint8), 4, 100)
    with pytest.raises(CorruptFileError):
        unpack_bits(torch.zeros(3, dtype=torch.int8), 4, 2)


@pytest.mark.parametrize("order, numpy_order", [("msb", "big"), ("lsb", "little")])
@pytest.mark.parametrize("dim", [8, 13, 384])
def test_sign_rows_match_numpy(order, numpy_order, dim):
    x = torch.randn(7, dim, generator=torch.Generator().manual_seed(dim))
    width = 8 * -(-dim // 64)
    packed = pack_signs(x, width, order=order)
    ref = np.packbits(x.numpy() > 0, axis=1, bitorder=numpy_order)
    assert packed.shape == (7, width)
    assert np.array_equal(packed[:, : ref.shape[1]].numpy(), ref) and not packed[:, ref.shape[1]:].any()
    signs = unpack_signs(packed, dim, order=order)
    assert torch.equal(signs, torch.where(x > 0, 1, -1).to(torch.int8))


def test_sign_rows_reject_a_short_width_and_an_unknown_order():
    with pytest.raises(ShapeError):
        pack_signs(torch.ones(2, 17), 2)
    with pytest.raises(ConfigError):
        pack_signs(torch.ones(2, 8), 1, order="middle")
