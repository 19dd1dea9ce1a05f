"""RoPE frequency scaling for length extrapolation: PI, NTK-aware and CLEX.

All three reuse the rotation of :class:`mantissa.nn.positional.RoPE` and only
change the angles ``pos · θ_i`` (``θ_i = b^(-2i/d)``, ``d`` the head dimension):

* ``rope-pi:factor=s`` — Position Interpolation (Chen et al., 2023, "Extending
  Context Window of Large Language Models via Positional Interpolation", Sec. 2.2:
  ``f'(x, m) = f(x, m L / L')``): positions are divided by ``s = L'/L``.
* ``rope-ntk:factor=s`` — NTK-aware scaling (bloc97, 2023; the form used by
  CLEX and YaRN): the base becomes ``b' = b · s^(d/(d-2))``, so the lowest
  frequency is interpolated by ``s`` and the highest is unchanged.
* ``clex:max_factor=T`` — CLEX (Chen et al., 2024, "CLEX: Continuous Length
  Extrapolation for Large Language Models", Sec. 3): the log-frequencies
  ``z(t) = log θ(t)`` follow a neural ODE over the length scaling factor ``t``,
  ``dz/dt = W_down σ(W_up (z + ξ(t))) + ξ'(t)``, ``z(1) = log θ`` (plain RoPE),
  where ``ξ(t)`` are the log NTK frequencies at ``α = 2t - 1`` (the time
  embedding of the reference ``CLEX/clex_layer.py``; with ``W_down = 0``, its
  initialisation, CLEX *is* NTK scaling with factor ``2t - 1``). In training a
  factor ``t ∈ {1..T}`` is drawn per forward pass and the ``L`` tokens get
  sorted random distinct positions spanning ``[0, tL)`` (always ``0`` and
  ``tL - 1``), rotated with ``θ(t)``: the model learns how frequencies must
  scale for lengths it never sees. At inference ``t = ⌈T_test / L⌉`` (capped
  at ``T``, as the reference) or a fixed ``t`` given by the spec/attribute;
  positions are ``0..T_test-1``.

The ODE is integrated with classical fixed-step RK4 (the reference uses
torchdiffeq's ``rk4`` with ``step_size=0.01``; ``time_dt`` sets the step here,
default 0.1, which on this smooth field agrees with 0.01 to ~1e-6, see the tests).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mantissa.errors import ConfigError, SpecError
from mantissa.nn.positional import RoPE
from mantissa.nn.slots import POSITIONAL

#: keyword arguments the transformer passes to every encoding; anything else is a spec typo
_TRANSFORMER_KWARGS = frozenset({"max_len", "digit_tokens", "vocab_size"})


def _reject_unknown(name: str, extra: dict[str, object], accepted: str) -> None:
    unknown = sorted(set(extra) - _TRANSFORMER_KWARGS)
    if unknown:
        raise SpecError(f"{name}: unknown argument(s) {', '.join(unknown)}; accepted: {accepted}")


def _check_factor(name: str, factor: float) -> float:
    if not isinstance(factor, int | float) or isinstance(factor, bool) or not math.isfinite(factor) \
            or factor < 1:
        raise ConfigError(f"{name}: factor must be a number >= 1 (target length / training length), "
                          f"got {factor!r}")
    return float(factor)


@POSITIONAL.register("rope-pi")
class RoPEPI(RoPE):
    """Position Interpolation: RoPE at positions ``m / factor``."""

    name = "rope-pi"

    def __init__(self, factor: float = 1.0, *, d_model: int, n_head: int, base: float = 10000.0,
                 **extra: object) -> None:
        _reject_unknown("rope-pi", extra, "factor, base")
        self.factor = _check_factor("rope-pi", factor)
        super().__init__(d_model=d_model, n_head=n_head, base=base)

    def angles(self, length: int, device: torch.device) -> torch.Tensor:
        return super().angles(length, device) / self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


def ntk_base(base: float, factor: float, head_dim: int) -> float:
    """NTK-aware base ``b · s^(d/(d-2))``."""
    return base * factor ** (head_dim / (head_dim - 2))


@POSITIONAL.register("rope-ntk")
class RoPENTK(RoPE):
    """NTK-aware scaled RoPE: base ``b · factor^(d/(d-2))``."""

    name = "rope-ntk"

    def __init__(self, factor: float = 1.0, *, d_model: int, n_head: int, base: float = 10000.0,
                 **extra: object) -> None:
        _reject_unknown("rope-ntk", extra, "factor, base")
        self.factor = _check_factor("rope-ntk", factor)
        head_dim = d_model // n_head
        if head_dim <= 2:
            raise ConfigError(f"rope-ntk needs a head dimension > 2, got {head_dim} (d_model/n_head)")
        super().__init__(d_model=d_model, n_head=n_head, base=ntk_base(base, self.factor, head_dim))

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


class CLEXField(nn.Module):
    """The CLEX vector field ``g(z, t) = W_down σ(W_up (z + ξ(t))) + ξ'(t)`` over
    log-frequencies ``z`` (``head_dim/2`` values); ``ξ`` = log NTK frequencies at ``α = 2t-1``."""

    def __init__(self, head_dim: int, param_factor: int = 1, act: str = "tanh",
                 base: float = 10000.0) -> None:
        super().__init__()
        acts = {"tanh": nn.Tanh, "silu": nn.SiLU}
        if act not in acts:
            raise ConfigError(f"clex: act must be one of {', '.join(acts)}, got {act!r}")
        self.head_dim, self.base = head_dim, base
        self.up = nn.Parameter(torch.empty(head_dim // 2, param_factor * head_dim))
        self.down = nn.Parameter(torch.zeros(param_factor * head_dim, head_dim // 2))
        nn.init.kaiming_uniform_(self.up, a=math.sqrt(5))
        self.act = acts[act]()
        self.register_buffer("index", torch.arange(0, head_dim, 2, dtype=torch.float32), persistent=False)

    def time_embedding(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ξ(t), ξ'(t))``: log NTK frequencies at ``α = max(2t-1, 1)`` and their t-derivative."""
        alpha = max(2.0 * t - 1.0, 1.0)
        d, i = self.head_dim, self.index
        xi = -(i / d) * math.log(self.base) - i / (d - 2) * math.log(alpha)
        return xi, -2.0 * i / ((d - 2) * alpha)

    def forward(self, t: float, z: torch.Tensor) -> torch.Tensor:
        xi, dxi = self.time_embedding(t)
        return self.act((z + xi) @ self.up) @ self.down + dxi


def rk4(field: nn.Module, z0: torch.Tensor, t0: float, t1: float, dt: float) -> torch.Tensor:
    """Classical fixed-step RK4 from ``t0`` to ``t1`` (steps of at most ``dt``)."""
    n = max(1, math.ceil((t1 - t0) / dt - 1e-9))
    h, z, t = (t1 - t0) / n, z0, t0
    for _ in range(n):
        k1 = field(t, z)
        k2 = field(t + h / 2, z + h / 2 * k1)
        k3 = field(t + h / 2, z + h / 2 * k2)
        k4 = field(t + h, z + h * k3)
        z, t = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), t + h
    return z


@POSITIONAL.register("clex")
class CLEX(RoPE):
    """CLEX: RoPE whose frequencies ``θ(t)`` solve a learned ODE over the scaling factor ``t``.

    ``max_factor`` bounds the factors drawn in training (and the automatic
    factor at inference); ``train_len`` is the training length ``L`` (default:
    the transformer's ``max_len``); ``t`` fixes the inference factor (default:
    ``⌈length / L⌉`` capped at ``max_factor``).
    """

    name = "clex"

    def __init__(self, max_factor: int = 8, *, d_model: int, n_head: int, max_len: int = 256,
                 train_len: int | None = None, t: float | None = None, param_factor: int = 1,
                 act: str = "tanh", time_dt: float = 0.1, base: float = 10000.0, **extra: object) -> None:
        _reject_unknown("clex", extra,
                        "max_factor, train_len, t, param_factor, act, time_dt, base")
        if isinstance(max_factor, bool) or not isinstance(max_factor, int | float) or max_factor < 1 \
                or max_factor != int(max_factor):
            raise ConfigError(f"clex: max_factor must be an integer >= 1, got {max_factor!r}")
        if not isinstance(time_dt, int | float) or not 0 < time_dt <= 1:
            raise ConfigError(f"clex: time_dt must be in (0, 1], got {time_dt!r}")
        if not isinstance(param_factor, int) or param_factor < 1:
            raise ConfigError(f"clex: param_factor must be an integer >= 1, got {param_factor!r}")
        super().__init__(d_model=d_model, n_head=n_head, base=base)
        head_dim = d_model // n_head
        if head_dim <= 2:
            raise ConfigError(f"clex needs a head dimension > 2, got {head_dim} (d_model/n_head)")
        self.max_factor, self.time_dt = int(max_factor), float(time_dt)
        self.train_len = int(train_len or max_len)
        if self.train_len < 1:
            raise ConfigError(f"clex: train_len must be >= 1, got {train_len!r}")
        self.t = None if t is None else _check_factor("clex", t)
        self.field = CLEXField(head_dim, param_factor, act, base)
        self._cache: tuple[int, torch.Tensor] | None = None

    def frequencies(self, t: float) -> torch.Tensor:
        """``θ(t) = exp z(t)``; ``θ(1)`` is plain RoPE's ``inv_freq``."""
        t = _check_factor("clex", t)
        if t == 1.0:
            return self.inv_freq
        z0 = torch.log(self.inv_freq)
        return torch.exp(rk4(self.field, z0, 1.0, t, self.time_dt))

    def inference_factor(self, length: int) -> float:
        if self.t is not None:
            return self.t
        return float(min(max(1, math.ceil(length / self.train_len)), self.max_factor))

    def sampled_positions(self, length: int, t: int, device: torch.device) -> torch.Tensor:
        """Sorted distinct positions spanning ``[0, t·length)``: 0, ``t·length - 1``
        and ``length - 2`` random ones between (the reference's training positions)."""
        if t == 1 or length < 3:
            return torch.arange(length, device=device, dtype=torch.float32)
        span = t * length
        inner = torch.randperm(span - 2, device=device)[: length - 2].sort().values + 1
        ends = torch.tensor([0, span - 1], device=device)
        return torch.cat([ends[:1], inner, ends[1:]]).float()

    def _training_angles(self, length: int, device: torch.device) -> torch.Tensor:
        t = int(torch.randint(1, self.max_factor + 1, (1,)))
        pos = self.sampled_positions(length, t, device)
        return pos[:, None] * self.frequencies(t).to(device)[None, :]

    def embed(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Called once per forward pass: in training, draw this pass's factor and
        positions so that every layer rotates with the same ones."""
        self._cache = (idx.shape[1], self._training_angles(idx.shape[1], idx.device)) if self.training \
            else None
        return h

    def angles(self, length: int, device: torch.device) -> torch.Tensor:
        if self.training:
            if self._cache is None or self._cache[0] != length:
                self._cache = (length, self._training_angles(length, device))
            return self._cache[1]
        pos = torch.arange(length, device=device, dtype=torch.float32)
        return pos[:, None] * self.frequencies(self.inference_factor(length)).to(device)[None, :]

    def extra_repr(self) -> str:
        return f"max_factor={self.max_factor}, train_len={self.train_len}, t={self.t}"


def rope_to_clex(clex_model: nn.Module, rope_model: nn.Module) -> nn.Module:
    """Load a plain-RoPE model's weights into the same model with a CLEX encoding (returned), the
    start of CLEX fine-tuning (Chen et al. 2024, Sec. 4: CLEX continues a pretrained RoPE LLM).
    Only the ODE field (``pe.field.*``) may be new; any other mismatch raises ``RuntimeError``."""
    missing, unexpected = clex_model.load_state_dict(rope_model.state_dict(), strict=False)
    if unexpected or not all(k.startswith("pe.field.") for k in missing):  # only the ODE is new
        raise RuntimeError(f"RoPE -> CLEX weights: missing {missing}, unexpected {unexpected}")
    return clex_model
