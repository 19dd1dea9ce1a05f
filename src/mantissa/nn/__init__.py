"""mantissa.nn: torch.nn layers built from formats and arithmetic.

Registry slots (see :mod:`mantissa.nn.slots`): ``ATTENTION``, ``POSITIONAL``,
``FFN``, ``NORM``.
"""

from mantissa.nn.slots import ATTENTION, FFN, NORM, POSITIONAL, masked_scores, softmax_attention

__all__ = ["ATTENTION", "FFN", "NORM", "POSITIONAL", "masked_scores", "softmax_attention"]
