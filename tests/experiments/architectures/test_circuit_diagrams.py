"""circuit-diagrams: the renderer against its own trace (true by construction, so a unit test), and
the model-side reference used by the claims really catches a diagram that leaves something out."""

import dataclasses
import xml.etree.ElementTree as ET

import torch

from mantissa.experiments.architectures.circuit_diagrams import _SVG, _covered, _drawn, _legend, _reference
from mantissa.models import Transformer, TransformerConfig
from mantissa.probe.circuit import trace
from mantissa.probe.circuit_svg import render_svg, save_svg


def _model():
    cfg = TransformerConfig(vocab_size=50, n_layer=2, n_head=2, d_model=24, max_len=32, pe="alibi")
    model = Transformer(cfg).eval()
    legend = _legend(3, 7, cfg)
    idx = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(0))
    return model, legend, idx


def test_svg_draws_every_traced_op_and_wired_axis():
    model, legend, idx = _model()
    c = trace(model, idx, legend=legend)
    root = ET.fromstring(render_svg(c))
    assert sum(1 for g in root.iter(f"{_SVG}g") if g.get("class") == "op") == len(c.ops)
    drawn = {t.text for t in root.iter(f"{_SVG}text") if t.get("class") == "axis"}
    wired = {a for t in {t for op in c.ops for t in op.inputs} | set(c.outputs) for a in c.axes(t)}
    assert wired <= drawn and set(c.axes(c.outputs[0])) == {"B", "T", "V"}
    assert tuple(model(idx).shape) == (3, 7, 50)


def test_reference_catches_a_diagram_missing_a_module(tmp_path):
    model, legend, idx = _model()
    c = trace(model, idx, legend=legend)
    ref = _reference(model, legend, idx)
    assert ref["named_fraction"] == 1.0 and sum(ref["modules"].values()) == 17  # dropouts are identities
    modules, params, bundles = _drawn(save_svg(c, tmp_path / "full.svg"))
    assert _covered(ref["modules"], modules) == _covered(ref["params"], params) == 1.0
    assert ref["bundles"] <= bundles
    # drop the ops of the output head: the diagram no longer covers the model
    kept = [op for op in c.ops if op.module != "head"]
    broken = dataclasses.replace(c, ops=kept, outputs=[t for op in kept[-1:] for t in op.outputs])
    modules, params, bundles = _drawn(save_svg(broken, tmp_path / "broken.svg"))
    assert _covered(ref["modules"], modules) < 1.0 and _covered(ref["params"], params) < 1.0
    assert not ref["bundles"] <= bundles  # the B·T·V output is gone
