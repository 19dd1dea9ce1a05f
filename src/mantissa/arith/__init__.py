"""mantissa.arith: arithmetic on low-precision values (see docs/arith.md).

* L-Mul (:mod:`.lmul`): ``lmul``, ``lmul_matmul``, ``lmul_error_model``.
* LLM.int8() (:mod:`.int8`): ``quantize_absmax``, ``int8_matmul``,
  ``int8_matmul_with_outliers``, ``vectorwise_int8_linear``.
"""

from mantissa.arith.int8 import (
    Int8Stats,
    int8_matmul,
    int8_matmul_with_outliers,
    quantize_absmax,
    vectorwise_int8_linear,
)
from mantissa.arith.lmul import lmul, lmul_error_model, lmul_matmul, round_to_mantissa

__all__ = [
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
