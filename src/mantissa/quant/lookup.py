"""A quantized layer used as an embedding table: rows are tokens, one scale per row.

An ``nn.Embedding`` of ``n`` rows and ``d`` dimensions is stored like the weight of an
``nn.Linear(d, n)`` — integer or float codes with one scale per row (or per group of
columns) — and looked up instead of multiplied (``QuantLinear.lookup``). Saving, the
state-dict keys (``weight``) and the Hugging Face export treat it like the table it replaced.
"""

from __future__ import annotations

from torch import nn

from mantissa.quant.layers import QuantLinear


def as_lookup(layer: QuantLinear, table: nn.Embedding) -> QuantLinear:
    """``layer`` (quantized from ``table.weight``, no activation quantizer) as a lookup table."""
    layer.lookup = {"padding_idx": table.padding_idx}
    return layer


def float_table(layer: QuantLinear) -> nn.Embedding:
    """The ``nn.Embedding`` holding ``layer``'s dequantized rows."""
    lookup = layer.lookup or {}
    weight = layer.dequantized_weight().detach().float()
    return nn.Embedding.from_pretrained(weight, freeze=False, padding_idx=lookup.get("padding_idx"))
