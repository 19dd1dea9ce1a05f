"""Static word vectors: skip-gram with negative sampling and GloVe, with analogy evaluation.

* :func:`train_sgns` — Mikolov et al., 2013, "Distributed Representations of Words
  and Phrases and their Compositionality" (NeurIPS): for a centre word ``c`` and a
  context word ``o`` within a (dynamically shrunk) window, maximise
  ``log σ(u_o·v_c) + Σ_{k=1..K} log σ(-u_k·v_c)`` with ``K`` negatives drawn from the
  unigram distribution to the power 3/4 (Eq. 4); frequent words are subsampled with
  word2vec's keep probability ``(√(f/t) + 1)·t/f``.
* :func:`train_glove` — Pennington, Socher, Manning, 2014, "GloVe: Global Vectors for
  Word Representation" (EMNLP, Eq. 8): weighted least squares
  ``Σ f(X_ij)(w_i·w̃_j + b_i + b̃_j − log X_ij)²`` on co-occurrence counts weighted by
  ``1/distance``, ``f(x) = min(1, (x/x_max)^α)``, AdaGrad; the vectors are ``W + W̃``.
* :class:`WordVectors` — nearest neighbours and analogies by 3CosAdd
  (``argmax_d cos(d, b − a + c)`` excluding ``a, b, c``; Mikolov et al., 2013, "Linguistic
  Regularities in Continuous Space Word Representations"); ``method="only-c"`` is the
  baseline that ignores the offset, ``argmax_d cos(d, c)`` with the same exclusions
  (Linzen, 2016, "Issues in evaluating semantic spaces using word analogies", §3).
* :func:`analogy_sets` — analogy questions from WordNet and small fixed lists:
  adjective → adverb (WordNet pertainyms), singular → plural, male → female,
  country → capital.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mantissa.errors import ConfigError, ShapeError
from mantissa.progress import progress

_WORD = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased alphabetic words."""
    return _WORD.findall(text.lower())


@dataclass
class Corpus:
    """Token ids of a corpus (flat), the sentence of each token, the vocabulary and counts."""

    ids: np.ndarray
    sentence: np.ndarray
    words: list[str]
    counts: np.ndarray

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 5, max_vocab: int | None = None) -> Corpus:
        sents = [tokenize(t) for t in texts]
        freq = Counter(w for s in sents for w in s)
        vocab = [w for w, c in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
        vocab = vocab[:max_vocab] if max_vocab else vocab
        if len(vocab) < 2:
            raise ShapeError(f"corpus too small: {len(vocab)} words occur >= {min_count} times")
        index = {w: i for i, w in enumerate(vocab)}
        ids, sent = [], []
        for k, s in enumerate(sents):
            kept = [index[w] for w in s if w in index]
            ids += kept
            sent += [k] * len(kept)
        return cls(np.asarray(ids, dtype=np.int64), np.asarray(sent, dtype=np.int64), vocab,
                   np.asarray([freq[w] for w in vocab], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)


def window_pairs(corpus: Corpus, window: int, rng: np.random.Generator, subsample: float = 0.0,
                 dynamic: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, context, distance) pairs within sentences; word2vec subsampling and
    dynamic window (a pair at distance d survives with probability (window − d + 1)/window)."""
    ids, sent = corpus.ids, corpus.sentence
    if subsample > 0:
        f = corpus.counts[ids] / corpus.counts.sum()
        keep = rng.random(len(ids)) < (np.sqrt(f / subsample) + 1) * subsample / f
        ids, sent = ids[keep], sent[keep]
    cs, os_, ds = [], [], []
    for d in range(1, window + 1):
        same = sent[:-d] == sent[d:]
        if dynamic:
            same &= rng.random(len(same)) < (window - d + 1) / window
        a, b = ids[:-d][same], ids[d:][same]
        cs += [a, b]
        os_ += [b, a]
        ds.append(np.full(2 * len(a), d))
    return np.concatenate(cs), np.concatenate(os_), np.concatenate(ds)


@dataclass
class WordVectors:
    """Unit-normalised word vectors with lookup, neighbours and analogies."""

    words: list[str]
    vectors: torch.Tensor

    def __post_init__(self) -> None:
        self.vectors = F.normalize(self.vectors.float(), dim=-1)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> torch.Tensor:
        return self.vectors[self.index[word]]

    def most_similar(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        sims = self.vectors @ self[word]
        sims[self.index[word]] = -2
        top = sims.topk(k)
        return [(self.words[i], float(s)) for s, i in zip(top.values, top.indices)]

    def analogy(self, quads: Sequence[tuple[str, str, str, str]], restrict: int | None = None,
                batch: int = 512, method: str = "3cosadd") -> tuple[float, int]:
        """3CosAdd accuracy over ``a:b :: c:d`` questions whose words are all in the
        (first ``restrict``) vocabulary; returns (accuracy, questions answered).
        ``method="only-c"``: Linzen's baseline, the nearest neighbour of ``c``."""
        if method not in ("3cosadd", "only-c"):
            raise ConfigError(f"unknown analogy method {method!r}; use '3cosadd' or 'only-c'")
        n = min(restrict or len(self.words), len(self.words))
        usable = [q for q in quads if all(w in self.index and self.index[w] < n for w in q)]
        if not usable:
            return float("nan"), 0
        mat = self.vectors[:n]
        correct = 0
        for s in range(0, len(usable), batch):
            chunk = usable[s : s + batch]
            ix = torch.tensor([[self.index[w] for w in q] for q in chunk])
            target = (mat[ix[:, 2]] if method == "only-c"
                      else F.normalize(mat[ix[:, 1]] - mat[ix[:, 0]] + mat[ix[:, 2]], dim=-1))
            sims = target @ mat.T
            sims.scatter_(1, ix[:, :3], -2.0)
            correct += int((sims.argmax(1) == ix[:, 3]).sum())
        return correct / len(usable), len(usable)


def train_sgns(corpus: Corpus, dim: int = 100, window: int = 5, negatives: int = 5, epochs: int = 3,
               batch_size: int = 4096, lr: float = 0.01, subsample: float = 1e-4,
               seed: int = 0) -> WordVectors:
    """Skip-gram with negative sampling (see module docstring); SparseAdam on the rows touched."""
    if dim < 1 or window < 1 or negatives < 1 or epochs < 1:
        raise ConfigError("train_sgns needs dim, window, negatives and epochs >= 1")
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    v = len(corpus.words)
    centre = torch.nn.Embedding(v, dim, sparse=True)
    context = torch.nn.Embedding(v, dim, sparse=True)
    with torch.no_grad():
        centre.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=gen)
        context.weight.zero_()
    opt = torch.optim.SparseAdam([centre.weight, context.weight], lr=lr)
    noise = torch.as_tensor(corpus.counts, dtype=torch.float) ** 0.75
    for epoch in range(epochs):
        c, o, _ = window_pairs(corpus, window, rng, subsample)
        perm = rng.permutation(len(c))
        c, o = torch.as_tensor(c[perm]), torch.as_tensor(o[perm])
        with progress(f"skip-gram epoch {epoch + 1}/{epochs}", total=len(c)) as bar:
            for s in range(0, len(c), batch_size):
                cb, ob = c[s : s + batch_size], o[s : s + batch_size]
                neg = torch.multinomial(noise, len(cb) * negatives, replacement=True, generator=gen)
                vc = centre(cb)
                pos = (vc * context(ob)).sum(-1)
                negs = torch.bmm(context(neg.view(len(cb), negatives)), vc.unsqueeze(-1)).squeeze(-1)
                loss = -(F.logsigmoid(pos).mean() + F.logsigmoid(-negs).sum(-1).mean())
                opt.zero_grad()
                loss.backward()
                opt.step()
                bar.advance(len(cb), loss=float(loss.detach()))
    return WordVectors(corpus.words, centre.weight.detach().clone())


def cooccurrence(corpus: Corpus, window: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Symmetric co-occurrence counts weighted by 1/distance: (rows, cols, values)."""
    c, o, d = window_pairs(corpus, window, np.random.default_rng(0), subsample=0.0, dynamic=False)
    v = len(corpus.words)
    keys, inv = np.unique(c * v + o, return_inverse=True)
    vals = np.bincount(inv, weights=1.0 / d)
    return torch.as_tensor(keys // v), torch.as_tensor(keys % v), torch.as_tensor(vals, dtype=torch.float)


def train_glove(corpus: Corpus, dim: int = 100, window: int = 10, epochs: int = 15, x_max: float = 100.0,
                alpha: float = 0.75, lr: float = 0.05, batch_size: int = 65536, seed: int = 0) -> WordVectors:
    """GloVe (see module docstring) with AdaGrad; returns ``W + W̃``."""
    rows, cols, x = cooccurrence(corpus, window)
    gen = torch.Generator().manual_seed(seed)
    v = len(corpus.words)
    w = ((torch.rand(v, dim, generator=gen) - 0.5) / dim).requires_grad_()
    wt = ((torch.rand(v, dim, generator=gen) - 0.5) / dim).requires_grad_()
    b = torch.zeros(v, requires_grad=True)
    bt = torch.zeros(v, requires_grad=True)
    opt = torch.optim.Adagrad([w, wt, b, bt], lr=lr)
    weight = (x / x_max).clamp(max=1.0) ** alpha
    logx = x.log()
    with progress("GloVe", total=epochs) as bar:
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=gen)
            for s in range(0, len(x), batch_size):
                ix = perm[s : s + batch_size]
                i, j = rows[ix], cols[ix]
                err = (w[i] * wt[j]).sum(-1) + b[i] + bt[j] - logx[ix]
                loss = (weight[ix] * err**2).sum() / len(ix)
                opt.zero_grad()
                loss.backward()
                opt.step()
            bar.advance(1, loss=float(loss.detach()))
    return WordVectors(corpus.words, (w + wt).detach())


GENDER = ("man woman, king queen, boy girl, father mother, son daughter, brother sister, husband wife, "
          "uncle aunt, nephew niece, prince princess, male female, actor actress, god goddess, "
          "emperor empress, lord lady, grandfather grandmother, monk nun, host hostess, waiter waitress, "
          "duke duchess, bull cow, stallion mare, he she, his her, gentleman lady, sir madam, "
          "boyfriend girlfriend, widower widow, heir heiress, groom bride, masculine feminine, "
          "fraternity sorority, patriarch matriarch, stepfather stepmother")
CAPITALS = ("france paris, italy rome, germany berlin, spain madrid, japan tokyo, china beijing, "
            "russia moscow, egypt cairo, greece athens, england london, ireland dublin, portugal lisbon, "
            "austria vienna, poland warsaw, norway oslo, sweden stockholm, denmark copenhagen, "
            "hungary budapest, turkey ankara, iran tehran, iraq baghdad, syria damascus, cuba havana, "
            "kenya nairobi, peru lima, chile santiago, canada ottawa, australia canberra, belgium brussels, "
            "netherlands amsterdam, finland helsinki, thailand bangkok, vietnam hanoi, afghanistan kabul, "
            "pakistan islamabad, venezuela caracas, colombia bogota, lebanon beirut, israel jerusalem, "
            "jordan amman, switzerland bern, romania bucharest, bulgaria sofia, serbia belgrade, "
            "scotland edinburgh, wales cardiff, nigeria lagos, ethiopia addis, morocco rabat, "
            "libya tripoli, tunisia tunis, sudan khartoum, ghana accra, nepal kathmandu, "
            "mongolia ulaanbaatar")


def _pairs_from(text: str) -> list[tuple[str, str]]:
    return [tuple(p.split()) for p in text.split(", ")]  # type: ignore[misc]


def analogy_sets(vocab: Sequence[str], synsets: Sequence | None = None, max_pairs: int = 60,
                 min_rank: int | None = None, seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """Word pairs per relation, restricted to ``vocab`` (and its first ``min_rank`` words)."""
    allowed = set(vocab[:min_rank] if min_rank else vocab)
    rng = random.Random(seed)
    sets: dict[str, list[tuple[str, str]]] = {"male-female": _pairs_from(GENDER),
                                              "country-capital": _pairs_from(CAPITALS)}
    nouns = [w for w in vocab if w + "s" in allowed and len(w) > 3 and not w.endswith("s")]
    sets["singular-plural"] = [(w, w + "s") for w in nouns]
    if synsets is not None:
        by_id = {s.id: s for s in synsets}
        adv = []
        for s in synsets:
            if s.pos != "r":
                continue
            for sym, target in s.pointers:
                if sym != "\\" or target not in by_id:
                    continue
                for a in s.lemmas:
                    for j in by_id[target].lemmas:
                        if a.endswith("ly") and a.startswith(j[: max(3, len(j) - 2)]) and a != j:
                            adv.append((j, a))
        sets["adjective-adverb"] = sorted(set(adv))
    out = {}
    for name, pairs in sets.items():
        ok = [p for p in pairs if p[0] in allowed and p[1] in allowed and p[0] != p[1]]
        rng.shuffle(ok)
        out[name] = ok[:max_pairs]
    return out


def quads(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """Every ordered ``a:b :: c:d`` question from a relation's word pairs."""
    return [(a, b, c, d) for i, (a, b) in enumerate(pairs) for j, (c, d) in enumerate(pairs) if i != j]
