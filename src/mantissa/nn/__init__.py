"""mantissa.nn: torch.nn layers built from formats and arithmetic; whole models built from
them are :mod:`mantissa.models`.

Registry slots (see :mod:`mantissa.nn.slots`): ``ATTENTION``, ``POSITIONAL``,
``FFN``, ``NORM``.
"""

from mantissa.nn import blocks as _blocks  # noqa: F401  (registers the default FFNs and norms)
from mantissa.nn import combiner as _combiner  # noqa: F401  (registers attention "combiner")
from mantissa.nn import ecoformer as _ecoformer  # noqa: F401  (registers attention "ecoformer")
from mantissa.nn import evonorm as _evonorm  # noqa: F401  (registers EvoNorm-B0/S0, bn-relu, gn-relu)
from mantissa.nn import lmul_attention as _lmul  # noqa: F401  (registers attention "lmul")
from mantissa.nn import memory_layer as _memory_layer  # noqa: F401  (registers ffn "memory")
from mantissa.nn import positional as _positional  # noqa: F401  (registers the positional encodings)
from mantissa.nn import power_softmax as _power  # noqa: F401  (registers attention "power")
from mantissa.nn import rope_scaling as _rope_scaling  # noqa: F401  (registers rope-pi, rope-ntk, clex)
from mantissa.nn.slots import ATTENTION, FFN, NORM, POSITIONAL, masked_scores, softmax_attention

__all__ = ["ATTENTION", "FFN", "NORM", "POSITIONAL", "masked_scores", "softmax_attention"]
