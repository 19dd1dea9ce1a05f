"""Categorical-feature classification data: rows of integer feature ids and a label.

The task of the Unified Embedding study (Coleman et al. 2023, "Unified Embedding: Battle-Tested
Feature Representations for Web-Scale ML Systems", NeurIPS): several categorical features of
very different cardinalities, each value an id ``0..card-1`` of its own feature.
:func:`wordnet_noun_features` builds it from WordNet nouns (8 features -> the lexicographer
file); :func:`synthetic_clicks` is a seeded click model standing in without WordNet.
"""

from __future__ import annotations

import numpy as np
import torch

from mantissa.data import load_wordnet_glosses

#: the cardinalities of :func:`synthetic_clicks`' eight features
CLICK_CARDINALITIES = (5, 50, 500, 5000, 50000, 20, 2000, 200)


def _ids(column: list[str]) -> list[int]:
    """Ids in order of first appearance."""
    vocab: dict[str, int] = {}
    return [vocab.setdefault(v, len(vocab)) for v in column]


def wordnet_noun_features() -> tuple[torch.Tensor, torch.Tensor]:
    """``(values (n, 8) int64, labels)`` for every WordNet noun synset: first and second
    hypernym, first lemma, its head word and that word's 3-letter suffix, first and last word
    of the gloss, number of lemmas; the label is the lexicographer file (26 supersenses)."""
    syn = load_wordnet_glosses("n")
    by_id = {s.id: s for s in syn}
    rows = []
    for s in syn:
        h1 = s.hypernyms[0] if s.hypernyms else "-"
        h2 = by_id[h1].hypernyms[0] if h1 in by_id and by_id[h1].hypernyms else "-"
        head = s.lemmas[0].lower().split()[-1]
        words = s.definition.lower().split() or ["-"]
        rows.append((h1, h2, s.lemmas[0].lower(), head, head[-3:], words[0], words[-1], str(len(s.lemmas))))
    cols = [_ids(list(c)) for c in zip(*rows)]
    values = torch.tensor(np.array(cols).T, dtype=torch.int64)
    labels = torch.tensor(_ids([str(s.lex_file) for s in syn]), dtype=torch.int64)
    return values, labels


def synthetic_clicks(n: int, seed: int, cards: tuple[int, ...] = CLICK_CARDINALITIES
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """A synthetic click model: Zipf(1.2) feature values, label = Bernoulli(sigmoid(Σ effects))."""
    rng = np.random.default_rng(seed)
    cols, logit = [], np.zeros(n)
    for c in cards:
        v = np.minimum(rng.zipf(1.2, n) - 1, c - 1)
        effect = rng.normal(0, 1.0, c)
        cols.append(v)
        logit += effect[v]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(logit - logit.mean())))).astype(np.int64)
    return torch.tensor(np.stack(cols, 1), dtype=torch.int64), torch.tensor(y)


__all__ = ["CLICK_CARDINALITIES", "synthetic_clicks", "wordnet_noun_features"]
