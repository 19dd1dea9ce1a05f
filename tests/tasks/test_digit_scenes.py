"""Digit scenes: objects where the boxes say, captions that name them, seeded themes."""

import numpy as np
import pytest
import torch

from mantissa.errors import ConfigError
from mantissa.tasks.digit_scenes import WORDS, crops, make_scenes, make_themes


def _digits(n_per_class=3):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(n_per_class)
    images = torch.randint(1, 17, (len(labels), 64), generator=g).float()
    return images, labels


def test_crops_are_the_source_images_and_captions_name_them():
    images, labels = _digits()
    s = make_scenes(images, labels, 40, seed=1, objects=(1, 4))
    f, owner, cls = crops(s)
    assert s.canvas.shape == (40, 24, 24)
    for crop, c in zip(f, cls):  # every crop is one of the source images of its class (no overlap)
        assert ((images[labels == c] == crop).all(1)).any()
    for i, (lab, cap, words) in enumerate(zip(s.labels, s.captions, s.words)):
        assert 1 <= len(lab) <= 4 and (owner == i).sum() == len(lab)
        assert [w for w in words if w in WORDS] == [WORDS[d] for d in lab]
        assert cap.replace(",", "").split() == words
    assert s.content_keys()[0] == tuple(sorted(s.labels[0].tolist()))
    # pixels outside the boxes are empty
    mask = torch.zeros_like(s.canvas, dtype=torch.bool)
    for i, boxes in enumerate(s.boxes):
        for top, left, h, w in boxes:
            mask[i, top:top + h, left:left + w] = True
    assert (s.canvas[~mask] == 0).all()


def test_positions_and_articles():
    images, labels = _digits()
    s = make_scenes(images, labels, 30, seed=2, positions=True)
    assert any("an eight" in c for c in s.captions) or not any(8 in lab for lab in s.labels)
    first = s.boxes[0][0]
    words = s.captions[0].split(",")[0].split(" and ")[0].split()
    vert = {0: "top", 8: "middle", 16: "bottom"}[int(first[0])]
    horz = {0: "left", 8: "center", 16: "right"}[int(first[1])]
    assert words[2:] == [vert, horz]


def test_themes_shape_cooccurrence_and_are_seeded():
    images, labels = _digits()
    themes = make_themes(4, 3, seed=5)
    s = make_scenes(images, labels, 400, seed=3, themes=4, theme_size=3, theme_prob=1.0, theme_seed=5)
    for t, lab in zip(s.themes, s.labels):
        assert set(lab.tolist()) <= set(themes[t].tolist())
    again = make_scenes(images, labels, 400, seed=3, themes=4, theme_size=3, theme_prob=1.0, theme_seed=5)
    assert again.captions == s.captions and torch.equal(again.canvas, s.canvas)
    free = make_scenes(images, labels, 400, seed=3, themes=0)
    assert (free.themes == -1).all() and len({d for lab in free.labels for d in lab.tolist()}) == 10


def test_jitter_and_errors():
    images, labels = _digits()
    s = make_scenes(images, labels, 20, seed=4, jitter=2)
    assert s.canvas.shape[1:] == (28, 28)
    assert all(((b[:, :2] >= 0) & (b[:, :2] <= 20)).all() for b in s.boxes)
    with pytest.raises(ConfigError):
        make_scenes(images, labels, 5, seed=0, objects=(3, 10))
    with pytest.raises(ConfigError):
        make_scenes(images[:, :10], labels, 5, seed=0)
    with pytest.raises(ConfigError):
        make_scenes(images[labels < 9], labels[labels < 9], 5, seed=0)
    assert np.array_equal(make_themes(2, 3, 0)[0], make_themes(2, 3, 0)[0])
