"""Integer-only BERT-family encoder: the ``int-only`` recipe's whole-encoder pipeline.

Papers: Kim et al., "I-BERT: Integer-only BERT Quantization" (ICML 2021) runs
every op of a BERT encoder on integers; Li & Gu, "I-ViT" (ICCV 2023) gives the
shift-based non-linearities used here — Shiftmax (Eq. 8-12), ShiftGELU
(Eq. 13-14), I-LayerNorm (Sec. 3.5) in :mod:`mantissa.arith.i_vit` — and the
dyadic requantization ``(q·m) >> k`` (Eq. 5, :mod:`mantissa.arith.dyadic`).
Post-training and static: every activation scale is calibrated on real text
(I-BERT and I-ViT fine-tune with quantization in the loop; we do not).

One post-LayerNorm BERT layer, integer widths in brackets::

    x [int16] ─ requant int8 ─ Q,K,V (int8×int8→int32) ─ requant int8 ─ QKᵀ ─ requant to 2^-(a+4)
      │            ─ Shiftmax [uint8] ─ ·V ─ requant int8 ─ attention.output.dense ─ requant [int16]
      └─ dyadic to that scale ────────────────────────────────────────── + ─ I-LayerNorm ─ h [int16]
    h ─ requant int8 ─ intermediate.dense ─ [int16] ─ ShiftGELU ─ requant int8 ─ output.dense [int16]
      └─ dyadic ─────────────────────────────────────────────────────── + ─ I-LayerNorm ─ next x

Matmul inputs are int8 at the calibrated scales of the layers that read them; the
residual stream and LayerNorm outputs are 16-bit at the LayerNorm's bound scale
``max|γ|·√C + max|β|``, and each residual sum's scale is chosen so that the
calibrated ranges of both addends cannot overflow ``res_bits``. Shiftmax and
ShiftGELU read their inputs at ``2^-(act_bits+4)`` (GELU on the wide FFN
accumulator, as I-BERT's i-GELU) and normalise with a 48-bit reciprocal. The only
float operations are at the boundary: quantizing the embedding output once, and
dequantizing the last layer's output for pooling.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mantissa.arith.dyadic import dyadic_from_scale, dyadic_requant
from mantissa.arith.i_vit import shift_gelu, shiftmax
from mantissa.errors import ConfigError
from mantissa.models import i_vit
from mantissa.quant.grid import int_qmax
from mantissa.quant.layers import LAYERS, IntLinear, QuantLinear


@LAYERS.register("int-static")
class StaticIntLinear(IntLinear):
    """int8 per-channel weights with a static per-tensor input scale (``act``) and the
    calibrated absolute maximum of the layer's output (``out_amax``), which fixes the
    integer pipeline's output scale. Used alone it runs as a fake-quantized linear."""

    kind = "int-static"
    extra_meta = ("out_amax",)
    out_amax: float = 0.0

    @property
    def in_scale(self) -> float:
        return float(self.act.scale)


def _int_linear(layer: nn.Module, s_out: float, out_bits: int, dyadic_bits: int) -> i_vit.IntLinear:
    if not isinstance(layer, StaticIntLinear):
        raise ConfigError(f"the integer-only encoder needs int-static layers, got {type(layer).__name__}")
    return i_vit.IntLinear.from_codes(layer.codes, layer.scales.reshape(-1), layer.bias,
                                        layer.in_scale, s_out, out_bits, dyadic_bits)


def _int_norm(norm: nn.LayerNorm, s_out: float, bits: int, dyadic_bits: int) -> i_vit.IntLayerNorm:
    return i_vit.IntLayerNorm(norm, s_out, i_vit.IntViTConfig(act_bits=bits, dyadic_bits=dyadic_bits))


RECIP_BITS = 48  # width of Shiftmax's / ShiftGELU's normalising reciprocal (int64-safe <= 62)


def _nonlinear_scale(amax: float, frac_bits: int, limit: int) -> float:
    """Input scale of a shift-based non-linearity: ``2^-frac_bits``, or the smallest power of two
    that keeps ``amax`` within ``±limit``."""
    s = 2.0 ** -frac_bits
    while amax / s > limit:
        s *= 2
    return s


def _ln_scale(norm: nn.LayerNorm, bits: int) -> float:
    """Scale at which a LayerNorm's output cannot overflow ``bits``: ``|y| <= max|γ|·sqrt(C) + max|β|``."""
    bound = float(norm.weight.detach().abs().max()) * norm.weight.numel() ** 0.5
    if norm.bias is not None:
        bound += float(norm.bias.detach().abs().max())
    return bound / int_qmax(bits)


class IntBertLayer:
    """One post-LayerNorm BERT layer on integers (see the module docstring).

    ``x`` comes in at ``res_bits`` and scale ``s_x``; the layer's output leaves at
    ``res_bits`` and :attr:`s_out`. Matmul inputs are requantized to ``act_bits`` at the
    calibrated scales of the layers that read them.
    """

    def __init__(self, layer: nn.Module, s_x: float, act_bits: int, res_bits: int,
                 dyadic_bits: int) -> None:
        att, ffn_in, ffn_out = layer.attention, layer.intermediate.dense, layer.output
        qkv = (att.self.query, att.self.key, att.self.value)
        a, r = int_qmax(act_bits), int_qmax(res_bits)
        self.act_bits, self.act, self.res = act_bits, (-a, a), (-r, r)
        self.x8 = dyadic_from_scale(s_x / qkv[0].in_scale, dyadic_bits)
        s_q, s_k, s_v = (max(lin.out_amax, 1e-8) / a for lin in qkv)
        self.q, self.k, self.v = (_int_linear(lin, s_o, act_bits, dyadic_bits)
                                  for lin, s_o in zip(qkv, (s_q, s_k, s_v), strict=True))
        self.n_head = att.self.num_attention_heads
        # Shiftmax and ShiftGELU: inputs at scale 2^-(act_bits+4), exponentials clipped at
        # 2^-(act_bits+1) (below the output's LSB), normalised with a 48-bit reciprocal (the
        # paper's 31 bits would keep only a few significant bits at these sums)
        self.n_exp = act_bits + 1
        self.s_sm = 2.0 ** -(act_bits + 4)
        s_score = s_q * s_k / (qkv[0].out_features // self.n_head) ** 0.5
        self.scores = dyadic_from_scale(s_score / self.s_sm, dyadic_bits)
        dense = att.output.dense
        self.pv = dyadic_from_scale(s_v * 2.0 ** -(act_bits - 1) / dense.in_scale, dyadic_bits)
        s_r1 = s_x + dense.out_amax / r  # both addends' calibrated ranges fit res_bits
        self.attn_out = _int_linear(dense, s_r1, res_bits, dyadic_bits)
        self.res1 = dyadic_from_scale(s_x / s_r1, dyadic_bits)
        s_h = _ln_scale(att.output.LayerNorm, res_bits)
        self.ln1 = _int_norm(att.output.LayerNorm, s_h, res_bits, dyadic_bits)
        self.h8 = dyadic_from_scale(s_h / ffn_in.in_scale, dyadic_bits)
        # GELU reads the FFN accumulator at res_bits (I-BERT's i-GELU takes the wide input)
        self.s_f = _nonlinear_scale(ffn_in.out_amax, act_bits + 4, r)
        self.fc1 = _int_linear(ffn_in, self.s_f, res_bits, dyadic_bits)
        self.gelu = dyadic_from_scale(self.s_f * 2.0 ** -(act_bits - 1) / ffn_out.dense.in_scale,
                                      dyadic_bits)
        s_r2 = s_h + ffn_out.dense.out_amax / r
        self.fc2 = _int_linear(ffn_out.dense, s_r2, res_bits, dyadic_bits)
        self.res2 = dyadic_from_scale(s_h / s_r2, dyadic_bits)
        self.s_out = _ln_scale(ffn_out.LayerNorm, res_bits)
        self.ln2 = _int_norm(ffn_out.LayerNorm, self.s_out, res_bits, dyadic_bits)

    def __call__(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        b, t, d = x.shape
        x8 = dyadic_requant(x, *self.x8, clamp=self.act)
        q, k, v = (lin(x8).reshape(b, t, self.n_head, -1).transpose(1, 2) for lin in (self.q, self.k, self.v))
        scores = dyadic_requant(q @ k.transpose(-2, -1), *self.scores)
        p, _ = shiftmax(scores, self.s_sm, out_bits=self.act_bits, n=self.n_exp, mask=keep,
                        recip_bits=RECIP_BITS)
        ctx = dyadic_requant(p @ v, *self.pv, clamp=self.act).transpose(1, 2).reshape(b, t, d)
        r = (self.attn_out(ctx) + dyadic_requant(x, *self.res1)).clamp(*self.res)
        h = self.ln1(r)
        g, _ = shift_gelu(self.fc1(dyadic_requant(h, *self.h8, clamp=self.act)), self.s_f,
                          out_bits=self.act_bits, n=self.n_exp, recip_bits=RECIP_BITS)
        g = dyadic_requant(g, *self.gelu, clamp=self.act)
        r = (self.fc2(g) + dyadic_requant(h, *self.res2)).clamp(*self.res)
        return self.ln2(r)


def _bert_layers(module: nn.Module) -> nn.ModuleList:
    layers = getattr(getattr(module, "encoder", None), "layer", None)
    needed = ("attention.self.query", "attention.output.dense", "attention.output.LayerNorm",
              "intermediate.dense", "output.dense", "output.LayerNorm")
    if not isinstance(layers, nn.ModuleList) or not len(layers) or not all(
            _has(layers[0], n) for n in needed):
        raise ConfigError(f"recipe 'int-only' handles BERT-family encoders (encoder.layer[i] with "
                          f"{', '.join(needed)}); {type(module).__name__} is not one")
    return layers


def _has(module: nn.Module, name: str) -> bool:
    try:
        module.get_submodule(name)
    except AttributeError:
        return False
    return True


class IntBertEncoder(nn.Module):
    """Drop-in for a BERT ``encoder``: same ``layer`` modules (same state-dict keys), forward on
    integers. ``forward`` returns an object with ``last_hidden_state`` like the HF encoder."""

    def __init__(self, layers: nn.ModuleList, s_in: float, act_bits: int = 8, res_bits: int = 16,
                 dyadic_bits: int = 24) -> None:
        super().__init__()
        self.layer = layers
        self.s_in, self.res_bits = s_in, res_bits
        self.blocks = []
        for lay in layers:
            self.blocks.append(IntBertLayer(lay, s_in, act_bits, res_bits, dyadic_bits))
            s_in = self.blocks[-1].s_out
        self.s_out = s_in

    def forward_int(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Integer in (``res_bits`` at :attr:`s_in`), integer out (``res_bits`` at :attr:`s_out`)."""
        for blk in self.blocks:
            x = blk(x, keep)
        return x

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                **_: Any) -> Any:
        r = int_qmax(self.res_bits)
        x = torch.round(hidden_states / self.s_in).clamp(-r, r).to(torch.int64)
        y = self.forward_int(x, _keep_mask(attention_mask))
        from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions as Output

        return Output(last_hidden_state=y.to(hidden_states.dtype) * self.s_out)


def _keep_mask(mask: torch.Tensor | None) -> torch.Tensor | None:
    """HF's encoder mask (bool keep-mask for sdpa, additive float mask for eager) -> bool keep."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return mask
    return mask > torch.finfo(mask.dtype).min / 2


def install_int_encoder(module: nn.Module, act_bits: int = 8, res_bits: int = 16,
                        dyadic_bits: int = 24) -> IntBertEncoder:
    """Replace ``module.encoder`` by its integer-only twin (its layers must be int-static)."""
    layers = _bert_layers(module)
    plain = [n for n, m in layers.named_modules() if isinstance(m, nn.Linear | QuantLinear)
             and not isinstance(m, StaticIntLinear)]
    if plain:
        raise ConfigError(f"the integer-only encoder needs every encoder linear quantized by the "
                          f"'int-only' recipe; not: encoder.layer.{plain[0]}")
    for lay in layers:  # Q, K and V read the same integer tensor: one scale for the three
        qkv = [getattr(lay.attention.self, n) for n in ("query", "key", "value")]
        s_x = max(lin.in_scale for lin in qkv)
        for lin in qkv:
            lin.act.scale.fill_(s_x)
    entry = getattr(getattr(module, "embeddings", None), "LayerNorm", None)
    s_in = (_ln_scale(entry, res_bits) if isinstance(entry, nn.LayerNorm)
            else 2 * layers[0].attention.self.query.in_scale * int_qmax(act_bits) / int_qmax(res_bits))
    enc = IntBertEncoder(layers, s_in, act_bits, res_bits, dyadic_bits)
    module.encoder = enc
    return enc
