"""MSE-clipped round-to-nearest: the best-clipped uniform baseline that ShiftAddLLM's
BCQ (You et al., 2024, "ShiftAddLLM", Sec. 3) is compared against.

:func:`rtn_mse` quantizes a weight asymmetrically per (row, group) with the clipping range
searched for the least weight MSE (``int<N>:group=<G>,sym=false,observer=mse``, dequantized);
:func:`rtn_mse_transform` applies it to every selected linear layer of a model copy, for
:func:`mantissa.quant.compare.minilm_end_to_end`; :func:`bcq_rtn_recipes` is the end-to-end
recipe set BCQ is judged against (min-max RTN, MSE-clipped RTN, RTN with group 32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from mantissa.quant import parse_quantizer
from mantissa.quant.api import select_layers


def rtn_mse(w: torch.Tensor, bits: int, group: int) -> torch.Tensor:
    """Asymmetric round-to-nearest per (row, group) with the clipping range searched for the least
    weight MSE (the best-clipped uniform baseline), dequantized."""
    return parse_quantizer(f"int{bits}:group={group},sym=false,observer=mse").fake(w)


def rtn_mse_channel(mod: torch.nn.Linear, bits: int) -> torch.Tensor:
    """:func:`rtn_mse` per output channel (for a layer whose input width the group does not divide)."""
    return parse_quantizer(f"int{bits}:channel,sym=false,observer=mse").fake(mod.weight.detach().float())


def rtn_mse_transform(bits: int, group: int) -> Callable[[Any, str], Any]:
    """An end-to-end transform: every selected linear weight of the copy replaced by :func:`rtn_mse`."""
    def transform(model, include: str):
        names, _ = select_layers(model.model, include=[include])
        with torch.no_grad():
            for name in names:
                mod = model.model.get_submodule(name)
                g = group if mod.in_features % group == 0 else -1
                wq = rtn_mse(mod.weight.detach().float(), bits, g) if g > 0 else rtn_mse_channel(mod, bits)
                mod.weight.copy_(wq.to(mod.weight.dtype))
        return model
    transform.__name__ = f"rtn-mse:bits={bits},group={group} (weight-only, asymmetric)"
    return transform


def bcq_rtn_recipes(bits_list: Sequence[int], group: int) -> dict[str, Any]:
    """BCQ (dense path), RTN (min-max) and MSE-clipped RTN at each width and group size, plus RTN
    with group 32."""
    out: dict[str, Any] = {}
    for bits in bits_list:
        out[f"bcq{bits}"] = f"bcq{bits}:group={group},lut=false"
        out[f"rtn{bits}"] = f"w4-int:bits={bits},group={group}"
        out[f"rtn{bits}_mse"] = rtn_mse_transform(bits, group)
        out[f"rtn{bits}_g32"] = f"w4-int:bits={bits},group=32"
    return out
