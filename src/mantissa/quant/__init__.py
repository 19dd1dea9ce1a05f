"""mantissa.quant — quantizers (uniform, granularities, observers, QAT/LSQ) and model recipes.

>>> from mantissa.quant import parse_quantizer
>>> q = parse_quantizer("int4:group=64")      # see docs/formats.md
"""

from mantissa.quant.api import quantize
from mantissa.quant.evaluate import evaluate
from mantissa.quant.granularity import Granularity
from mantissa.quant.observers import OBSERVERS, Observer, build_observer
from mantissa.quant.qat import LSQ, FakeQuantize, QATLinear, prepare_qat
from mantissa.quant.recipes import RECIPES, parse_recipe
from mantissa.quant.saving import load_quantized, save_quantized
from mantissa.quant.spec import QTensor, Quantizer, parse_quantizer
from mantissa.quant.uniform import QParams, qparams

__all__ = [
    "Granularity", "OBSERVERS", "Observer", "build_observer", "LSQ", "FakeQuantize", "QATLinear",
    "prepare_qat", "QTensor", "Quantizer", "parse_quantizer", "QParams", "qparams",
    "quantize", "evaluate", "RECIPES", "parse_recipe", "load_quantized", "save_quantized",
]
