"""nn.Embedding tables quantized per row by the recipes that can (mantissa.quant.lookup)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from mantissa.quant import load_quantized, quantize, save_quantized
from mantissa.quant.dequantize import dequantized_copy
from mantissa.quant.saving import size_on_disk


class Bag(nn.Module):
    """A big embedding table and a small projection: the table is most of the bytes."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(1000, 64, padding_idx=0)
        self.proj = nn.Linear(64, 64)

    def forward(self, ids):
        return self.proj(self.emb(ids))


@pytest.mark.parametrize("spec,levels", [("int8", 255), ("w4-int:group=32", 15), ("fp8", 256)])
def test_tables_are_quantized_per_row(spec, levels):
    m = Bag()
    ids = torch.randint(0, 1000, (4, 9))
    ref = m.emb(ids)
    quantize(m, spec)
    table = m.emb.dequantized_weight()
    assert torch.equal(m.emb(ids), table[ids])
    assert torch.all(m.emb(torch.tensor([0])) == 0)  # the padding row stays zero
    assert max(len(row.unique()) for row in table.reshape(1000, -1, 32 if "group" in spec else 64)
               .flatten(0, 1)) <= levels
    rel = (m.emb(ids) - ref).norm() / ref.norm()
    assert 0 < rel < (0.01 if spec == "int8" else 0.2)


def test_recipes_without_tables_name_them():
    with pytest.warns(UserWarning, match=r"emb \(Embedding\)"):
        quantize(Bag(), "int8-outlier")


def test_saved_size_counts_the_table(tmp_path):
    sizes = {}
    for spec in ("int8", "w4-int:group=32"):
        m = Bag()
        quantize(m, spec)
        sizes[spec] = size_on_disk(save_quantized(m, tmp_path / spec.replace(":", "_")))
    float_bytes = sum(p.numel() * 4 for p in Bag().parameters())
    assert sizes["w4-int:group=32"] < 0.6 * sizes["int8"] < 0.6 * 0.3 * float_bytes
    again = load_quantized(tmp_path / "int8", model=Bag())
    ids = torch.randint(0, 1000, (2, 5))
    m = Bag()
    quantize(m, "int8")
    assert torch.equal(again(ids), m(ids))


def test_dequantized_copy_is_a_plain_embedding():
    m = Bag()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize(m, "w4-int:group=32")
    plain = dequantized_copy(m)
    assert type(plain.emb) is nn.Embedding and plain.emb.padding_idx == 0
    ids = torch.randint(0, 1000, (3, 4))
    assert torch.equal(plain(ids), m(ids))
    assert set(plain.state_dict()) == set(Bag().state_dict()) == set(m.state_dict())
