"""Neural Circuit Diagrams (#54): mantissa's transformer and its attention, drawn.

The diagrams (SVG, from :func:`mantissa.probe.circuit.trace` and
:func:`mantissa.probe.circuit_svg.save_svg`) are parsed back and compared with a
reference taken from the model itself, independent of the tracer: its module
tree (every leaf module that ran, and its parameters with their shapes) and the
tensor shapes its modules returned in a forward pass, recorded by ordinary
forward hooks. Claims (per diagram): every leaf module that ran has an operation
box naming it, every parameter of those modules is listed with its axes, and the
axes of every module output appear as a labelled wire bundle. Gate: the legend
names every axis size in the reference (else axis labels would be bare numbers
and the comparison meaningless). That the SVG draws exactly the traced
operations and axes (the renderer against its own trace) is a unit test.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import torch

from mantissa.catalogue.protocol import Check, Experiment, Result, register
from mantissa.experiments import card_config
from mantissa.models import Transformer, TransformerConfig
from mantissa.probe.circuit import trace
from mantissa.probe.circuit_svg import save_svg

_SVG = "{http://www.w3.org/2000/svg}"


Config = card_config(__name__)  # the card's [config]: circuit_diagrams.toml


def _legend(batch: int, t: int, cfg: TransformerConfig) -> dict[int, str]:
    legend = {batch: "B", t: "T", cfg.d_model: "C", cfg.n_head: "H",
              cfg.d_model // cfg.n_head: "D", cfg.vocab_size: "V", 4 * cfg.d_model: "F",
              3 * cfg.d_model: "3C"}
    if len(legend) != 8:
        raise ValueError("axis sizes must be distinct for the legend to name them")
    return legend


def _drawn(path: Path) -> tuple[Counter, Counter, set[tuple[str, ...]]]:
    """Parse the SVG back: the module named in each operation box, the parameter labels
    listed in the boxes (``weight[C×3C]``) and the axis-label sequence of each wire bundle."""
    root = ET.parse(path).getroot()
    modules, params = Counter(), Counter()
    for g in root.iter(f"{_SVG}g"):
        if g.get("class") != "op":
            continue
        detail = next((t.text or "" for t in g.iter(f"{_SVG}text") if t.get("class") == "detail"), "")
        module, _, plist = detail.partition(" · ")
        modules[module] += 1
        params.update(p for p in plist.split(", ") if p)
    bundles = {tuple(t.text or "" for t in g.iter(f"{_SVG}text") if t.get("class") == "axis")
               for g in root.iter(f"{_SVG}g") if g.get("class") == "tensor"}
    return modules, params, bundles


def _reference(model: torch.nn.Module, legend: dict[int, str], *args) -> dict:
    """The model's own account of one forward pass, from forward hooks (not the tracer):
    the leaf modules that computed something, their parameters with axis names, and the
    axis names of every module's output."""
    ran: list[tuple[str, torch.nn.Module]] = []
    shapes: list[tuple[int, ...]] = []

    def hook(name):
        def fn(mod, inputs, out):  # noqa: ANN001
            outs = [o for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, torch.Tensor)]
            shapes.extend(tuple(o.shape) for o in outs)
            is_identity = any(o is i for o in outs for i in inputs)
            if not any(True for _ in mod.children()) and not is_identity:
                ran.append((name, mod))
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()]
    try:
        with torch.no_grad():
            model(*args)
    finally:
        for h in handles:
            h.remove()
    name = lambda size: legend.get(size, str(size))  # noqa: E731
    modules = Counter(n.split(".")[-1] for n, _ in ran)
    params = Counter(f"{pn}[{'×'.join(name(s) for s in p.shape)}]"
                     for _, mod in ran for pn, p in mod.named_parameters(recurse=False))
    sizes = [s for shape in shapes for s in shape]
    return {"modules": modules, "params": params, "bundles": {tuple(map(name, sh)) for sh in shapes},
            "named_fraction": sum(s in legend for s in sizes) / max(len(sizes), 1)}


def _covered(want: Counter, got: Counter) -> float:
    return sum(min(n, got[k]) for k, n in want.items()) / max(sum(want.values()), 1)


@register
class CircuitDiagrams(Experiment):
    id = "circuit-diagrams"

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
        refs = {"transformer": _reference(model, legend, idx),
                "attention": _reference(model.blocks[0].attn, legend, x, model.pe, bias)}
        for name, circuit in (("transformer", full), ("attention", attn)):
            path = save_svg(circuit, out_dir / f"{name}.svg", f"{name} ({cfg.pe}, {cfg.attention})")
            modules, params, bundles = _drawn(path)
            ref = refs[name]
            metrics[f"{name}_ops"] = len(circuit.ops)
            metrics[f"{name}_reference_modules"] = sum(ref["modules"].values())
            metrics[f"{name}_legend_named_fraction"] = ref["named_fraction"]
            metrics[f"{name}_module_coverage"] = _covered(ref["modules"], modules)
            metrics[f"{name}_param_coverage"] = _covered(ref["params"], params)
            metrics[f"{name}_shape_coverage"] = len(ref["bundles"] & bundles) / max(len(ref["bundles"]), 1)
        return Result(metrics, ["transformer.svg", "attention.svg"])

    def checks(self, m: dict[str, float]) -> list[Check]:
        out = []
        for part in ("transformer", "attention"):
            out.append(self.check(f"{part}: the legend names every axis size of the forward pass", m,
                                  f"{part}_legend_named_fraction", ">=", "coverage", kind="gate"))
        for part in ("transformer", "attention"):
            out += [
                self.check(f"{part}: leaf modules that ran, drawn as operation boxes (fraction)", m,
                           f"{part}_module_coverage", ">=", "coverage",
                           paper_value="every operation shown (no numbers)"),
                self.check(f"{part}: parameters of those modules listed with their axes (fraction)", m,
                           f"{part}_param_coverage", ">=", "coverage"),
                self.check(f"{part}: module-output axes drawn as labelled wires (fraction)", m,
                           f"{part}_shape_coverage", ">=", "coverage",
                           paper_value="every axis shown (no numbers)"),
            ]
        return out
