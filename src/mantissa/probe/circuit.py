"""Tracing a model into a neural circuit: every operation and every tensor axis.

Abbott, "Robust Diagrams for Deep Learning Architectures: Applications and
Theory" (Neural Circuit Diagrams, 2023): a diagram is a graph whose boxes are
operations and whose wires are tensor *axes* — one wire per axis, labelled with
its name (batch, time, heads, ...), so reshapes, transposes and broadcasting
are visible. :func:`trace` runs a model once under a ``TorchFunctionMode`` and
records each torch operation with the module it ran in, its tensor inputs and
outputs, their shapes and which operation produced each input. Axis names come
from a legend ``{size: name}``; sizes not in the legend are shown as numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from mantissa.errors import ShapeError

#: torch calls that only read metadata or copy memory layout; not operations of the circuit
_IGNORED = {"size", "dim", "numel", "__get__", "__len__", "is_floating_point", "contiguous",
            "__format__", "__bool__", "item", "tolist", "__repr__", "__hash__", "__setstate__",
            "_has_compatible_shallow_copy_type", "requires_grad_", "detach", "__iter__"}


@dataclass
class Op:
    """One operation: ``name`` ran in ``module``; inputs/outputs are tensor ids."""

    index: int
    name: str
    module: str
    inputs: list[int]
    outputs: list[int]
    params: list[str] = field(default_factory=list)  # "qkv.weight" etc. (learned inputs)


@dataclass
class Circuit:
    """The traced operations plus the shape of every tensor that flowed."""

    ops: list[Op]
    shapes: dict[int, tuple[int, ...]]
    producer: dict[int, int]  # tensor id -> index of the op that produced it
    inputs: list[int]  # tensor ids of the model inputs
    outputs: list[int]  # tensor ids of the model outputs
    legend: dict[int, str]
    param_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def axes(self, tensor: int) -> list[str]:
        """Axis labels of a tensor: legend names, else the size as a string."""
        return [self.legend.get(s, str(s)) for s in self.shapes[tensor]]

    def axis_names(self) -> set[str]:
        return {a for t in self.shapes for a in self.axes(t)}


def _op_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    return name.strip("_") or name


class _Recorder(TorchFunctionMode):
    def __init__(self, params: Mapping[int, str]) -> None:
        super().__init__()
        self.params = params
        self.ops: list[Op] = []
        self.shapes: dict[int, tuple[int, ...]] = {}
        self.producer: dict[int, int] = {}
        self.module_stack: list[str] = [""]
        self._keep: list[torch.Tensor] = []  # keep tensors alive so their ids stay unique

    def tensor_id(self, t: torch.Tensor) -> int:
        if id(t) not in self.shapes:
            self.shapes[id(t)] = tuple(t.shape)
            self._keep.append(t)
        return id(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = func(*args, **(kwargs or {}))
        name = _op_name(func)
        outs = [x for x in tree_flatten(out)[0] if isinstance(x, torch.Tensor)]
        if name in _IGNORED or not outs:
            return out
        ins = [x for x in tree_flatten((args, kwargs or {}))[0] if isinstance(x, torch.Tensor)]
        op = Op(len(self.ops), name, self.module_stack[-1], [], [])
        for t in ins:
            if id(t) in self.params:
                op.params.append(self.params[id(t)])
            else:
                op.inputs.append(self.tensor_id(t))
        for t in outs:
            if id(t) not in self.producer:  # in-place ops return their input; keep the first producer
                op.outputs.append(self.tensor_id(t))
                self.producer[id(t)] = op.index
        self.ops.append(op)
        return out


@contextlib.contextmanager
def _module_names(model: nn.Module, rec: _Recorder) -> Iterator[None]:
    handles = []
    for name, mod in model.named_modules():
        def pre(_m, _a, name=name):  # noqa: ANN001
            rec.module_stack.append(name)

        def post(_m, _a, _o):  # noqa: ANN001
            rec.module_stack.pop()

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def trace(model: nn.Module, *inputs: Any, legend: Mapping[int, str] | None = None,
          max_ops: int = 2000, **kwargs: Any) -> Circuit:
    """Run ``model(*inputs, **kwargs)`` once (no grad) and record its circuit."""
    params = {id(p): n for n, p in model.named_parameters()}
    params.update({id(b): n for n, b in model.named_buffers()})
    rec = _Recorder(params)
    in_ids = [rec.tensor_id(x) for x in tree_flatten((inputs, kwargs))[0] if isinstance(x, torch.Tensor)]
    with torch.no_grad(), _module_names(model, rec), rec:
        out = model(*inputs, **kwargs)
    if len(rec.ops) > max_ops:
        raise ShapeError(f"the traced model ran {len(rec.ops)} operations, more than max_ops={max_ops}; "
                         "trace a sub-module or raise max_ops")
    out_ids = [id(x) for x in tree_flatten(out)[0] if isinstance(x, torch.Tensor) and id(x) in rec.shapes]
    shapes = {n: tuple(p.shape) for n, p in [*model.named_parameters(), *model.named_buffers()]}
    return Circuit(rec.ops, rec.shapes, rec.producer, in_ids, out_ids, dict(legend or {}), shapes)
