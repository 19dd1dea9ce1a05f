"""Bag-of-words classification data: each example is a padded row of word ids and a label.

The task of the vector-storage compression benchmark (Zhang et al. 2024, "Experimental
Analysis of Large-scale Learnable Vector Storage Compression", VLDB): a large vocabulary
whose embedding table dominates the model. :func:`wordnet_bags` builds it from WordNet
(each synset's definition words -> its lexicographer file); :func:`synthetic_bags` is a
seeded stand-in (Zipf words, class-specific boosted subsets); :func:`shuffle_ids` gives
the same data with ids in a random order, as arbitrary categorical ids would be.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass

import torch

from mantissa.data import load_wordnet_glosses

#: the padding id of :attr:`BagData.x`
PAD = -1


@dataclass
class BagData:
    """Bags of word ids with their labels; ids are in frequency order unless shuffled."""

    x: torch.Tensor  # (n, max_words) int64 word ids, PAD-padded
    y: torch.Tensor  # (n,) int64 labels
    counts: torch.Tensor  # (vocab,) word frequencies
    n_classes: int


def wordnet_bags(min_count: int, max_words: int) -> BagData:
    """Definition words of every WordNet synset -> its lexicographer file.

    Words seen at least ``min_count`` times form the vocabulary, ids in frequency
    order; each bag keeps its first ``max_words`` known words."""
    syn = load_wordnet_glosses()
    words = [re.findall(r"[a-z]+", s.definition.lower()) for s in syn]
    freq = collections.Counter(w for ws in words for w in ws)
    vocab = [w for w, c in freq.most_common() if c >= min_count]  # frequency order
    index = {w: i for i, w in enumerate(vocab)}
    x = torch.full((len(syn), max_words), PAD, dtype=torch.int64)
    for r, ws in enumerate(words):
        ids = [index[w] for w in ws if w in index][:max_words]
        x[r, : len(ids)] = torch.tensor(ids, dtype=torch.int64)
    labels = sorted({s.lex_file for s in syn})
    y = torch.tensor([labels.index(s.lex_file) for s in syn])
    counts = torch.tensor([freq[w] for w in vocab], dtype=torch.float64)
    return BagData(x, y, counts, len(labels))


def synthetic_bags(n: int, vocab: int, seed: int, n_classes: int = 10, words: int = 8) -> BagData:
    """Zipf(1) words; class ``c`` multiplies the odds of its own 5 % of the vocabulary by 8."""
    g = torch.Generator().manual_seed(seed)
    base = 1 / torch.arange(1, vocab + 1, dtype=torch.float64)
    y = torch.randint(0, n_classes, (n,), generator=g)
    boost = torch.ones(n_classes, vocab, dtype=torch.float64)
    for c in range(n_classes):
        boost[c, torch.randperm(vocab, generator=g)[: vocab // 20]] = 8.0
    x = torch.multinomial((base * boost)[y], words, replacement=True, generator=g)
    counts = torch.bincount(x.flatten(), minlength=vocab).double()
    order = torch.sort(counts, descending=True, stable=True).indices  # relabel ids by frequency
    rank = torch.empty_like(order)
    rank[order] = torch.arange(vocab)
    return BagData(rank[x], y, counts[order], n_classes)


def shuffle_ids(data: BagData, seed: int) -> BagData:
    """The same data with word ids in a random order (counts permuted alike)."""
    new = torch.randperm(len(data.counts), generator=torch.Generator().manual_seed(seed + 1))
    x = torch.where(data.x == PAD, PAD, new[data.x.clamp_min(0)])
    counts = torch.empty_like(data.counts)
    counts[new] = data.counts
    return BagData(x, data.y, counts, data.n_classes)


__all__ = ["PAD", "BagData", "shuffle_ids", "synthetic_bags", "wordnet_bags"]
