import xml.etree.ElementTree as ET

import pytest
import torch
from torch import nn

from mantissa.errors import ShapeError
from mantissa.probe.circuit import trace
from mantissa.probe.circuit_svg import render_svg


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(5, 7), nn.Linear(7, 3)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        return self.fc2(h) + x[..., :3]  # a skip connection: a long wire


def test_trace_records_ops_shapes_params_and_dataflow():
    c = trace(TwoLayer(), torch.randn(2, 5), legend={2: "B", 5: "I", 7: "H", 3: "O"})
    names = [op.name for op in c.ops]
    assert names == ["linear", "relu", "linear", "getitem", "add"]
    fc1, relu, fc2, sl, add = c.ops
    assert fc1.params == ["fc1.weight", "fc1.bias"] and fc1.module == "fc1"
    assert c.axes(fc1.outputs[0]) == ["B", "H"] and c.axes(fc2.outputs[0]) == ["B", "O"]
    assert c.producer[relu.inputs[0]] == fc1.index and c.producer[add.inputs[0]] == fc2.index
    assert sl.inputs == c.inputs  # the skip reads the model input itself
    assert c.outputs == add.outputs and c.param_shapes["fc1.weight"] == (7, 5)


def test_svg_has_a_box_per_op_and_a_label_per_axis():
    c = trace(TwoLayer(), torch.randn(2, 5), legend={2: "B", 5: "I", 7: "H", 3: "O"})
    root = ET.fromstring(render_svg(c, "two layers"))
    ns = "{http://www.w3.org/2000/svg}"
    boxes = [g for g in root.iter(f"{ns}g") if g.get("class") == "op"]
    assert len(boxes) == len(c.ops)
    tensors = [g for g in root.iter(f"{ns}g") if g.get("class") == "tensor"]
    # every wire bundle carries one path per axis and one label per axis
    for g in tensors:
        paths = [p for p in g.iter(f"{ns}path")]
        labels = [t.text for t in g.iter(f"{ns}text")]
        assert len(paths) == len(labels) >= 1
    assert {"B", "I", "H", "O"} <= {t.text for t in root.iter(f"{ns}text") if t.get("class") == "axis"}


def test_max_ops_guard():
    with pytest.raises(ShapeError, match="max_ops"):
        trace(TwoLayer(), torch.randn(2, 5), max_ops=2)
