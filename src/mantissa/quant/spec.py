"""Quantizers chosen by spec strings: ``int4:group=64``, ``float8_e4m3fn:channel``, ``int8:token``.

Grammar (the registry's spec grammar, keys pulled out for the quantizer; the rest
is the number format's own spec)::

    FORMAT[:ARGS]   ARGS := tensor | channel[=AXIS] | token | group=SIZE[,axis=AXIS]
                            | sym=true|false | observer=minmax|percentile|mse|kl
                            | pct=P | rounding=MODE   (comma separated, any order)

``fp:e3m2,group=32`` quantizes to the FP6 E3M2 grid with one scale per 32
values. ``str(parse_quantizer(s))`` gives the canonical spec back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from mantissa.errors import ConfigError, SpecError
from mantissa.formats import FloatFormat, Format, IntFormat, get
from mantissa.formats.base import check_rounding
from mantissa.quant.granularity import Granularity
from mantissa.quant.observers import OBSERVERS, Observer, build_observer
from mantissa.quant.uniform import QParams, dequantize_rows, fake_quantize_rows, qparams, quantize_rows
from mantissa.registry import Spec

_GRAN_WORDS = ("tensor", "channel", "token")
_KEYS = ("group", "channel", "axis", "token", "tensor", "sym", "observer", "pct", "rounding")


@dataclass
class QTensor:
    """A quantized tensor: grid values ``q`` (integers or format values), scales and zero points."""

    q: torch.Tensor
    qparams: QParams
    quantizer: Quantizer
    shape: tuple[int, ...]

    def dequantize(self) -> torch.Tensor:
        g = self.quantizer.granularity
        rows = dequantize_rows(g.rows(self.q), self.qparams)
        return g.unrows(rows, self.shape)

    def codes(self) -> torch.Tensor:
        """Integer codes of the grid values (bit patterns of the element format)."""
        fmt = self.quantizer.format
        return fmt.encode(self.q.double()) if isinstance(fmt, IntFormat) else fmt.encode(self.q)

    @property
    def scale(self) -> torch.Tensor:
        return self.qparams.scale.reshape(self.quantizer.granularity.scale_shape(self.shape))


@dataclass
class Quantizer:
    """Uniform quantizer: element format + granularity + symmetric/affine + calibration observer."""

    format: Format
    granularity: Granularity = field(default_factory=Granularity)
    symmetric: bool = True
    observer: str = "minmax"
    observer_args: dict = field(default_factory=dict)
    rounding: str = "nearest-even"

    def __post_init__(self) -> None:
        if isinstance(self.format, str):
            self.format = get(self.format)
        if not isinstance(self.format, IntFormat | FloatFormat):
            raise ConfigError(f"a uniform quantizer needs an integer or float element format, "
                              f"got {self.format}")
        if isinstance(self.format, FloatFormat) and not self.symmetric:
            raise ConfigError(f"float element format {self.format} supports symmetric quantization only")
        if self.observer not in OBSERVERS:
            raise ConfigError(f"unknown observer {self.observer!r}; use one of {', '.join(OBSERVERS.list())}")
        self.rounding = check_rounding(self.rounding)

    def __str__(self) -> str:
        parts = [str(self.granularity)] if self.granularity.kind != "tensor" else []
        if not self.symmetric:
            parts.append("sym=false")
        if self.observer != "minmax":
            parts.append(f"observer={self.observer}")
        parts += [f"{k}={v}" for k, v in self.observer_args.items()]
        if self.rounding != "nearest-even":
            parts.append(f"rounding={self.rounding}")
        fmt = str(self.format)
        sep = "," if ":" in fmt else ":"
        return fmt + (sep + ",".join(parts) if parts else "")

    # ------------------------------------------------------------ calibration
    def new_observer(self) -> Observer:
        return build_observer(self.observer, **self.observer_args)

    def calibrate(self, batches: Iterable[torch.Tensor] | torch.Tensor) -> QParams:
        """Static qparams from calibration data (one tensor or an iterable of batches)."""
        obs = self.new_observer()
        for x in [batches] if isinstance(batches, torch.Tensor) else batches:
            obs.update(self.granularity.rows(x))
        return self.qparams_from(obs)

    def qparams_from(self, obs: Observer) -> QParams:
        lo, hi = obs.range(self.format, self.symmetric)
        return qparams(lo, hi, self.format, self.symmetric)

    def dynamic_qparams(self, x: torch.Tensor) -> QParams:
        """qparams from ``x`` itself (what weight and per-token quantizers use)."""
        rows = self.granularity.rows(x.detach())
        if self.observer == "minmax":
            lo, hi = rows.amin(1, keepdim=True), rows.amax(1, keepdim=True)
            return qparams(lo, hi, self.format, self.symmetric)
        obs = self.new_observer()
        obs.update(rows)
        return self.qparams_from(obs)

    # ------------------------------------------------------------ quantization
    def fake(self, x: torch.Tensor, qp: QParams | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Quantize-dequantize ``x`` (dynamic qparams when ``qp`` is None)."""
        qp = qp or self.dynamic_qparams(x)
        rows = self.granularity.rows(x)
        out = fake_quantize_rows(rows, _to(qp, rows), self.format, self.rounding, generator)
        return self.granularity.unrows(out, x.shape)

    def quantize(self, x: torch.Tensor, qp: QParams | None = None,
                 generator: torch.Generator | None = None) -> QTensor:
        qp = qp or self.dynamic_qparams(x)
        rows = self.granularity.rows(x)
        q = quantize_rows(rows, _to(qp, rows), self.format, self.rounding, generator)
        return QTensor(self.granularity.unrows(q, x.shape), qp, self, tuple(x.shape))


def _to(qp: QParams, rows: torch.Tensor) -> QParams:
    return QParams(qp.scale.to(rows.device, rows.dtype), qp.zero_point.to(rows.device, rows.dtype))


def parse_quantizer(spec: str | Quantizer) -> Quantizer:
    """A :class:`Quantizer` from a spec string (see the module docstring)."""
    if isinstance(spec, Quantizer):
        return spec
    parsed = Spec.parse(spec)
    fmt_args: list = []
    gran: Granularity | None = None
    for arg in parsed.args:
        if isinstance(arg, str) and arg in _GRAN_WORDS:
            gran = _set(gran, Granularity(arg, -1 if arg == "token" else 0), spec)
        else:
            fmt_args.append(arg)
    q_kw = {k: v for k, v in parsed.kwargs.items() if k in _KEYS}
    fmt_kw = {k: v for k, v in parsed.kwargs.items() if k not in _KEYS}
    fmt = get(str(Spec(parsed.name, tuple(fmt_args), fmt_kw)))
    if "group" in q_kw:
        gran = _set(gran, Granularity.group(int(q_kw["group"]), int(q_kw.get("axis", -1))), spec)
    if "channel" in q_kw:
        gran = _set(gran, Granularity.channel(int(q_kw["channel"])), spec)
    obs_args = {"pct": float(q_kw["pct"])} if "pct" in q_kw else {}
    sym = q_kw.get("sym", True)
    if not isinstance(sym, bool):
        raise SpecError(f"sym must be true or false in quantizer spec {spec!r}")
    return Quantizer(fmt, gran or Granularity(), sym, str(q_kw.get("observer", "minmax")), obs_args,
                     str(q_kw.get("rounding", "nearest-even")))


def _set(old: Granularity | None, new: Granularity, spec: str) -> Granularity:
    if old is not None:
        raise SpecError(f"quantizer spec {spec!r} names two granularities ({old} and {new}); pick one")
    return new
