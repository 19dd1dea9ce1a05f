"""Rendering a traced :class:`~mantissa.probe.circuit.Circuit` as an SVG diagram.

Following Neural Circuit Diagrams (Abbott, 2023): operations are boxes, and
every tensor is drawn as a bundle of parallel wires, *one wire per axis*, each
labelled with the axis name. Operations run top to bottom in execution order;
a tensor consumed by the next operation flows straight down, a tensor used
later (a residual stream, a mask) is routed along its own lane on the left.
Learned inputs (weights) are listed inside the box with their axes.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from mantissa.io import atomic_write
from mantissa.probe.circuit import Circuit

BOX_W, BOX_H, GAP, WIRE_SP, LANE_SP = 230, 34, 46, 4, 16


def _box_y(i: int) -> float:
    return 50 + (i + 1) * (BOX_H + GAP)  # op -1 is the input node


def _lanes(edges: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Interval colouring: long edges that overlap in height get different lanes."""
    lanes: dict[tuple[int, int], int] = {}
    ends: list[int] = []  # per lane: the last row it is busy until
    for a, b in sorted(set(edges)):
        for lane, end in enumerate(ends):
            if end <= a:
                ends[lane] = b
                lanes[(a, b)] = lane
                break
        else:
            ends.append(b)
            lanes[(a, b)] = len(ends) - 1
    return lanes


def _axes_text(x: float, y: float, axes: list[str]) -> str:
    """One label per axis, side by side: the wires of a tensor read left to right."""
    out, offset = [], 0.0
    for a in axes:
        out.append(f'<text class="axis" x="{x + offset:.0f}" y="{y:.0f}">{html.escape(a)}</text>')
        offset += 6 * len(a) + 5
    return "".join(out)


def _wire(x0: float, y0: float, x1: float, y1: float, lane_x: float | None, n_axes: int) -> str:
    out = []
    for k in range(max(n_axes, 1)):
        dx = (k - (n_axes - 1) / 2) * WIRE_SP
        if lane_x is None:
            d = f"M{x0 + dx:.1f},{y0:.1f} L{x1 + dx:.1f},{y1:.1f}"
        else:
            lx, ya, yb = lane_x + dx, y0 + 8 + dx * 0.5, y1 - 8 + dx * 0.5
            pts = [(x0 + dx, y0), (x0 + dx, ya), (lx, ya), (lx, yb), (x1 + dx, yb), (x1 + dx, y1)]
            d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        out.append(f'<path class="wire" d="{d}"/>')
    return "".join(out)


def render_svg(circuit: Circuit, title: str = "") -> str:
    """The diagram as an SVG document (a string)."""
    n = len(circuit.ops)
    uses = [(circuit.producer.get(t, -1), op.index, t) for op in circuit.ops for t in op.inputs]
    uses += [(circuit.producer.get(t, -1), n, t) for t in circuit.outputs]
    lanes = _lanes([(a, b) for a, b, _ in uses if b - a > 1])
    left = 40 + (max(lanes.values(), default=-1) + 1) * LANE_SP + 20
    cx = left + BOX_W / 2
    parts = []
    for a, b, t in uses:
        axes = circuit.axes(t)
        y0 = _box_y(a) + BOX_H if a >= 0 else _box_y(-1) + BOX_H
        y1 = _box_y(b)
        lane = lanes.get((a, b))
        lane_x = None if lane is None else 40 + lane * LANE_SP
        parts.append(f'<g class="tensor" data-from="{a}" data-to="{b}">'
                     + _wire(cx, y0, cx, y1, lane_x, len(axes))
                     + _axes_text((lane_x if lane_x is not None else cx) + 6 + len(axes) * WIRE_SP / 2,
                                  (y0 + y1) / 2 + 3 if lane_x is None else y1 - 12, axes) + "</g>")
    boxes = [_node(-1, "input", "", left), _node(n, "output", "", left)]
    for op in circuit.ops:
        detail = op.module.split(".")[-1] if op.module else ""
        if op.params:
            detail += " · " + ", ".join(_param_label(circuit, p) for p in op.params)
        boxes.append(_node(op.index, op.name, detail, left, op=True))
    width = left + BOX_W + 140
    height = _box_y(n) + BOX_H + 30
    head = html.escape(title or "neural circuit diagram")
    named = sorted(circuit.legend.items(), key=lambda kv: kv[1])
    legend = " · ".join(f"{html.escape(v)} = {k}" for k, v in named)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif">'
            "<style>.wire{fill:none;stroke:#345;stroke-width:1.1}.axis{font-size:9px;fill:#a33}"
            ".op rect{fill:#eef3fb;stroke:#345}.io rect{fill:#f4f4f4;stroke:#888}"
            ".name{font-size:12px;font-weight:600}.detail{font-size:9px;fill:#555}</style>"
            f'<text x="10" y="20" font-size="14" font-weight="600">{head}</text>'
            f'<text x="10" y="36" font-size="10" fill="#555">axes: {legend}</text>'
            + "".join(parts) + "".join(boxes) + "</svg>")


def _param_label(circuit: Circuit, name: str) -> str:
    shape = circuit.param_shapes.get(name, ())
    axes = "×".join(circuit.legend.get(s, str(s)) for s in shape)
    return f"{name.split('.')[-1]}[{axes}]"


def _node(i: int, name: str, detail: str, left: float, op: bool = False) -> str:
    y = _box_y(i)
    cls = "op" if op else "io"
    return (f'<g class="{cls}" data-op="{i}"><rect x="{left:.0f}" y="{y:.0f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="5"/><text class="name" x="{left + 8:.0f}" y="{y + 15:.0f}">'
            f'{html.escape(name)}</text><text class="detail" x="{left + 8:.0f}" y="{y + 28:.0f}">'
            f"{html.escape(detail[:60])}</text></g>")


def save_svg(circuit: Circuit, path: str | os.PathLike[str], title: str = "") -> Path:
    """Write the diagram atomically."""
    return atomic_write(path, render_svg(circuit, title))
