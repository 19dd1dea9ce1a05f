"""Integer-only inference of a trained :class:`~mantissa.models.tiny_vit.TinyViT` (I-ViT pipeline).

Li & Gu, "I-ViT: Integer-only Quantization for Efficient Vision Transformer
Inference" (ICCV 2023), Fig. 2: every matmul is int8 × int8 with int32/int64
accumulation, every rescale a dyadic multiply-and-shift, and the
non-linearities are Shiftmax, ShiftGELU and I-LayerNorm
(:mod:`mantissa.arith.i_vit`). Conversion is post-training and static: scales
come from the absolute maxima of a calibration batch (I-ViT fine-tunes with
quantization in the loop instead; we do not).

Layout of one block, with the integer widths::

    r (res_bits) ─ I-LayerNorm ─ int8 ─ Q,K,V linears ─ int8 ─ QKᵀ ─ Shiftmax ─ uint8 ─ ·V ─ int8
      └──────────────────── + ◄─ proj linear (dyadic to the residual scale) ◄───────────┘
    r ─ I-LayerNorm ─ int8 ─ fc1 ─ int8 ─ ShiftGELU ─ requant int8 ─ fc2 ─ + r

Weights are int8 per output channel; biases int64 at the accumulator scale.
:meth:`IntViT.forward` only touches integer tensors (checked in the tests
with :func:`mantissa.arith.integer_only`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from mantissa.arith._check import int_tensor
from mantissa.arith.dyadic import dyadic_from_scale, dyadic_requant, dyadic_tensor
from mantissa.arith.i_vit import i_layernorm, layernorm_constants, shift_gelu, shiftmax
from mantissa.models.tiny_vit import TinyViT, patchify


@dataclass
class IntViTConfig:
    act_bits: int = 8  # inputs of every matmul
    res_bits: int = 16  # the residual stream
    softmax_bits: int = 8  # Shiftmax output
    gelu_bits: int = 8  # ShiftGELU sigmoid precision
    weight_bits: int = 8
    dyadic_bits: int = 24


def _qmax(bits: int) -> int:
    return 2 ** (bits - 1) - 1


class IntLinear:
    """``nn.Linear`` as int8 weights (per output channel) + int bias + dyadic output rescale."""

    def __init__(self, lin: nn.Linear, s_in: float, s_out: float, out_bits: int, cfg: IntViTConfig,
                 rows: slice = slice(None)) -> None:
        w = lin.weight.detach().double()[rows]
        b = lin.bias.detach().double()[rows] if lin.bias is not None else torch.zeros(w.shape[0])
        s_w = (w.abs().amax(dim=1) / _qmax(cfg.weight_bits)).clamp_min(1e-12)
        self._setup(torch.round(w / s_w[:, None]), s_w, b, s_in, s_out, out_bits, cfg.dyadic_bits)

    @classmethod
    def from_codes(cls, codes: torch.Tensor, s_w: torch.Tensor, bias: torch.Tensor | None,
                   s_in: float, s_out: float, out_bits: int, dyadic_bits: int = 24) -> IntLinear:
        """From already quantized integer ``codes`` ``(out, in)`` with per-row scales ``s_w``."""
        self = cls.__new__(cls)
        b = torch.zeros(codes.shape[0], dtype=torch.float64) if bias is None else bias.detach().double()
        self._setup(codes, s_w.detach().double(), b, s_in, s_out, out_bits, dyadic_bits)
        return self

    def _setup(self, codes: torch.Tensor, s_w: torch.Tensor, b: torch.Tensor, s_in: float,
               s_out: float, out_bits: int, dyadic_bits: int) -> None:
        self.weight = codes.to(torch.int64)
        fits = bool(codes.numel()) and int(codes.abs().max()) <= 127
        self.weight8 = codes.to(torch.int8).t().contiguous() if fits else None
        self.bias = torch.round(b / (s_in * s_w)).to(torch.int64)
        self.m, self.k = dyadic_tensor(s_in * s_w / s_out, dyadic_bits)
        self.clamp = (-_qmax(out_bits), _qmax(out_bits))

    def __call__(self, q: torch.Tensor) -> torch.Tensor:
        return dyadic_requant(self.matmul(q) + self.bias, self.m, self.k, clamp=self.clamp)

    def matmul(self, q: torch.Tensor) -> torch.Tensor:
        """``q @ Wᵀ`` exactly, in int64. int8 × int8 inputs go through ``torch._int_mm`` (int32
        accumulation: exact while ``in_features · 127² < 2^31``, i.e. up to 133k inputs)."""
        lo, hi = q.aminmax() if q.numel() else (q.new_zeros(()), q.new_zeros(()))
        if self.weight8 is None or int(lo) < -128 or int(hi) > 127 or q.shape[-1] * 127**2 >= 2**31:
            return q @ self.weight.t()
        flat = q.reshape(-1, q.shape[-1]).to(torch.int8)
        return torch._int_mm(flat, self.weight8).to(torch.int64).reshape(*q.shape[:-1], -1)


class IntLayerNorm:
    def __init__(self, ln: nn.LayerNorm, s_out: float, cfg: IntViTConfig) -> None:
        self.m, self.k, self.beta = layernorm_constants(ln.weight, ln.bias, s_out, cfg.dyadic_bits)
        self.clamp = (-_qmax(cfg.act_bits), _qmax(cfg.act_bits))

    def __call__(self, q: torch.Tensor) -> torch.Tensor:
        return i_layernorm(q, gamma_m=self.m, gamma_k=self.k, beta_q=self.beta, clamp=self.clamp)[0]


def calibrate(model: TinyViT, images: torch.Tensor) -> dict[str, float]:
    """Absolute maximum of every traced tensor of the float model on ``images``."""
    trace: dict[str, list[torch.Tensor]] = {}
    model.eval()
    with torch.no_grad():
        logits = model(images, trace=trace)
    out = {k: max(float(t.abs().max()) for t in v) for k, v in trace.items()}
    out["logits"] = float(logits.abs().max())
    return out


class IntBlock:
    """One integer-only pre-norm ViT block."""

    def __init__(self, blk: nn.Module, amax: dict[str, float], prefix: str, s_res: float,
                 cfg: IntViTConfig) -> None:
        a = _qmax(cfg.act_bits)
        s = {n: max(amax[prefix + n], 1e-8) / a for n in ("ln1", "q", "k", "v", "attn", "ln2", "fc1", "gelu")}
        d = blk.qkv.in_features
        self.n_head, self.cfg = blk.n_head, cfg
        self.ln1, self.ln2 = IntLayerNorm(blk.norm1, s["ln1"], cfg), IntLayerNorm(blk.norm2, s["ln2"], cfg)
        self.q, self.k, self.v = (
            IntLinear(blk.qkv, s["ln1"], s[n], cfg.act_bits, cfg, slice(i * d, (i + 1) * d))
            for i, n in enumerate("qkv"))
        self.s_score = s["q"] * s["k"] / math.sqrt(d // blk.n_head)
        self.pv = dyadic_from_scale(s["v"] * 2.0 ** -(cfg.softmax_bits - 1) / s["attn"], cfg.dyadic_bits)
        self.proj = IntLinear(blk.proj, s["attn"], s_res, cfg.res_bits, cfg)
        self.fc1 = IntLinear(blk.fc1, s["ln2"], s["fc1"], cfg.act_bits, cfg)
        self.s_fc1 = s["fc1"]
        self.gelu = dyadic_from_scale(s["fc1"] * 2.0 ** -(cfg.gelu_bits - 1) / s["gelu"], cfg.dyadic_bits)
        self.fc2 = IntLinear(blk.fc2, s["gelu"], s_res, cfg.res_bits, cfg)
        self.act = (-a, a)
        self.res = (-_qmax(cfg.res_bits), _qmax(cfg.res_bits))

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        b, t, d = r.shape
        h = self.ln1(r)
        q, k, v = (lin(h).reshape(b, t, self.n_head, -1).transpose(1, 2) for lin in (self.q, self.k, self.v))
        p, _ = shiftmax(q @ k.transpose(-2, -1), self.s_score, out_bits=self.cfg.softmax_bits)
        a = dyadic_requant(p @ v, *self.pv, clamp=self.act).transpose(1, 2).reshape(b, t, d)
        r = (r + self.proj(a)).clamp(*self.res)
        h = self.fc1(self.ln2(r))
        g, _ = shift_gelu(h, self.s_fc1, out_bits=self.cfg.gelu_bits)
        g = dyadic_requant(g, *self.gelu, clamp=self.act)
        return (r + self.fc2(g)).clamp(*self.res)


class IntViT:
    """Integer-only twin of a trained TinyViT: ``forward(pixels int) -> int logits``.

    ``input_scale``: real value of one input integer step (digits: pixels 0..16
    with a model trained on pixels/16 -> 1/16).
    """

    def __init__(self, model: TinyViT, calib_images: torch.Tensor, input_scale: float,
                 cfg: IntViTConfig | None = None) -> None:
        self.cfg = cfg = cfg or IntViTConfig()
        amax = calibrate(model, calib_images)
        res_keys = [k for k in amax if k.startswith("res") or ".res_" in k]
        self.s_res = max(amax[k] for k in res_keys) / _qmax(cfg.res_bits)
        self.patch = model.cfg.patch
        self.embed = IntLinear(model.embed, input_scale, self.s_res, cfg.res_bits, cfg)
        self.pos = torch.round(model.pos.detach().double() / self.s_res).to(torch.int64)
        self.blocks = [IntBlock(blk, amax, f"blocks.{i}.", self.s_res, cfg)
                       for i, blk in enumerate(model.blocks)]
        s_lnf = amax["ln_f"] / _qmax(cfg.act_bits)
        self.norm = IntLayerNorm(model.norm, s_lnf, cfg)
        self.logit_scale = amax["logits"] / _qmax(16)
        self.head = IntLinear(model.head, s_lnf, self.logit_scale, 24, cfg)
        self.res = (-_qmax(cfg.res_bits), _qmax(cfg.res_bits))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Integer logits ``(B, classes)`` at scale :attr:`logit_scale`."""
        x = patchify(int_tensor(pixels, "pixels").to(torch.int64), self.patch)
        r = (self.embed(x) + self.pos).clamp(*self.res)
        for blk in self.blocks:
            r = blk(r)
        h = self.norm(r)
        t = h.shape[1]
        pooled = torch.div(h.sum(dim=1) + t // 2, t, rounding_mode="floor")
        return self.head(pooled)

    __call__ = forward
