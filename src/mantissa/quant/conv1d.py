"""Hugging Face ``Conv1D`` (GPT-2's projections) as a transposed ``nn.Linear``, and back.

``Conv1D(nf, nx)`` holds its weight as (in, out) and computes ``x @ W + b``; that is
``nn.Linear`` with the weight transposed. The recipes quantize the Linear view; the
quantized layer remembers (``transposed``) so that its ``state_dict`` and the Hugging Face
export write the weight back in the (in, out) layout.
"""

from __future__ import annotations

import torch
from torch import nn


def is_conv1d(module: nn.Module) -> bool:
    """Whether ``module`` is ``transformers``' ``Conv1D`` (checked without importing transformers)."""
    kind = type(module)
    return kind.__name__ == "Conv1D" and kind.__module__.startswith("transformers")


def linear_view(conv: nn.Module) -> nn.Linear:
    """An ``nn.Linear`` computing the same map as the ``Conv1D`` ``conv`` (weights copied)."""
    n_in, n_out = conv.weight.shape
    lin = nn.Linear(n_in, n_out, bias=conv.bias is not None)
    with torch.no_grad():
        lin.weight.copy_(conv.weight.T)
        if conv.bias is not None:
            lin.bias.copy_(conv.bias)
    return lin


def as_conv1d(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    """A ``transformers`` ``Conv1D`` holding the (out, in) ``weight`` transposed and ``bias``."""
    from transformers.pytorch_utils import Conv1D

    n_out, n_in = weight.shape
    conv = Conv1D(n_out, n_in)
    with torch.no_grad():
        conv.weight.copy_(weight.T)
        conv.bias.copy_(bias if bias is not None else torch.zeros(n_out))  # Conv1D always adds one
    return conv
