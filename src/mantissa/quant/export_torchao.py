"""``--export torchao``: a quantized model as a Hugging Face folder of torchao tensors.

The layers torchao has a CPU layout for go through ``torchao.quantization.quantize_`` with
mantissa's *own* codes and scales (torchao's constructors take a given scale and re-round the
dequantized weight onto exactly the same codes), so the folder computes what mantissa computes:

* int8 weights, one scale per output channel (or per group), weight-only
  (``int8:act_bits=0``) → ``Int8Tensor`` (``Int8WeightOnlyConfig``);
* int8 weights per channel and int8 activations per token (``int8``) → ``Int8Tensor`` with
  dynamic activation quantization (``Int8DynamicActivationInt8WeightConfig``). The weights are
  mantissa's; the activations are rounded by torchao, on its own grid (``absmax / 127.5``,
  codes in [-128, 127]; mantissa: ``absmax / 127``, [-127, 127]). Per-token rounding is scale
  invariant, so no input pre-scale can make the grids agree: outputs differ by that rounding;
* 2..7-bit weight-only integers with group scales (``w4-int``) → ``IntxUnpackedToInt8Tensor``
  (``IntxWeightOnlyConfig``).

The model is saved by ``transformers`` itself with a ``TorchAoConfig`` in ``config.json``
and torchao's flattened tensors in ``model.safetensors``, so
``AutoModel.from_pretrained(path)`` (with torchao installed) or ``SentenceTransformer(path)``
reloads it. Layers without a torchao layout (embedding tables, GPT-2's ``Conv1D``, other
recipes' layers) are written as float with their dequantized weights and named in a warning;
a model with none at all is refused.
"""

from __future__ import annotations

import copy
import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mantissa.data.minilm import quiet_torchao
from mantissa.errors import ConfigError, require
from mantissa.quant.api import module_of
from mantissa.quant.dequantize import dequantize_
from mantissa.quant.encoders import is_sentence_transformer, st_transformer
from mantissa.quant.export_hf import quantized_module, write_export
from mantissa.quant.layers import IntLinear, IntPerToken, QuantLinear
from mantissa.quant.recipes import Recipe
from mantissa.quant.select import select_layers


def export_torchao(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write the quantized ``model`` as a Hugging Face folder of torchao tensors at ``path``
    (replacing only one of mantissa quantize's own outputs, like :func:`export_hf`)."""
    module = quantized_module(model, "torchao")
    layers = _layouts(module)
    if any(m.act.kind != "none" for m in layers.values()):
        warnings.warn("--export torchao: torchao rounds the activations itself, per token on its own grid "
                      "(absmax / 127.5, codes -128..127; mantissa: absmax / 127, -127..127), so the folder's "
                      "outputs differ from mantissa's by that rounding (weights and weight-only recipes are "
                      "exact)", stacklevel=2)
    return write_export(model, path, lambda m: torchao_copy(m, layers), "torchao",
                        "torchao tensors (transformers TorchAoConfig) holding mantissa's codes and scales")


def check_recipe(recipe: Recipe) -> None:
    """Refuse, before any work, a recipe torchao has no CPU layout for, or a missing torchao."""
    ok = ((recipe.name == "int8" and recipe.act_bits in (0, 8))
          or (recipe.name == "w4-int" and recipe.act_bits == 0))
    if not ok:
        raise ConfigError(f"--export torchao takes the recipes torchao has a CPU layout for: int8 (W8A8), "
                          f"int8:act_bits=0 and weight-only w4-int; not {recipe.spec()!r} (use --export hf)")
    quiet_torchao()
    require("torchao.quantization", "bench")


def check_model(model: Any, include: Sequence[str] = ("*",), exclude: Sequence[str] = ()) -> None:
    """Refuse, before quantizing, a model in which the recipe would swap no ``nn.Linear`` (GPT-2's
    projections are ``Conv1D``: torchao's layouts hold Linear weights only)."""
    module = module_of(model)
    names, _ = select_layers(module, include, exclude)
    if not any(type(module.get_submodule(n)) is nn.Linear for n in names):
        raise ConfigError(f"a {type(module).__name__} has no nn.Linear layer to quantize here (torchao's "
                          "layouts hold nn.Linear weights; GPT-2's projections are Conv1D); use --export hf")


def torchao_copy(model: nn.Module, layers: dict[str, QuantLinear]) -> nn.Module:
    """A float copy of ``model`` (a ``PreTrainedModel`` or a sentence-transformer) whose ``layers``
    (by name in the transformers model) hold torchao tensors, ready for ``save_pretrained``."""
    new = dequantize_(copy.deepcopy(model))
    hf = st_transformer(new) if is_sentence_transformer(new) else new
    apply_torchao(hf, layers)
    return new


def torchao_weight(layer: QuantLinear) -> torch.Tensor | None:
    """``layer``'s weight as a torchao tensor with its own codes and scales; None when torchao
    has no CPU layout for it."""
    kind = layout(layer)
    return None if kind is None else (_int8 if kind == "int8" else _intx)(layer)


def layout(layer: QuantLinear) -> str | None:
    """``"int8"`` (``Int8Tensor``), ``"intx"`` (``IntxUnpackedToInt8Tensor``) or None (no torchao layout)."""
    if type(layer) is not IntLinear or layer.transposed:
        return None
    weight_only = layer.act.kind == "none"
    w8a8 = type(layer.act) is IntPerToken and layer.act.bits == 8 and layer.group == 0
    if layer.bits == 8 and (weight_only or w8a8):
        return "int8"
    return "intx" if layer.bits < 8 and weight_only else None


def _int8(layer: IntLinear) -> torch.Tensor:
    from torchao.quantization import PerGroup, PerRow
    from torchao.quantization.quantize_.workflows.int8.int8_tensor import (
        Int8Tensor,
        QuantizeTensorToInt8Kwargs,
    )

    granularity = PerGroup(layer.group) if layer.group else PerRow()
    scale = layer.scales.reshape(layer.out_features, -1)
    act = QuantizeTensorToInt8Kwargs(granularity=PerRow()) if layer.act.kind != "none" else None
    return Int8Tensor.from_hp(layer.dequantized_weight(), granularity, scale=scale, act_quant_kwargs=act)


def _intx(layer: IntLinear) -> torch.Tensor:
    from torchao.quantization.quantize_.workflows.intx.intx_unpacked_to_int8_tensor import (
        IntxUnpackedToInt8Tensor,
    )

    scale = layer.scales.reshape(layer.out_features, -1)
    return IntxUnpackedToInt8Tensor.from_hp(
        layer.dequantized_weight(), (1, layer.group or layer.in_features), getattr(torch, f"int{layer.bits}"),
        intx_choose_qparams_algorithm=None, custom_scale=scale,
        custom_zero_point=torch.zeros_like(scale, dtype=torch.int8))


def _layouts(module: nn.Module) -> dict[str, QuantLinear]:
    """The quantized layers of ``module`` that torchao can hold; the others are named in a
    warning, and a model with none is refused."""
    layers = {n: m for n, m in module.named_modules() if isinstance(m, QuantLinear)}
    kept = {n: m for n, m in layers.items() if layout(m) is not None}
    if all(m.lookup is not None for m in kept.values()):  # embedding tables alone are not an export
        recipe = module.mantissa_quant["recipe"]
        raise ConfigError(f"recipe {recipe!r} on a {type(module).__name__} leaves no layer "
                          "torchao has a CPU layout for (int8 per channel, W8A8 per channel/token, "
                          "2..7-bit weight-only integers on nn.Linear); use --export hf")
    left = sorted(set(layers) - set(kept))
    if left:
        warnings.warn(f"--export torchao: {len(left)} quantized layers have no torchao layout and are saved "
                      f"as float with their dequantized weights: {', '.join(left)}", stacklevel=3)
    return kept


def apply_torchao(hf: nn.Module, layers: dict[str, QuantLinear]) -> None:
    """Run ``quantize_`` on the float ``hf`` model: each Linear named in ``layers`` gets that
    layer's torchao weight; ``hf`` is marked as a torchao model for ``save_pretrained``."""
    transformers = require("transformers", "real")
    torchao = require("torchao.quantization", "bench")
    weights = {name: torchao_weight(layer) for name, layer in layers.items()}
    by_module = {id(hf.get_submodule(name)): w for name, w in weights.items()}
    torchao.quantize_(hf, _given_weights()(by_module), filter_fn=lambda m, fqn: fqn in weights)
    tables = any(layer.lookup is not None for layer in layers.values())
    config = transformers.TorchAoConfig(_torchao_config([m for m in layers.values() if m.lookup is None]),
                                        modules_to_not_convert=_float_linears(hf, weights) or None,
                                        include_input_output_embeddings=tables)
    from transformers.quantizers.auto import AutoHfQuantizer

    hf.config.quantization_config = config
    hf.hf_quantizer = AutoHfQuantizer.from_config(config, pre_quantized=True)


def _float_linears(hf: nn.Module, quantized: dict[str, Any]) -> list[str]:
    return [n for n, m in hf.named_modules() if isinstance(m, nn.Linear) and n not in quantized]


def _torchao_config(layers: Any) -> Any:
    """The torchao config that ``config.json`` records (the layers' own scales are in the tensors)."""
    import torchao.quantization as tq

    first = next(iter(layers))
    if first.bits == 8:
        return (tq.Int8DynamicActivationInt8WeightConfig() if first.act.kind != "none"
                else tq.Int8WeightOnlyConfig())
    granularity = tq.PerGroup(first.group) if first.group else tq.PerAxis(0)
    return tq.IntxWeightOnlyConfig(weight_dtype=getattr(torch, f"int{first.bits}"), granularity=granularity)


@functools.cache
def _given_weights() -> type:
    """A ``quantize_`` config whose handler gives each Linear its prepared torchao weight (looked
    up by module id); registered with torchao on first use, so torchao is imported only then."""
    from torchao.core.config import AOBaseConfig
    from torchao.quantization.transform_module import register_quantize_module_handler

    @dataclass
    class GivenWeights(AOBaseConfig):
        weights: dict[int, torch.Tensor] = field(default_factory=dict)

    @register_quantize_module_handler(GivenWeights)
    def _give(module: nn.Module, config: GivenWeights) -> nn.Module:
        module.weight = nn.Parameter(config.weights[id(module)], requires_grad=False)
        return module

    return GivenWeights
