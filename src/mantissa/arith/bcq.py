"""Binary-coding quantization (BCQ) and the LUT query-add matmul of ShiftAddLLM.

Paper: You et al., "ShiftAddLLM: Accelerating Pretrained LLMs via
Post-Training Multiplication-Less Reparameterization" (NeurIPS 2024), Sec. 3
(Eq. 2-4: ``W ≈ Σ_i α_i b_i``, shifts for the scales, LUT queries for the
binary matrices); BCQ and its alternating refinement follow Xu et al.,
"Alternating Multi-bit Quantization for Recurrent Neural Networks" (ICLR 2018)
as ShiftAddLLM does.

For each output row and each group of ``group`` consecutive inputs, the weight
vector ``w`` (length ``g``) is approximated by ``Σ_{i<q} α_i b_i`` with
``b_i ∈ {±1}^g``:

1. greedy: ``b_i = sign(r)``, ``α_i = mean|r|``, ``r <- r - α_i b_i``;
2. alternate ``iters`` times: ``α`` by (weighted) least squares given ``B``;
   ``B`` by picking, per element, the closest of the ``2^q`` values ``±α_1 ± ... ± α_q``;
3. optionally ``scales="pow2"``: each ``α`` rounded to a signed power of two (a
   shift), then ``B`` refit; ``"pow2x2"``: ``α`` a sum of two powers of two.

``importance`` (per input channel, e.g. the mean squared activation) weights the
least-squares fit: a diagonal stand-in for ShiftAddLLM's output-error objective.

``lut_matmul`` computes ``x Ŵᵀ`` without multiplying by weights: for every
chunk of 8 inputs it tabulates all 256 sums ``±x_1 ± ... ± x_8`` once, then each
output looks its code byte up in the table and adds; the group scales are
applied once per group.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as nn_functional

from mantissa.arith._check import choice, float_tensor, int_in_range
from mantissa.errors import ShapeError
from mantissa.formats.bits import pack_signs

SCALES = ("float", "pow2", "pow2x2")


@dataclass
class BCQ:
    """A BCQ-quantized ``(out, in)`` weight: ``codes`` (q, out, in) int8 ±1 and
    ``alpha`` (q, out, in // group) scales."""

    codes: torch.Tensor
    alpha: torch.Tensor
    group: int

    @property
    def bits(self) -> int:
        return int(self.codes.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.codes.shape[1]), int(self.codes.shape[2])

    def dequantize(self) -> torch.Tensor:
        q, out, inp = self.codes.shape
        a = self.alpha.repeat_interleave(self.group, dim=-1)
        return (a * self.codes.to(a.dtype)).sum(0)

    def packed(self) -> torch.Tensor:
        """Codes bit-packed: (q, out, in // 8) uint8, bit j of byte c set iff code[8c + j] = +1
        (packed once: :func:`lut_matmul` reads them on every call)."""
        if "_packed" not in self.__dict__:
            q, out, inp = self.codes.shape
            if inp % 8:
                raise ShapeError(f"the input dimension ({inp}) must be divisible by 8 to pack bits")
            signs = pack_signs(self.codes.reshape(-1, inp), inp // 8, order="lsb")
            self.__dict__["_packed"] = signs.view(q, out, inp // 8)
        return self.__dict__["_packed"]


def _check_group(n_in: int, group: int) -> int:
    if group == -1:
        return n_in
    if isinstance(group, bool) or not isinstance(group, int) or group <= 0 or n_in % group:
        raise ShapeError(f"group must be a positive divisor of in_features={n_in} (or -1 for the "
                         f"whole row), got {group!r}")
    return group


def _signs(q: int, dtype: torch.dtype) -> torch.Tensor:
    """(2^q, q) matrix of every ±1 combination."""
    idx = torch.arange(2**q)[:, None]
    return (((idx >> torch.arange(q)) & 1) * 2 - 1).to(dtype)


def _fit_codes(w: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Per element, the ±1 combination whose value Σ α_i b_i is closest to w (by binary
    search among the row's sorted 2^q values)."""
    combos = _signs(alpha.shape[-1], w.dtype)  # (C, q)
    values, order = (alpha @ combos.t()).sort(-1)  # (N, C)
    mids = (values[:, 1:] + values[:, :-1]) / 2
    best = order.gather(1, torch.searchsorted(mids, w.contiguous()))  # (N, g)
    return combos[best]  # (N, g, q)


def _fit_alpha(w: torch.Tensor, b: torch.Tensor, h: torch.Tensor | None) -> torch.Tensor:
    """(Weighted) least squares α for fixed codes; a small ridge keeps it solvable."""
    bw = b if h is None else b * h[..., None]
    gram = bw.transpose(1, 2) @ b  # (N, q, q)
    rhs = (bw.transpose(1, 2) @ w[..., None]).squeeze(-1)
    ridge = 1e-8 * gram.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-30)
    gram = gram + ridge[:, None, None] * torch.eye(b.shape[-1], dtype=w.dtype)
    return torch.linalg.solve(gram, rhs)


def round_pow2(a: torch.Tensor, terms: int = 1) -> torch.Tensor:
    """Round to the nearest signed power of two (``terms=2``: sum of two powers of two)."""
    out = torch.zeros_like(a)
    r = a.clone()
    for _ in range(terms):
        mag = r.abs()
        e = torch.floor(torch.log2(mag.clamp_min(1e-38)))
        lo, hi = 2.0**e, 2.0 ** (e + 1)
        p = torch.where(mag - lo <= hi - mag, lo, hi)
        p = torch.where(mag > 0, p, torch.zeros_like(p)) * torch.sign(r)
        out, r = out + p, r - p
    return out


def bcq_quantize(weight: torch.Tensor, bits: int, group: int = 128, *, iters: int = 15,
                 scales: str = "float", importance: torch.Tensor | None = None) -> BCQ:
    """Binary-coding quantization of an ``(out, in)`` weight with ``bits`` binary matrices."""
    weight = float_tensor(weight, "weight")
    if weight.dim() != 2:
        raise ShapeError(f"weight must be 2-D (out_features, in_features), got {tuple(weight.shape)}")
    q = int_in_range(bits, "bits", 1, 8)
    int_in_range(iters, "iters", 0, 1000)
    scales = choice(scales, "scales", SCALES)
    out, n_in = weight.shape
    g = _check_group(n_in, group)
    w = weight.detach().double().reshape(out * (n_in // g), g)
    h = None
    if importance is not None:
        importance = float_tensor(importance, "importance")
        if importance.shape != (n_in,):
            raise ShapeError(f"importance must have shape ({n_in},), got {tuple(importance.shape)}")
        h = importance.detach().double().clamp_min(0).reshape(1, n_in // g, g)
        h = h.expand(out, -1, -1).reshape(-1, g) + 1e-12
    r, bs, alphas = w.clone(), [], []
    for _ in range(q):  # greedy initialisation
        b = torch.where(r >= 0, 1.0, -1.0).to(w.dtype)
        a = r.abs().mean(-1, keepdim=True)
        bs.append(b)
        alphas.append(a)
        r = r - a * b
    b, alpha = torch.stack(bs, -1), torch.cat(alphas, -1)  # (N, g, q), (N, q)
    for _ in range(iters if q > 1 else 0):
        alpha = _fit_alpha(w, b, h)
        b = _fit_codes(w, alpha)
    if scales != "float":
        alpha = round_pow2(alpha, 1 if scales == "pow2" else 2)
        b = _fit_codes(w, alpha)
    codes = b.reshape(out, n_in // g, g, q).permute(3, 0, 1, 2).reshape(q, out, n_in)
    alpha = alpha.reshape(out, n_in // g, q).permute(2, 0, 1)
    return BCQ(codes.to(torch.int8), alpha.to(weight.dtype), g)


_SIGNS = ((torch.arange(256)[:, None] >> torch.arange(8)[None, :]) & 1) * 2 - 1  # (256, 8): pattern -> ±1


def _lut_tables(x2: torch.Tensor) -> torch.Tensor:
    """(T, in) -> (in // 8 · 256, T): every ±sum of each chunk of 8 activations, one table
    row per (chunk, sign pattern) so that a look-up reads a contiguous row of T values."""
    chunks = x2.t().reshape(-1, 8, x2.shape[0])  # (C, 8, T)
    return torch.matmul(_SIGNS.to(x2.dtype), chunks).reshape(-1, x2.shape[0])  # (C, 256, T)


def lut_matmul(x: torch.Tensor, bcq: BCQ, *, chunk_rows: int = 256) -> torch.Tensor:
    """``x @ bcq.dequantize().T`` by table look-ups and adds (any leading batch shape).

    Needs ``group`` divisible by 8 (a table covers 8 inputs of one group). Per output,
    bit plane and group, the ``group // 8`` code bytes index their tables and the
    looked-up sums are added (one ``embedding_bag`` of sums); each group sum is then
    scaled once by its ``α`` and the groups and bit planes are added.
    """
    x = float_tensor(x, "x")
    out, n_in = bcq.shape
    if x.shape[-1] != n_in:
        raise ShapeError(f"x has {x.shape[-1]} features but the weight takes {n_in}")
    if bcq.group % 8:
        raise ShapeError(f"lut_matmul needs a group size divisible by 8, got {bcq.group}")
    n_chunks, per_group = n_in // 8, bcq.group // 8
    rows_of = bcq.packed().to(torch.int64) + torch.arange(n_chunks) * 256  # (q, out, C) table rows
    bags = rows_of.transpose(0, 1).reshape(-1, per_group)  # one bag per (output, bit plane, group)
    alpha = bcq.alpha.to(x.dtype).transpose(0, 1).reshape(out, 1, -1)  # (out, 1, q·G)
    x2 = x.reshape(-1, n_in)
    parts = []
    for t in range(0, x2.shape[0], chunk_rows):
        table = _lut_tables(x2[t:t + chunk_rows])  # (C·256, T)
        sums = nn_functional.embedding_bag(bags, table, mode="sum")  # query + add within groups
        y = torch.bmm(alpha, sums.reshape(out, alpha.shape[-1], -1))  # one scale per group, add
        parts.append(y.reshape(out, -1).t())
    y = torch.cat(parts) if parts else torch.zeros(0, out, dtype=x.dtype)
    return y.reshape(*x.shape[:-1], out)


def bcq_bits_per_weight(bcq: BCQ, scale_bits: int = 16) -> float:
    """Storage cost: ``q`` code bits plus the group scales, per weight."""
    return bcq.bits * (1 + scale_bits / bcq.group)


def lut_cost(n_in: int, out: int, bits: int, batch: int = 1) -> dict[str, float]:
    """Operation counts of :func:`lut_matmul` vs a dense matmul (per batch row ``batch``)."""
    tables = batch * (n_in // 8) * 256 * 8  # adds building tables (naive)
    lookups = batch * out * bits * (n_in // 8)
    return {"dense_macs": float(batch * out * n_in), "table_adds": float(tables),
            "lookup_adds": float(lookups), "adds_per_mac": (tables + lookups) / max(1, batch * out * n_in)}



def lut_rel_diff(x: torch.Tensor, bcq: BCQ) -> float:
    """``max |LUT matmul - dequantized matmul| / max |dequantized matmul|`` in float64: how far
    ShiftAddLLM's query-and-add path (You et al., 2024, Eq. 4) is from ``x @ dequantize(W)ᵀ``.
    Casts ``bcq.alpha`` to float64 in place (both sides in float64)."""
    x = x.double()
    bcq.alpha = bcq.alpha.double()
    ref = x @ bcq.dequantize().t()
    return float((lut_matmul(x, bcq) - ref).abs().max() / ref.abs().max().clamp_min(1e-300))
