"""mantissa.compress: lossless compression with tractable probabilistic models.

* :mod:`~mantissa.compress.circuit` — hidden Chow-Liu tree probabilistic circuits
  (exact marginals and conditionals, EM);
* :mod:`~mantissa.compress.arith_coding` — integer arithmetic coding;
* :mod:`~mantissa.compress.pc_codec` — ``compress(model, x)`` / ``decompress(model, data)``.
"""

from mantissa.compress.arith_coding import ArithmeticDecoder, ArithmeticEncoder, decode_binary, encode_binary
from mantissa.compress.circuit import HCLT, HCLTConfig, chow_liu_tree
from mantissa.compress.pc_codec import compress, decompress

__all__ = ["HCLT", "ArithmeticDecoder", "ArithmeticEncoder", "HCLTConfig", "chow_liu_tree", "compress",
           "decode_binary", "decompress", "encode_binary"]
