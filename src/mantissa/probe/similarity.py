"""Graded similarity: embeddings' cosine vs a human-built similarity (WordNet).

The WordNet taxonomy (hypernym pointers ``@``/``@i``) gives two classic
similarities between synsets, defined as in NLTK:

* path similarity (Rada et al., 1989): ``1 / (1 + d)`` with ``d`` the shortest
  path between the two synsets through a common hypernym;
* Wu & Palmer (1994): ``2·depth(lcs) / (len1 + len2)`` where the lowest common
  subsumer ``lcs`` is the common hypernym of greatest (minimum) depth,
  ``depth(lcs)`` its longest distance to a root plus one, and
  ``len_i = dist(s_i, lcs) + depth(lcs)``.

Both need a common hypernym (nouns share ``entity``; verbs without one score 0,
as NLTK does without ``simulate_root``). :func:`graded_pairs` samples synset pairs
across the whole similarity range; :func:`spearman` is the rank correlation.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

import torch

from mantissa.errors import ShapeError, UnknownNameError


class Taxonomy:
    """The hypernym graph of a list of :class:`mantissa.data.Synset`."""

    def __init__(self, synsets: Sequence) -> None:
        self.synsets = {s.id: s for s in synsets}
        self.hyper = {s.id: tuple(h for h in s.hypernyms if h in self.synsets) for s in synsets}
        self.hypo: dict[str, list[str]] = {}
        for sid, hs in self.hyper.items():
            for h in hs:
                self.hypo.setdefault(h, []).append(sid)
        self.ancestors = functools.lru_cache(maxsize=None)(self._ancestors)
        self.max_depth = functools.lru_cache(maxsize=None)(self._max_depth)
        self.min_depth = functools.lru_cache(maxsize=None)(self._min_depth)

    def _check(self, sid: str) -> None:
        if sid not in self.synsets:
            raise UnknownNameError(f"synset {sid!r} is not in this taxonomy (ids look like '02084071-n')")

    def _ancestors(self, sid: str) -> dict[str, int]:
        """Every hypernym (and ``sid`` itself) with its shortest upward distance."""
        dist = {sid: 0}
        frontier = [sid]
        while frontier:
            nxt = []
            for s in frontier:
                for h in self.hyper.get(s, ()):
                    if h not in dist:
                        dist[h] = dist[s] + 1
                        nxt.append(h)
            frontier = nxt
        return dist

    def _max_depth(self, sid: str) -> int:
        hs = self.hyper.get(sid, ())
        return 0 if not hs else 1 + max(self.max_depth(h) for h in hs)

    def _min_depth(self, sid: str) -> int:
        hs = self.hyper.get(sid, ())
        return 0 if not hs else 1 + min(self.min_depth(h) for h in hs)

    def path_similarity(self, a: str, b: str) -> float:
        self._check(a), self._check(b)
        da, db = self.ancestors(a), self.ancestors(b)
        common = da.keys() & db.keys()
        if not common:
            return 0.0
        return 1.0 / (1 + min(da[c] + db[c] for c in common))

    def wup_similarity(self, a: str, b: str) -> float:
        self._check(a), self._check(b)
        da, db = self.ancestors(a), self.ancestors(b)
        common = da.keys() & db.keys()
        if not common:
            return 0.0
        best = max(self.min_depth(c) for c in common)
        subsumers = sorted(c for c in common if self.min_depth(c) == best)
        lcs = a if a in subsumers else subsumers[0]  # NLTK's choice
        depth = self.max_depth(lcs) + 1
        return 2.0 * depth / (da[lcs] + db[lcs] + 2 * depth)

    def neighbour(self, sid: str, steps: int, rng: random.Random) -> str:
        """A random walk of ``steps`` moves along hypernym/hyponym edges."""
        cur = sid
        for _ in range(steps):
            nbrs = [*self.hyper.get(cur, ()), *self.hypo.get(cur, ())]
            if not nbrs:
                break
            cur = rng.choice(nbrs)
        return cur


def graded_pairs(tax: Taxonomy, n: int, seed: int = 0, max_steps: int = 8,
                 ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``n`` distinct synset pairs: half by short random walks (similar), half at random."""
    rng = random.Random(seed)
    pool = sorted(ids if ids is not None else tax.synsets)
    allowed = set(pool)
    out: set[tuple[str, str]] = set()
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        a = rng.choice(pool)
        b = tax.neighbour(a, rng.randint(1, max_steps), rng) if len(out) % 2 else rng.choice(pool)
        if a != b and b in allowed:
            out.add((a, b) if a < b else (b, a))
    return sorted(out)


def spearman(x: Sequence[float] | torch.Tensor, y: Sequence[float] | torch.Tensor) -> float:
    """Spearman rank correlation (ties get average ranks)."""
    from scipy.stats import spearmanr

    xs = x.tolist() if isinstance(x, torch.Tensor) else list(x)
    ys = y.tolist() if isinstance(y, torch.Tensor) else list(y)
    if len(xs) != len(ys) or len(xs) < 3:
        raise ShapeError("spearman needs two equal-length sequences of >= 3 values, "
                         f"got {len(xs)} and {len(ys)}")
    return float(spearmanr(xs, ys).statistic)
