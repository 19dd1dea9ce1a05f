"""Short real sentences for calibration and evaluation: WordNet noun glosses, or the
first lines of the standard library's docstrings where WordNet is missing."""

from __future__ import annotations

import torch

from mantissa.data.docstrings import load_stdlib_docstrings
from mantissa.data.wordnet import load_wordnet_glosses, wordnet_available

__all__ = ["gloss_sample"]


def gloss_sample(k: int, seed: int) -> list[str]:
    """``k`` noun glosses drawn without replacement in a seeded random order (a
    ``torch.randperm`` of the corpus); docstring first lines where WordNet is missing."""
    if wordnet_available():
        texts = [s.definition for s in load_wordnet_glosses("n")]
    else:  # pragma: no cover - depends on the machine
        texts = [d.doc.split("\n")[0] for d in load_stdlib_docstrings()]
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(texts), generator=g)[:k].tolist()
    return [texts[i] for i in idx]
