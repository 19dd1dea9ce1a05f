"""The recipe base class, its registry and the spec parser (:mod:`mantissa.quant.recipes`)."""

from __future__ import annotations

import dataclasses
import math
import typing
import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mantissa.config import coerce
from mantissa.errors import SpecError
from mantissa.registry import Registry, Spec

RECIPES: Registry[type[Recipe]] = Registry("quant recipe")


@dataclass(frozen=True)
class Recipe:
    """Base recipe. Subclasses are frozen dataclasses; their fields are the spec's keys."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    needs_calibration: ClassVar[bool] = False
    #: whether :meth:`quantize_embedding` quantizes ``nn.Embedding`` tables
    embeddings: ClassVar[bool] = False

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                typed = coerce(value, hints[f.name])
            except (TypeError, ValueError):
                raise SpecError(f"recipe {self.name!r}: {f.name} must be {f.type}, got {value!r}") from None
            if isinstance(typed, float) and not math.isfinite(typed):
                raise SpecError(f"recipe {self.name!r}: {f.name} must be a finite number, got {value!r}")
            object.__setattr__(self, f.name, typed)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SpecError` on values out of range (subclasses)."""

    def spec(self) -> str:
        """The spec string that rebuilds this recipe (non-default keys only)."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
              if getattr(self, f.name) != f.default}
        return str(Spec(self.name, (), {k: str(v).lower() if isinstance(v, bool) else v
                                        for k, v in kw.items()}))

    def quantize_linear(self, linear: nn.Linear, inputs: torch.Tensor | None) -> nn.Module:
        raise NotImplementedError  # pragma: no cover

    def quantize_embedding(self, table: nn.Embedding) -> nn.Module:
        """The ``nn.Embedding`` ``table`` quantized, one scale per row (recipes with ``embeddings``)."""
        raise NotImplementedError(f"recipe {self.name!r} does not quantize embeddings")  # pragma: no cover

    def prepare(self, model: nn.Module) -> None:
        """Adjust the whole model after its layers are swapped (and again after loading)."""


def parse_recipe(spec: str | Recipe) -> Recipe:
    """A recipe from its spec string (or pass a :class:`Recipe` through)."""
    if isinstance(spec, Recipe):
        return spec
    parsed = Spec.parse(spec)
    cls = RECIPES.get(parsed.name)
    keys = [f.name for f in dataclasses.fields(cls)]
    if parsed.args:
        raise SpecError(f"recipe {parsed.name!r} takes key=value arguments only; keys: "
                        f"{', '.join(keys) or '(none)'}")
    unknown = sorted(set(parsed.kwargs) - set(keys))
    if unknown:
        raise SpecError(f"recipe {parsed.name!r} has no key {', '.join(map(repr, unknown))}; "
                        f"valid keys: {', '.join(keys) or '(none)'}")
    return cls(**parsed.kwargs)


def bias_of(linear: nn.Linear) -> torch.Tensor | None:
    return None if linear.bias is None else linear.bias.detach()


def dividing_group(recipe: str, group: int, in_features: int, *, fallback: int) -> int:
    """``group`` where it divides the layer's inputs; else ``fallback`` (one scale per output
    channel), with a warning that names the recipe, the group and the width."""
    if not group or in_features % group == 0:
        return group
    warnings.warn(f"recipe {recipe!r}: group {group} does not divide {in_features} input features; "
                  "that layer uses one scale per output channel", stacklevel=3)
    return fallback


def describe_recipes() -> list[tuple[str, str, str]]:
    """(name, keys with defaults, summary) for every recipe, for help texts and docs."""
    rows = []
    for name, cls in RECIPES.items():
        keys = ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cls))
        rows.append((name, keys, cls.summary))
    return rows
