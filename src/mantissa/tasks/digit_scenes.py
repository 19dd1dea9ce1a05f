"""Digit scenes: several scikit-learn 8x8 digits placed on a canvas, with captions.

A small, seeded stand-in for image+caption corpora (Visual Genome / COCO in
IMAGINATOR, paper #19): each scene puts ``objects`` digits into distinct cells of
a ``rows x cols`` grid of 8x8 cells (optionally jittered by up to ``jitter``
pixels), records every object's box and class, and writes a caption naming the
digits in reading order ("a seven and a three"), optionally with the cell's
position ("a seven top left and a three bottom right").

Which digits share a scene follows a co-occurrence prior: ``themes`` seeded
groups of digits; a scene draws one theme and takes each object from it with
probability ``theme_prob`` (else uniformly), so object-object co-location carries
information, as it does in real photographs. ``themes=0`` gives independent
digits.

:func:`make_scenes` takes the digit images and labels (e.g. one side of
``load_sklearn("digits").split(...)``) so train and test scenes can use disjoint
digit images; it returns a :class:`Scenes` with canvases ``(n, H, W)``, per-scene
boxes and labels, captions and word lists. :func:`crops` cuts the objects back
out (the "detector" with ground-truth boxes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mantissa.errors import ConfigError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CELL = 8


def _position_words(r: int, c: int, rows: int, cols: int) -> str:
    vert = ("top", "middle", "bottom") if rows == 3 else ("top", "bottom") if rows == 2 else ("",) * rows
    horz = ("left", "center", "right") if cols == 3 else ("left", "right") if cols == 2 else ("",) * cols
    parts = (vert[r] if rows <= 3 else f"row{r}", horz[c] if cols <= 3 else f"col{c}")
    return " ".join(w for w in parts if w)


@dataclass
class Scenes:
    canvas: torch.Tensor  # (n, H, W) float, pixel scale of the source images (0..16 for digits)
    boxes: list[np.ndarray]  # per scene (k, 4) int: top, left, height, width
    labels: list[np.ndarray]  # per scene (k,) int digit classes, reading order
    captions: list[str]
    words: list[list[str]] = field(default_factory=list)
    themes: np.ndarray | None = None  # (n,) the theme drawn for each scene (-1 without themes)

    def __len__(self) -> int:
        return len(self.captions)

    def content_keys(self) -> list[tuple[int, ...]]:
        """Sorted digit multiset of each scene: two scenes with equal keys have equal object content."""
        return [tuple(sorted(int(v) for v in lab)) for lab in self.labels]


def make_themes(n_themes: int, size: int, seed: int) -> list[np.ndarray]:
    """``n_themes`` seeded groups of ``size`` distinct digit classes."""
    rng = np.random.default_rng(seed)
    return [rng.choice(10, size=size, replace=False) for _ in range(n_themes)]


def make_scenes(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int, *, rows: int = 3,
                cols: int = 3, objects: tuple[int, int] = (2, 4), themes: int = 4, theme_size: int = 3,
                theme_prob: float = 0.8, theme_seed: int = 12345, positions: bool = False,
                jitter: int = 0) -> Scenes:
    """``n`` scenes from digit ``images (m, 64)`` with classes ``labels (m,)`` (module docstring).

    The themes depend on ``theme_seed`` only, so train and test scenes share them."""
    lo, hi = objects
    if not 1 <= lo <= hi <= rows * cols:
        raise ConfigError(f"objects={objects} must satisfy 1 <= min <= max <= rows*cols={rows * cols}")
    if images.ndim != 2 or images.shape[1] != CELL * CELL or len(images) != len(labels):
        raise ConfigError(f"expected images (m, 64) and labels (m,), got {tuple(images.shape)}, "
                          f"{tuple(labels.shape)}")
    if not 0 <= jitter < CELL // 2:
        raise ConfigError(f"jitter must be in [0, {CELL // 2}), got {jitter}")
    rng = np.random.default_rng(seed)
    groups = make_themes(themes, theme_size, theme_seed) if themes else []
    by_class = [np.flatnonzero(labels.numpy() == d) for d in range(10)]
    if any(len(b) == 0 for b in by_class):
        raise ConfigError("every digit class needs at least one image")
    pad = jitter
    h, w = rows * CELL + 2 * pad, cols * CELL + 2 * pad
    canvas = torch.zeros(n, h, w)
    all_boxes, all_labels, captions, words, theme_ids = [], [], [], [], []
    pix = images.view(-1, CELL, CELL)
    for s in range(n):
        k = int(rng.integers(lo, hi + 1))
        t = int(rng.integers(len(groups))) if groups else -1
        cells = np.sort(rng.choice(rows * cols, size=k, replace=False))
        classes = [int(rng.choice(groups[t])) if groups and rng.random() < theme_prob
                   else int(rng.integers(10)) for _ in range(k)]
        boxes, parts = [], []
        for cell, d in zip(cells, classes):
            r, c = divmod(int(cell), cols)
            top = pad + r * CELL + (int(rng.integers(-jitter, jitter + 1)) if jitter else 0)
            left = pad + c * CELL + (int(rng.integers(-jitter, jitter + 1)) if jitter else 0)
            img = pix[int(rng.choice(by_class[d]))]
            region = canvas[s, top:top + CELL, left:left + CELL]
            canvas[s, top:top + CELL, left:left + CELL] = torch.maximum(region, img)
            boxes.append((top, left, CELL, CELL))
            where = f" {_position_words(r, c, rows, cols)}" if positions else ""
            parts.append(f"{'an' if d == 8 else 'a'} {WORDS[d]}{where}")
        caption = parts[0] if k == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        all_boxes.append(np.array(boxes, dtype=np.int64))
        all_labels.append(np.array(classes, dtype=np.int64))
        captions.append(caption)
        words.append(caption.replace(",", "").split())
        theme_ids.append(t)
    return Scenes(canvas, all_boxes, all_labels, captions, words, np.array(theme_ids))


def crops(scenes: Scenes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every object cut out of its canvas by its box: ``(crops (m, 64), scene index (m,), class (m,))``."""
    out, owner, cls = [], [], []
    for s, (boxes, labels) in enumerate(zip(scenes.boxes, scenes.labels)):
        for (top, left, hh, ww), d in zip(boxes, labels):
            out.append(scenes.canvas[s, top:top + hh, left:left + ww].reshape(-1))
            owner.append(s)
            cls.append(int(d))
    return torch.stack(out), torch.tensor(owner), torch.tensor(cls)
