"""A quantized model turned back into the float layers it came from (for other libraries).

Each quantized layer becomes the kind it replaced — an ``nn.Linear``, or a Hugging Face
``Conv1D`` for a layer marked ``transposed`` — holding the *dequantized* weight, so the
model is a plain ``transformers`` / ``torch`` model whose weights are exactly the
quantized grid values. Activation quantization (``act``) is not part of such a model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from mantissa.quant.conv1d import as_conv1d
from mantissa.quant.layers import QuantLinear
from mantissa.quant.lookup import float_table


def float_layer(layer: QuantLinear) -> nn.Module:
    """The float layer (``nn.Linear``, ``Conv1D`` or ``nn.Embedding``) with ``layer``'s dequantized weight."""
    if layer.lookup is not None:
        return float_table(layer)
    w = layer.dequantized_weight().detach().float()
    bias = None if layer.bias is None else layer.bias.detach().float()
    if layer.transposed:
        return as_conv1d(w, bias)
    lin = nn.Linear(layer.in_features, layer.out_features, bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(w)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


def dequantize_(module: nn.Module) -> nn.Module:
    """Swap every quantized layer of ``module`` for its float layer, in place; returns it."""
    for name, layer in [(n, m) for n, m in module.named_modules() if isinstance(m, QuantLinear)]:
        parent, _, child = name.rpartition(".")
        setattr(module.get_submodule(parent) if parent else module, child, float_layer(layer))
    for mod in module.modules():
        mod.__dict__.pop("mantissa_quant", None)
    return module


def dequantized_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` (a model, or a sentence-transformer) with float layers."""
    return dequantize_(copy.deepcopy(module))
