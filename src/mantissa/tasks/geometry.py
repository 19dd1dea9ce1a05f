"""Synthetic geometry diagrams drawn with NumPy: primitives, grounding targets, captions
and visual questions.

For "Open Eyes, Then Reason" (Zhang et al. 2025, SVE-Math): the paper pretrains a
geometry-grounded vision encoder (GeoGLIP) on synthetic diagrams annotated with their
primitives (shape grounding, boundary and junction detection) and asks math questions
that need fine-grained perception. Here a diagram is a ``size`` x ``size`` binary image of

* points (3x3 dots), line segments, circles (outlines) and triangles (outlines);

its **grounding targets** are per-patch maps (``patch`` x ``patch`` cells) of
:data:`GROUNDING_CHANNELS`: which primitive's ink is in the cell, whether it holds a
junction (a triangle vertex or a segment end), whether its centre is inside a circle or a
triangle (the shape regions); its **caption** counts the primitives ("two circles one
line no triangle three points"); and its **questions** are :data:`QUESTIONS`: how many
circles (0-3), is the point inside the triangle, are the two lines parallel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mantissa.errors import ConfigError

KINDS = ("point", "line", "circle", "triangle")
GROUNDING_CHANNELS = ("point", "line", "circle", "triangle", "junction", "in_circle", "in_triangle")
QUESTIONS = ("how many circles", "is the point inside the triangle", "are the two lines parallel")
ANSWERS = ("0", "1", "2", "3", "no", "yes")
NUMBERS = ("no", "one", "two", "three", "four")
MAX_COUNTS = {"circle": 3, "line": 2, "triangle": 1, "point": 3}


@dataclass
class Diagram:
    """Primitives in pixel coordinates (x right, y down, floats)."""

    size: int = 32
    points: list[tuple[float, float]] = field(default_factory=list)
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)
    circles: list[tuple[float, float, float]] = field(default_factory=list)
    triangles: list[tuple[tuple[float, float], ...]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"circle": len(self.circles), "line": len(self.lines), "triangle": len(self.triangles),
                "point": len(self.points)}


def _segment(a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    n = int(2 * np.hypot(b[0] - a[0], b[1] - a[1])) + 2
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.asarray(a) * (1 - t) + np.asarray(b) * t


def _circle(cx: float, cy: float, r: float) -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, int(4 * np.pi * r) + 8, endpoint=False)
    return np.stack([cx + r * np.cos(th), cy + r * np.sin(th)], 1)


def _stamp(canvas: np.ndarray, xy: np.ndarray, radius: int = 0) -> None:
    s = canvas.shape[0]
    ij = np.rint(xy).astype(int)
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            x, y = ij[:, 0] + dx, ij[:, 1] + dy
            ok = (x >= 0) & (x < s) & (y >= 0) & (y < s)
            canvas[y[ok], x[ok]] = 1.0


def layers(d: Diagram) -> dict[str, np.ndarray]:
    """One ink canvas per primitive kind, plus the junction canvas."""
    out = {k: np.zeros((d.size, d.size), np.float32) for k in (*KINDS, "junction")}
    for p in d.points:
        _stamp(out["point"], np.asarray([p]), radius=1)
    for x1, y1, x2, y2 in d.lines:
        _stamp(out["line"], _segment((x1, y1), (x2, y2)))
        _stamp(out["junction"], np.asarray([(x1, y1), (x2, y2)]))
    for c in d.circles:
        _stamp(out["circle"], _circle(*c))
    for tri in d.triangles:
        for i in range(3):
            _stamp(out["triangle"], _segment(tri[i], tri[(i + 1) % 3]))
        _stamp(out["junction"], np.asarray(tri))
    return out


def render(d: Diagram) -> np.ndarray:
    """The diagram as a ``(size, size)`` float32 image in {0, 1}."""
    ls = layers(d)
    return np.maximum.reduce([ls[k] for k in KINDS])


def inside_triangle(p: tuple[float, float], tri: tuple[tuple[float, float], ...]) -> bool:
    """Whether ``p`` is strictly inside the triangle (signs of the three edge cross products agree)."""
    s = [(b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
         for a, b in zip(tri, (*tri[1:], tri[0]))]
    return all(v > 0 for v in s) or all(v < 0 for v in s)


def grounding_targets(d: Diagram, patch: int = 4) -> np.ndarray:
    """``(len(GROUNDING_CHANNELS), size/patch, size/patch)`` float32 maps in {0, 1}."""
    if d.size % patch:
        raise ConfigError(f"patch={patch} must divide size={d.size}")
    g = d.size // patch
    ls = layers(d)
    ink = [ls[k].reshape(g, patch, g, patch).max(axis=(1, 3)) for k in (*KINDS, "junction")]
    c = (np.arange(g) + 0.5) * patch - 0.5
    cx, cy = np.meshgrid(c, c)
    in_c = np.zeros((g, g), np.float32)
    for x, y, r in d.circles:
        in_c = np.maximum(in_c, ((cx - x) ** 2 + (cy - y) ** 2 < r**2).astype(np.float32))
    in_t = np.zeros((g, g), np.float32)
    for tri in d.triangles:
        inside = [inside_triangle((x, y), tri) for x, y in zip(cx.ravel(), cy.ravel())]
        in_t = np.maximum(in_t, np.asarray(inside, np.float32).reshape(g, g))
    return np.stack([*ink, in_c, in_t]).astype(np.float32)


def caption(d: Diagram) -> str:
    """"two circles one line no triangle three points" (a fixed order of counts)."""
    n = d.counts()
    kinds = ("circle", "line", "triangle", "point")
    return " ".join(f"{NUMBERS[n[k]]} {k}{'s' if n[k] != 1 else ''}" for k in kinds)


def caption_id(d: Diagram) -> int:
    """An integer per distinct caption (mixed-radix counts)."""
    n, out = d.counts(), 0
    for k in ("circle", "line", "triangle", "point"):
        out = out * (MAX_COUNTS[k] + 1) + n[k]
    return out


CAPTION_WORDS = (*NUMBERS, *KINDS, *(k + "s" for k in KINDS))
CAPTION_LEN = 8


def caption_tokens(text: str) -> list[int]:
    """Word ids of a caption (:data:`CAPTION_WORDS`), ``CAPTION_LEN`` of them."""
    ids = [CAPTION_WORDS.index(w) for w in text.split()]
    if len(ids) != CAPTION_LEN:
        raise ConfigError(f"a caption has {CAPTION_LEN} words, got {text!r}")
    return ids


def all_captions() -> list[tuple[int, str]]:
    """Every (caption_id, caption) the random generator can produce."""
    out = []
    for c in range(4):
        for li in range(3):
            for t in range(2):
                for p in range(4):
                    d = Diagram(points=[(0, 0)] * p, lines=[(0, 0, 0, 0)] * li, circles=[(0, 0, 1)] * c,
                                triangles=[((0, 0), (0, 0), (0, 0))] * t)
                    out.append((caption_id(d), caption(d)))
    return out


# --- random primitives -----------------------------------------------------------------------

def _pt(rng: np.random.Generator, s: int, m: float = 2.0) -> tuple[float, float]:
    return float(rng.uniform(m, s - 1 - m)), float(rng.uniform(m, s - 1 - m))


def _line(rng: np.random.Generator, s: int, angle: float | None = None) -> tuple[float, float, float, float]:
    for _ in range(100):
        x, y = _pt(rng, s)
        th = rng.uniform(0, np.pi) if angle is None else angle
        half = rng.uniform(5, s / 3)
        dx, dy = half * np.cos(th), half * np.sin(th)
        x1, y1, x2, y2 = x - dx, y - dy, x + dx, y + dy
        if min(x1, y1, x2, y2) >= 1 and max(x1, y1, x2, y2) <= s - 2:
            return float(x1), float(y1), float(x2), float(y2)
    return 2.0, 2.0, 2.0 + 8 * np.cos(th), 2.0 + 8 * abs(np.sin(th))


def _circle_prim(rng: np.random.Generator, s: int) -> tuple[float, float, float]:
    r = float(rng.uniform(3, s / 5))
    return float(rng.uniform(r + 1, s - 2 - r)), float(rng.uniform(r + 1, s - 2 - r)), r


def _triangle(rng: np.random.Generator, s: int) -> tuple[tuple[float, float], ...]:
    for _ in range(100):
        tri = tuple(_pt(rng, s) for _ in range(3))
        (ax, ay), (bx, by), (cx, cy) = tri
        if abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) / 2 > s * s / 10:
            return tri
    return tri


def random_diagram(rng: np.random.Generator, size: int = 32) -> Diagram:
    """A diagram for pretraining: 0-3 circles, 0-2 lines, 0-1 triangle, 0-3 points."""
    return Diagram(size, points=[_pt(rng, size) for _ in range(rng.integers(0, 4))],
                   lines=[_line(rng, size) for _ in range(rng.integers(0, 3))],
                   circles=[_circle_prim(rng, size) for _ in range(rng.integers(0, 4))],
                   triangles=[_triangle(rng, size) for _ in range(rng.integers(0, 2))])


def question_diagram(rng: np.random.Generator, question: int, size: int = 32) -> tuple[Diagram, int]:
    """A diagram for question ``question`` (index into :data:`QUESTIONS`) and its answer
    (index into :data:`ANSWERS`); the answer is balanced over its classes."""
    if question == 0:
        k = int(rng.integers(0, 4))
        d = Diagram(size, points=[_pt(rng, size) for _ in range(rng.integers(0, 3))],
                    lines=[_line(rng, size) for _ in range(rng.integers(0, 3))],
                    circles=[_circle_prim(rng, size) for _ in range(k)],
                    triangles=[_triangle(rng, size) for _ in range(rng.integers(0, 2))])
        return d, k
    if question == 1:
        want = bool(rng.integers(0, 2))
        tri = _triangle(rng, size)
        for _ in range(500):
            p = _pt(rng, size)
            if inside_triangle(p, tri) == want and _edge_distance(p, tri) > 1.5:
                break
        d = Diagram(size, points=[p], lines=[_line(rng, size) for _ in range(rng.integers(0, 2))],
                    circles=[_circle_prim(rng, size) for _ in range(rng.integers(0, 3))], triangles=[tri])
        return d, 4 + int(inside_triangle(p, tri))
    if question == 2:
        par = bool(rng.integers(0, 2))
        th = float(rng.uniform(0, np.pi))
        th2 = th if par else th + float(rng.uniform(np.radians(25), np.pi - np.radians(25)))
        d = Diagram(size, points=[_pt(rng, size) for _ in range(rng.integers(0, 3))],
                    lines=[_line(rng, size, th), _line(rng, size, th2 % np.pi)],
                    circles=[_circle_prim(rng, size) for _ in range(rng.integers(0, 3))])
        return d, 4 + int(par)
    raise ConfigError(f"question must be 0..{len(QUESTIONS) - 1}, got {question}")


def _edge_distance(p: tuple[float, float], tri: tuple[tuple[float, float], ...]) -> float:
    best = np.inf
    for a, b in zip(tri, (*tri[1:], tri[0])):
        ab, ap = np.subtract(b, a), np.subtract(p, a)
        t = np.clip(np.dot(ap, ab) / max(np.dot(ab, ab), 1e-9), 0, 1)
        best = min(best, float(np.hypot(*(ap - t * ab))))
    return best


def pretraining_set(n: int, seed: int, size: int = 32, patch: int = 4) -> dict[str, np.ndarray]:
    """``n`` random diagrams: ``images (n, size, size)``, ``targets (n, C, g, g)``,
    ``caption_ids (n,)`` and ``captions`` (a list of strings)."""
    rng = np.random.default_rng(seed)
    ds = [random_diagram(rng, size) for _ in range(n)]
    return {"images": np.stack([render(d) for d in ds]),
            "targets": np.stack([grounding_targets(d, patch) for d in ds]),
            "caption_ids": np.array([caption_id(d) for d in ds]), "captions": [caption(d) for d in ds]}


def question_set(n: int, seed: int, size: int = 32) -> dict[str, np.ndarray]:
    """``n`` question diagrams, questions in turn: ``images``, ``questions``, ``answers``."""
    rng = np.random.default_rng(seed)
    items = [question_diagram(rng, i % len(QUESTIONS), size) for i in range(n)]
    return {"images": np.stack([render(d) for d, _ in items]),
            "questions": np.arange(n) % len(QUESTIONS), "answers": np.array([a for _, a in items])}
