"""Quantization recipes: typed configs registered by name, chosen by spec string.

A recipe says how to turn one ``nn.Linear`` (and, optionally, the samples of
its inputs seen on calibration text) into a quantized layer, and may adjust
the whole model afterwards (``prepare``). One file per recipe, each registered
in :data:`RECIPES`. Spec strings work on the command line: ``int8``, ``fp8``,
``w4-int:group=128``, ``w4a4-fp:search=false``.

>>> r = parse_recipe("w4-int:group=64")
>>> r.spec()
'w4-int:group=64'
"""

from mantissa.quant.recipes import (  # noqa: F401  (registration)
    bcq,
    fp8,
    int8,
    int8_outlier,
    int_only,
    lmul,
    nupes4,
    w4_int,
    w4a4_fp,
    w4a4_int,
)
from mantissa.quant.recipes.base import RECIPES, Recipe, describe_recipes, parse_recipe

__all__ = ["RECIPES", "Recipe", "describe_recipes", "parse_recipe"]
