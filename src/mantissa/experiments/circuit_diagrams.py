"""Neural Circuit Diagrams (#54): mantissa's transformer and its attention, drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import torch

from mantissa.experiments.base import Check, Experiment, Result, register
from mantissa.nn import Transformer, TransformerConfig
from mantissa.probe.circuit import Circuit, trace
from mantissa.probe.circuit_svg import save_svg

_SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Config:
    pe: str = "alibi"  # a bias PE takes the explicit attention path (every op visible)
    attention: str = "softmax"
    n_layer: int = 2


def _legend(batch: int, t: int, cfg: TransformerConfig) -> dict[int, str]:
    legend = {batch: "B", t: "T", cfg.d_model: "C", cfg.n_head: "H",
              cfg.d_model // cfg.n_head: "D", cfg.vocab_size: "V", 4 * cfg.d_model: "F",
              3 * cfg.d_model: "3C"}
    if len(legend) != 8:
        raise ValueError("axis sizes must be distinct for the legend to name them")
    return legend


def _drawn(path: Path) -> tuple[int, set[str]]:
    """Parse the SVG back: the number of operation boxes and the axis labels on wires."""
    root = ET.parse(path).getroot()
    boxes = sum(1 for g in root.iter(f"{_SVG}g") if g.get("class") == "op")
    axes = {t.text or "" for t in root.iter(f"{_SVG}text") if t.get("class") == "axis"}
    return boxes, axes


def _wired_axes(c: Circuit) -> set[str]:
    """Axes of every tensor that flows into an operation or out of the model."""
    tensors = {t for op in c.ops for t in op.inputs} | set(c.outputs)
    return {a for t in tensors for a in c.axes(t)}


@register
class CircuitDiagrams(Experiment):
    id = "circuit-diagrams"
    title = "Neural Circuit Diagrams"
    paper = "#54"
    claim = ("Any model can be drawn as a neural circuit diagram whose wires are tensor axes: "
             "the diagrams of the transformer and of its attention show every axis and operation.")
    paper_figure = "diagrams of transformer architectures with every axis and operation (no numbers)"
    thresholds = {"coverage": 1.0}
    parts = ("probe.circuit.trace", "probe.circuit_svg.render_svg", "nn.Transformer")
    Config = Config

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        mcfg = TransformerConfig(vocab_size=50, n_layer=cfg.n_layer, n_head=2, d_model=24,
                                 max_len=32, pe=cfg.pe, attention=cfg.attention)
        model = Transformer(mcfg).eval()
        batch, t = 3, 7
        legend = _legend(batch, t, mcfg)
        idx = torch.randint(0, mcfg.vocab_size, (batch, t), generator=torch.Generator().manual_seed(seed))
        full = trace(model, idx, legend=legend)
        x = torch.randn(batch, t, mcfg.d_model)
        bias = model.pe.attn_bias(t, t, x.device)
        attn = trace(model.blocks[0].attn, x, model.pe, bias, legend=legend)
        metrics: dict[str, float] = {}
        for name, circuit in (("transformer", full), ("attention", attn)):
            path = save_svg(circuit, out_dir / f"{name}.svg", f"{name} ({cfg.pe}, {cfg.attention})")
            boxes, drawn_axes = _drawn(path)
            wired = _wired_axes(circuit)
            metrics[f"{name}_ops"] = len(circuit.ops)
            metrics[f"{name}_op_coverage"] = boxes / max(len(circuit.ops), 1)
            metrics[f"{name}_axis_coverage"] = len(wired & drawn_axes) / max(len(wired), 1)
            metrics[f"{name}_legend_axes_drawn"] = len(set(legend.values()) & drawn_axes)
        out = model(idx)
        metrics["output_shape_matches"] = float(list(full.axes(full.outputs[0])) == ["B", "T", "V"]
                                                and tuple(out.shape) == (batch, t, mcfg.vocab_size))
        return Result(metrics, ["transformer.svg", "attention.svg"])

    def checks(self, m: dict[str, float]) -> list[Check]:
        out = []
        for part in ("transformer", "attention"):
            out.append(self.check(f"{part}: operations drawn / traced", m, f"{part}_op_coverage", ">=",
                                  "coverage"))
            out.append(self.check(f"{part}: axes labelled / axes on wires", m, f"{part}_axis_coverage", ">=",
                                  "coverage"))
        out.append(self.check("traced output axes are B·T·V like the model's output", m,
                              "output_shape_matches", ">=", 1.0))
        return out
