"""ShiftAddViT parts: shift-kernel linear layers and a mixture of multiplication primitives.

You, Shi, Guo, Li, Wang, Lin, "ShiftAddViT: Mixture of Multiplication Primitives
Towards Efficient Vision Transformer" (NeurIPS 2023). A pre-trained ViT is
reparameterised: Q and K are mapped to binary codes in Hamming space and the
attention MatMuls become additions (this module does not repeat that kernel: it is
:class:`mantissa.nn.ecoformer.EcoFormerAttention`, whose KSH hashing ShiftAddViT
adopts), and the MLP linear layers become shift kernels or a mixture of experts.

**Shift kernel** (:class:`ShiftLinear`, Sec. 4.2, after DeepShift): each weight is
``W ≈ s · 2^P`` with ``s ∈ {−1, 0, +1}`` and integer ``P``
(:func:`mantissa.arith.shift.shift_quantize`), so ``y = x Wᵀ`` is computed with
shifts and additions only (:func:`mantissa.arith.shift.shift_matmul`). Training keeps
a float shadow weight and passes gradients straight through the rounding (STE).

**Mixture of multiplication primitives** (:class:`MoEMultPrimitives`, Sec. 4.3). A
router ``G(x) = softmax(x W_g)`` sends each token to its top-1 expert — a dense
multiplication expert (``nn.Linear``) or a shift expert (:class:`ShiftLinear`). The
expert output is multiplied by ``g / sg(g)`` (``g`` the chosen gate, ``sg`` stop-gradient):
the value is the expert's output unchanged — a pre-trained layer keeps its scale when
it is reparameterised — while the task gradient still reaches the router (our choice;
the usual ``g · E(x)`` would halve a freshly reparameterised layer's output).
**Latency-aware load-balancing loss** (Eq. 6 of the paper as we read it): with the
importance ``Imp_i = Σ_x G(x)_i`` and each expert's latency ``t_i`` normalised to
``α_i = t_i / Σ_j t_j``,

    L_LB = SCV({α_i · Imp_i}) = Var_i(α_i Imp_i) / Mean_i(α_i Imp_i)²,

the squared coefficient of variation of the latency-weighted importances. It is zero
when ``α_i Imp_i`` is equal for every expert, i.e. when the share of tokens of expert
``i`` is ``∝ 1 / t_i``: the faster an expert, the more tokens it gets (two experts:
the fast expert's share is ``t_slow / (t_fast + t_slow)``). With equal latencies it is
the importance loss of Shazeer et al. (2017). The loss is added to the task loss
during training through :func:`add_aux_loss` (a pass-through whose backward also
back-propagates ``weight · L_LB``), so any training loop picks it up unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.arith.shift import shift_dequantize, shift_matmul, shift_quantize
from mantissa.errors import ConfigError, ShapeError

EXPERTS = ("mult", "shift")


class ShiftLinear(nn.Module):
    """``y = x (s·2^P)ᵀ + b``: a linear layer whose weights are signed powers of two.

    ``from_linear(layer)`` copies a trained ``nn.Linear`` (the reparameterisation).
    Under autograd the forward is ``F.linear`` with the quantized weight and an STE
    to the float weight; without gradients it is the multiplication-free
    :func:`~mantissa.arith.shift.shift_matmul`.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 min_exp: int = -12, max_exp: int = 2) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"ShiftLinear {name}={v!r}: expected a positive integer")
        if not min_exp <= max_exp:
            raise ConfigError(f"ShiftLinear needs min_exp <= max_exp, got {min_exp} > {max_exp}")
        self.in_features, self.out_features = in_features, out_features
        self.min_exp, self.max_exp = min_exp, max_exp
        lin = nn.Linear(in_features, out_features, bias=bias)
        self.weight = lin.weight
        self.bias = lin.bias

    @classmethod
    def from_linear(cls, layer: nn.Linear, **kw) -> ShiftLinear:
        out = cls(layer.in_features, layer.out_features, layer.bias is not None, **kw)
        with torch.no_grad():
            out.weight.copy_(layer.weight)
            if layer.bias is not None:
                out.bias.copy_(layer.bias)
        return out

    def codes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sign, exponent)`` int8 tensors of the current weight."""
        return shift_quantize(self.weight, min_exp=self.min_exp, max_exp=self.max_exp)

    def quantized_weight(self) -> torch.Tensor:
        sign, exp = self.codes()
        return shift_dequantize(sign, exp, self.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ShapeError(f"ShiftLinear expects inputs (..., {self.in_features}), got {tuple(x.shape)}")
        if torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad):
            w = self.weight + (self.quantized_weight() - self.weight).detach()  # STE
            return F.linear(x, w, self.bias)
        y = shift_matmul(x.to(self.weight.dtype), *self.codes())
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, exp∈[{self.min_exp}, {self.max_exp}], "
                f"bias={self.bias is not None}")


def latency_weights(latencies: Sequence[float]) -> torch.Tensor:
    """``α_i = t_i / Σ t_j`` (float64); latencies must be positive numbers."""
    lat = list(latencies)
    if len(lat) < 2 or any(isinstance(t, bool) or not isinstance(t, int | float) or not t > 0 for t in lat):
        raise ConfigError(f"latencies={lat!r}: expected at least two positive numbers (one per expert)")
    t = torch.tensor(lat, dtype=torch.float64)
    return t / t.sum()


def latency_aware_balance_loss(gates: torch.Tensor, latencies: Sequence[float]) -> torch.Tensor:
    """``SCV({α_i · Σ_x G(x)_i})`` for router probabilities ``gates`` of shape ``(tokens, experts)``."""
    if gates.dim() != 2 or gates.shape[1] != len(latencies):
        raise ShapeError(f"gates must be (tokens, experts={len(latencies)}), got {tuple(gates.shape)}")
    weighted = gates.sum(0) * latency_weights(latencies).to(gates.dtype)
    return weighted.var(unbiased=False) / weighted.mean().pow(2).clamp_min(1e-12)


class _AddAux(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ctx.dtype = aux.dtype
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        return grad, torch.ones((), dtype=ctx.dtype, device=grad.device)


def add_aux_loss(x: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:
    """Return ``x`` unchanged; on backward, ``aux`` is back-propagated as if added to the loss."""
    return _AddAux.apply(x, aux)


class MoEMultPrimitives(nn.Module):
    """Top-1 mixture of a multiplication expert and a shift expert, latency-aware router.

    ``latencies``: per-expert cost constants in the order of :data:`EXPERTS`
    (``mult``, ``shift``); ``balance_weight``: the factor on ``L_LB`` in training.
    After each forward, ``last_gates`` (``(tokens, 2)``), ``last_assignment`` (expert
    index per token) and ``last_balance_loss`` hold the routing of that batch;
    ``routed`` accumulates token counts per expert (reset with ``reset_counts``).
    """

    def __init__(self, in_features: int, out_features: int, *, latencies: Sequence[float] = (1.0, 0.5),
                 balance_weight: float = 0.01, **shift_kw) -> None:
        super().__init__()
        if len(latencies) != len(EXPERTS):
            raise ConfigError(f"latencies={list(latencies)!r}: expected one per expert {EXPERTS}")
        latency_weights(latencies)
        bw = balance_weight
        if isinstance(bw, bool) or not isinstance(bw, int | float) or bw < 0:
            raise ConfigError(f"balance_weight={balance_weight!r}: expected a number >= 0")
        self.latencies, self.balance_weight = tuple(float(t) for t in latencies), float(balance_weight)
        self.router = nn.Linear(in_features, len(EXPERTS))
        nn.init.zeros_(self.router.weight), nn.init.zeros_(self.router.bias)
        self.experts = nn.ModuleList([nn.Linear(in_features, out_features),
                                      ShiftLinear(in_features, out_features, **shift_kw)])
        self.register_buffer("routed", torch.zeros(len(EXPERTS), dtype=torch.long))
        self.last_gates = self.last_assignment = self.last_balance_loss = None

    @classmethod
    def from_linear(cls, layer: nn.Linear, **kw) -> MoEMultPrimitives:
        """Both experts start from a trained layer (the shift expert as its power-of-two copy)."""
        out = cls(layer.in_features, layer.out_features, **kw)
        with torch.no_grad():
            for e in out.experts:
                e.weight.copy_(layer.weight)
                e.bias.copy_(layer.bias)
        return out

    def reset_counts(self) -> None:
        self.routed.zero_()

    def shift_share(self) -> float:
        """Fraction of the tokens counted so far that went to the shift expert."""
        total = int(self.routed.sum())
        return float("nan") if total == 0 else int(self.routed[1]) / total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1])
        gates = torch.softmax(self.router(flat), dim=-1)
        choice = gates.argmax(-1)
        out = flat.new_zeros(flat.shape[0], self.experts[0].out_features)
        for i, expert in enumerate(self.experts):
            idx = (choice == i).nonzero(as_tuple=True)[0]
            if idx.numel():
                g = gates[idx, i:i + 1]
                out = out.index_add(0, idx, expert(flat[idx]) * (g / g.detach()))
        loss = latency_aware_balance_loss(gates, self.latencies)
        self.last_gates, self.last_assignment, self.last_balance_loss = gates.detach(), choice, loss.detach()
        if not self.training:
            self.routed += torch.bincount(choice, minlength=len(EXPERTS))
        elif torch.is_grad_enabled() and self.balance_weight:
            out = add_aux_loss(out, self.balance_weight * loss)
        return out.reshape(*lead, out.shape[-1])

    def extra_repr(self) -> str:
        return f"experts={EXPERTS}, latencies={self.latencies}, balance_weight={self.balance_weight}"


def reparameterise_mlp(blocks: Sequence[nn.Module], *, all_shift: bool = False,
                       latencies: Sequence[float] = (1.0, 0.5), balance_weight: float = 0.01,
                       names: Sequence[str] = ("fc1", "fc2")) -> list[MoEMultPrimitives]:
    """ShiftAddViT's MLP reparameterisation (You et al., 2023, Sec. 4.2): replace the linear
    layers ``names`` of every block in place by a :class:`MoEMultPrimitives` started from the
    trained layer, or by a :class:`ShiftLinear` when ``all_shift``; returns the MoE layers in
    block order (empty when ``all_shift``)."""
    moes = []
    for blk in blocks:
        for name in names:
            layer = getattr(blk, name)
            if all_shift:
                new = ShiftLinear.from_linear(layer)
            else:
                new = MoEMultPrimitives.from_linear(layer, latencies=latencies, balance_weight=balance_weight)
                moes.append(new)
            setattr(blk, name, new)
    return moes
