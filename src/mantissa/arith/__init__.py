"""mantissa.arith: arithmetic on low-precision values (see docs/arith.md).

* L-Mul (:mod:`.lmul`): ``lmul``, ``lmul_matmul``, ``lmul_error_model``.
* LLM.int8() (:mod:`.int8`): ``quantize_absmax``, ``int8_matmul``,
  ``int8_matmul_with_outliers``, ``vectorwise_int8_linear``.
* integer-only ops of I-ViT (:mod:`.i_vit`, :mod:`.dyadic`, :mod:`.integer_guard`):
  ``shiftmax``, ``shift_gelu``, ``i_layernorm``, ``isqrt``, ``dyadic_requant``,
  ``dyadic_from_scale``, ``integer_only``.
* ShiftAddLLM (:mod:`.bcq`, :mod:`.shift`, :mod:`.rtn`): ``bcq_quantize`` -> ``BCQ``,
  ``lut_matmul``, ``shift_quantize``, ``shift_matmul``, ``rtn_quantize``,
  ``allocate_bits`` (mixed widths under an average-bits budget).
* Power-Softmax (:mod:`.power_softmax`, :mod:`.poly`): ``power_softmax``,
  ``fit`` -> ``PolyApprox`` (polynomial reciprocal / rsqrt / exp / gelu on a range).
"""

from mantissa.arith.bcq import BCQ, bcq_quantize, lut_matmul
from mantissa.arith.bit_allocation import allocate_bits
from mantissa.arith.dyadic import dyadic_from_scale, dyadic_requant, dyadic_tensor
from mantissa.arith.format_mul import format_mul, pow2_scale
from mantissa.arith.i_vit import (
    i_layernorm,
    isqrt,
    layernorm_constants,
    shift_exp,
    shift_gelu,
    shiftmax,
)
from mantissa.arith.int8 import (
    Int8Stats,
    int8_matmul,
    int8_matmul_with_outliers,
    quantize_absmax,
    vectorwise_int8_linear,
)
from mantissa.arith.integer_guard import FloatOpError, integer_only
from mantissa.arith.lmul import lmul, lmul_error_model, lmul_matmul, round_to_mantissa
from mantissa.arith.poly import PolyApprox, fit, newton_steps
from mantissa.arith.power_softmax import power_softmax
from mantissa.arith.rtn import rtn_quantize
from mantissa.arith.shift import shift_dequantize, shift_matmul, shift_quantize

__all__ = [
    "PolyApprox",
    "fit",
    "newton_steps",
    "power_softmax",
    "BCQ",
    "allocate_bits",
    "bcq_quantize",
    "lut_matmul",
    "rtn_quantize",
    "shift_dequantize",
    "shift_matmul",
    "shift_quantize",
    "FloatOpError",
    "dyadic_from_scale",
    "format_mul",
    "pow2_scale",
    "dyadic_requant",
    "dyadic_tensor",
    "i_layernorm",
    "integer_only",
    "isqrt",
    "layernorm_constants",
    "shift_exp",
    "shift_gelu",
    "shiftmax",
    "Int8Stats",
    "int8_matmul",
    "int8_matmul_with_outliers",
    "lmul",
    "lmul_error_model",
    "lmul_matmul",
    "quantize_absmax",
    "round_to_mantissa",
    "vectorwise_int8_linear",
]
