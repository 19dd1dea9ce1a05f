"""Quantization error studies of a real model, as in Gholami et al., "A Survey of Quantization
Methods for Efficient Neural Network Inference" (2021), Sec. 3-4: how the error of a
weight quantizer depends on its granularity (per tensor, per channel, per group), and how
the error of a per-tensor activation quantizer depends on how its range is calibrated
(min-max, percentile, MSE search, KL)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mantissa.progress import track
from mantissa.quant.spec import parse_quantizer

__all__ = ["calibration_errors", "relative_mse", "token_states", "weight_errors"]


def relative_mse(spec: str, w: torch.Tensor) -> float:
    """``‖Q(w) − w‖² / ‖w‖²`` for the quantizer ``spec`` (e.g. ``"int4:channel"``)."""
    return float((parse_quantizer(spec).fake(w) - w).pow(2).sum() / w.pow(2).sum())


def weight_errors(model: nn.Module, specs: Sequence[str], layers: int) -> list[dict]:
    """One row per ``nn.Linear`` of the first ``layers`` encoder layers (BERT naming,
    ``encoder.layer.<i>.``): its name and :func:`relative_mse` under each spec."""
    rows = []
    for name, mod in model.named_modules():
        in_range = name.startswith("encoder.layer.") and int(name.split(".")[2]) < layers
        if isinstance(mod, nn.Linear) and in_range:
            w = mod.weight.detach().float()
            rows.append({"layer": name, **{s: relative_mse(s, w) for s in specs}})
    return rows


@torch.no_grad()
def token_states(encoder, texts: list[str], max_length: int, batch: int = 64) -> list[torch.Tensor]:
    """Every real (unpadded) token's hidden state of every layer of a MiniLM-style encoder
    (``forward_hidden(texts, all_layers=True)``): one ``(tokens, width)`` tensor per layer,
    the embeddings first."""
    encoder.max_length = max_length
    chunks: list[list[torch.Tensor]] = []
    for start in track(range(0, len(texts), batch), "MiniLM activations"):
        hs, mask = encoder.forward_hidden(texts[start:start + batch], all_layers=True)
        keep = mask.bool()
        chunks.append([h[keep].float() for h in hs])
    return [torch.cat([c[i] for c in chunks]) for i in range(len(chunks[0]))]


def calibration_errors(calib: Sequence[torch.Tensor], held: Sequence[torch.Tensor], bits: int, pct: float,
                       observers: Sequence[str]) -> list[dict]:
    """Per tensor pair: its outlier ratio (max |x| / mean |x| on ``calib``) and, per range
    observer, the held-out MSE of a per-tensor ``int<bits>`` quantizer calibrated on
    ``calib`` (the percentile observer at ``pct``)."""
    rows = []
    for i, (xc, xh) in enumerate(zip(calib, held, strict=True)):
        row = {"hidden_state": i, "outlier_ratio": float(xc.abs().amax() / xc.abs().mean())}
        for obs in observers:
            spec = f"int{bits}:observer={obs}" + (f",pct={pct}" if obs == "percentile" else "")
            q = parse_quantizer(spec)
            row[obs] = float((q.fake(xh, q.calibrate(xc)) - xh).pow(2).mean())
        rows.append(row)
    return rows
