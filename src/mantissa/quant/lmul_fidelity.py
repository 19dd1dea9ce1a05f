"""L-Mul on real MiniLM layers (Luo & Sun, 2024, "Addition is All You Need", Sec. 3.2):
weight × activation operand pairs drawn from what the layers see, and a whole layer's matmul
``x Wᵀ`` with L-Mul or fp8 products against the float64 product."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mantissa import formats
from mantissa.arith.format_mul import pow2_scale
from mantissa.arith.lmul import lmul_matmul
from mantissa.arith.lmul_errors import FP8
from mantissa.quant.compare import LinearIO, minilm_linear_inputs, rel_error, row_cosine


def minilm_operand_pairs(n_texts: int, n_pairs: int, seed: int, layers: Sequence[int]
                         ) -> tuple[torch.Tensor, torch.Tensor, list[LinearIO]]:
    """About ``n_pairs`` nonzero (activation, weight) operand pairs of products that MiniLM's
    linear ``layers`` compute on ``n_texts`` sentences, and the layers' inputs themselves."""
    ios = minilm_linear_inputs(n_texts, seed, layers=list(layers))
    g = torch.Generator().manual_seed(seed)
    per = max(1, n_pairs // len(ios))
    xs, ws = [], []
    for io in ios:
        t = torch.randint(0, io.x.shape[0], (per,), generator=g)
        k = torch.randint(0, io.x.shape[1], (per,), generator=g)
        o = torch.randint(0, io.weight.shape[0], (per,), generator=g)
        a, b = io.x[t, k], io.weight[o, k]
        keep = (a != 0) & (b != 0)
        xs.append(a[keep])
        ws.append(b[keep])
    return torch.cat(xs), torch.cat(ws), ios


def dot_product_fidelity(io: LinearIO, tokens: int, widths: Sequence[int]) -> dict[str, float]:
    """A whole MiniLM layer ``x Wᵀ`` (``tokens`` rows): relative error and row cosine of L-Mul
    matmuls (fp32 accumulation) and of fp8 matmuls (operands scaled per tensor and rounded,
    products accumulated in float64) against the float64 product."""
    x, w = io.x[:tokens], io.weight
    exact = x.double() @ w.double().t()
    outs = {f"lmul{m}": lmul_matmul(x, w.t(), m).double() for m in widths}
    for name in FP8:
        f = formats.get(name)
        sx, sw = pow2_scale(x, f.info.max), pow2_scale(w, f.info.max)
        outs[name.replace("float8_", "")] = (f.quantize(x * sx).double() @ f.quantize(w * sw).double().t()
                                             ) / (sx * sw)
    res = {}
    for key, y in outs.items():
        res[f"dot_{key}_rel_error"] = rel_error(y, exact)
        res[f"dot_{key}_cosine"] = row_cosine(y, exact)
    return res
