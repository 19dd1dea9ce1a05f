"""``quantize(model, recipe)``: swap the matching layers of any ``nn.Module`` in place.

>>> from mantissa.data import load_minilm
>>> m = quantize(load_minilm(), "int8")          # doctest: +SKIP
>>> m.encode(["a quantized sentence"]).shape     # doctest: +SKIP
torch.Size([1, 384])

``model`` is any ``nn.Module`` (a ``transformers`` ``PreTrainedModel`` of any head,
mantissa's own transformers), a ``SentenceTransformer`` (its transformer is quantized
in place) or a wrapper with ``.model`` and ``.tokenizer`` such as
:class:`mantissa.data.MiniLM`; the same object comes back. ``nn.Linear`` layers and
Hugging Face ``Conv1D`` layers (GPT-2; quantized as transposed Linears) are swapped; a
Linear whose weight is tied to another module's (a language model's output head) is left
as it is, and so is every layer of a kind no recipe handles, each named in a warning. Layers are chosen
by glob patterns on their qualified names (``include`` / ``exclude``).
Recipes that need calibration get, per layer, a sample of the inputs the layer
sees when the model runs on ``calibration`` (texts, when the model has a
tokenizer, or batches: dicts of tensors or tensors; or the dict
:func:`collect_inputs` returns, to calibrate several recipes on the same inputs).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from mantissa.errors import ConfigError
from mantissa.progress import progress
from mantissa.quant.conv1d import is_conv1d, linear_view
from mantissa.quant.encoders import as_encoder, is_sentence_transformer, st_modules_left, st_transformer
from mantissa.quant.layers import QuantLinear
from mantissa.quant.recipes import Recipe, parse_recipe
from mantissa.quant.select import MATMUL_LIKE, select_embeddings, select_layers

__all__ = ["MATMUL_LIKE", "collect_inputs", "module_of", "quantize", "quantized_layers", "select_layers"]

MAX_CALIBRATION_ROWS = 512


def module_of(model: Any) -> nn.Module:
    """The ``nn.Module`` inside ``model`` (itself, its ``.model``, or a sentence-transformer's
    transformers model)."""
    if is_sentence_transformer(model):
        return st_transformer(model)
    module = model if isinstance(model, nn.Module) else getattr(model, "model", None)
    if not isinstance(module, nn.Module):
        raise ConfigError(f"cannot quantize a {type(model).__name__}: expected a torch.nn.Module "
                          "or an object with a .model module (e.g. mantissa.data.MiniLM)")
    return module


def _set_child(module: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, new)


def _batches(model: Any, calibration: Iterable[Any], batch_size: int) -> Iterable[Any]:
    data = list(calibration)
    model = as_encoder(model)
    if data and all(isinstance(t, str) for t in data):
        if not hasattr(model, "tokenize"):
            raise ConfigError("calibration texts need a model with a tokenizer (e.g. "
                              "mantissa.data.load_minilm()); pass tokenized batches otherwise")
        for i in range(0, len(data), batch_size):
            yield model.tokenize(data[i : i + batch_size])
    else:
        yield from data


@torch.no_grad()
def collect_inputs(model: Any, names: Sequence[str], calibration: Iterable[Any], *,
                   max_rows: int = MAX_CALIBRATION_ROWS, batch_size: int = 32,
                   seed: int = 0) -> dict[str, torch.Tensor]:
    """Run ``calibration`` through the model; per layer, up to ``max_rows`` input rows
    (padding tokens excluded when the batch carries an attention mask)."""
    module = module_of(model)
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    mask_holder: dict[str, torch.Tensor | None] = {"mask": None}

    def hook(name: str):
        def fn(_mod: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0].detach().float()
            mask = mask_holder["mask"]
            if mask is not None and x.ndim == 3 and mask.shape == x.shape[:2]:
                x = x[mask.bool()]
            seen[name].append(x.reshape(-1, x.shape[-1]).cpu())
        return fn

    handles = [module.get_submodule(n).register_forward_pre_hook(hook(n)) for n in names]
    try:
        module.eval()
        for batch in _batches(model, calibration, batch_size):
            if isinstance(batch, dict):
                mask_holder["mask"] = batch.get("attention_mask")
                module(**batch)
            else:
                mask_holder["mask"] = None
                module(batch)
    finally:
        for h in handles:
            h.remove()
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for n, rows in seen.items():
        if not rows:
            raise ConfigError(f"layer {n!r} saw no calibration input; is it used by forward()?")
        x = torch.cat(rows)
        if x.shape[0] > max_rows:
            x = x[torch.randperm(x.shape[0], generator=gen)[:max_rows]]
        out[n] = x
    return out


def quantize(model: Any, recipe: str | Recipe, calibration: Iterable[Any] | None = None, *,
             include: Sequence[str] = ("*",), exclude: Sequence[str] = (),
             max_calibration_rows: int = MAX_CALIBRATION_ROWS) -> Any:
    """Quantize ``model`` in place with ``recipe`` (a spec string or a :class:`Recipe`).

    Returns ``model``. Its module gets ``mantissa_quant`` = {"recipe": spec, "layers": [...]}.
    ``nn.Embedding`` tables are quantized (one scale per row) by the recipes that can
    (``Recipe.embeddings``: int8, fp8, w4-int). Layers left as they are (convolutions, tied
    output heads, tables the recipe cannot quantize) are named in a warning.
    """
    rec = parse_recipe(recipe)
    module = module_of(model)
    if isinstance(include, str) or isinstance(exclude, str):
        raise ConfigError("include/exclude take a list of glob patterns, e.g. ['encoder.*']")
    names, skipped = select_layers(module, include, exclude)
    tables, left = select_embeddings(module, include, exclude)
    if not rec.embeddings:
        tables, left = [], left + [f"{t} (Embedding)" for t in tables]
    if is_sentence_transformer(model):
        left += st_modules_left(model)
    if skipped or left:
        warnings.warn(f"recipe {rec.spec()!r} cannot handle {len(skipped) + len(left)} layer(s), left as "
                      "they are: " + ", ".join(skipped + left), stacklevel=2)
    if not names:
        raise ConfigError(f"no nn.Linear layer matches include={list(include)} exclude={list(exclude)}")
    inputs: dict[str, torch.Tensor] = {}
    if rec.needs_calibration:
        if calibration is None:
            raise ConfigError(f"recipe {rec.spec()!r} needs calibration data: pass calibration= "
                              "a few hundred texts (CLI: --calibration N)")
        if isinstance(calibration, dict) and all(torch.is_tensor(v) for v in calibration.values()):
            inputs = calibration  # already collected (collect_inputs), keyed by layer name
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ConfigError(f"calibration inputs lack {len(missing)} layer(s), e.g. {missing[0]!r}")
        else:
            inputs = collect_inputs(model, names, calibration, max_rows=max_calibration_rows)
    with progress(f"quantizing with {rec.spec()}", total=len(names) + len(tables)) as bar:
        for name in names:
            _set_child(module, name, _quantize_layer(rec, module.get_submodule(name), inputs.get(name)))
            bar.advance(1)
        for name in tables:
            _set_child(module, name, rec.quantize_embedding(module.get_submodule(name)))
            bar.advance(1)
    rec.prepare(module)
    module.mantissa_quant = {"recipe": rec.spec(), "layers": names + tables}
    if isinstance(getattr(model, "name", None), str) and model is not module:
        model.name = f"{model.name.split('+')[0]}+{rec.spec()}"  # never shares an embedding cache key
    return model


def _quantize_layer(rec: Recipe, old: nn.Module, inputs: torch.Tensor | None) -> nn.Module:
    """``old`` (an ``nn.Linear`` or a ``Conv1D``) quantized by ``rec``."""
    if not is_conv1d(old):
        return rec.quantize_linear(old, inputs)
    new = rec.quantize_linear(linear_view(old), inputs)
    new.transposed = True
    return new


def quantized_layers(model: Any) -> dict[str, QuantLinear]:
    """The quantized layers of ``model`` by qualified name."""
    return {n: m for n, m in module_of(model).named_modules() if isinstance(m, QuantLinear)}
