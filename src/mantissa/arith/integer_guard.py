"""Assert that a computation is integer-only: no floating-point tensor anywhere.

``with integer_only(): ...`` intercepts every ATen op dispatched inside (a
``TorchDispatchMode``) and raises :class:`FloatOpError` naming the op if any
input or output tensor has a floating-point or complex dtype. Python floats
folded into constants beforehand are not tensors and are allowed.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from mantissa.errors import MantissaError


class FloatOpError(MantissaError, RuntimeError):
    """A floating-point tensor appeared inside an integer-only computation."""


def _is_float(t: object) -> bool:
    return isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex())


class integer_only(TorchDispatchMode):  # noqa: N801 - used as a context manager
    """Context manager: raise on any op that consumes or produces a float tensor.

    ``ops`` counts the ops seen (so a test can check the guard saw the work).
    """

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat, _ = tree_flatten((args, kwargs))
        if any(_is_float(t) for t in flat):
            raise FloatOpError(f"floating-point input to {func} inside an integer-only region")
        out = func(*args, **kwargs)
        if any(_is_float(t) for t in tree_flatten(out)[0]):
            raise FloatOpError(f"{func} produced a floating-point tensor inside an integer-only region")
        self.ops += 1
        return out
