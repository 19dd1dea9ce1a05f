"""IMAGINATOR: image+text joint embeddings from word-level grounding of image objects.

Krishna et al., 2023, "IMAGINATOR: Pre-Trained Image+Text Joint Embeddings using
Word-Level Grounding of Images" (ICON; arXiv:2305.10438). The joint embedding
(JE) of an object/word combines three representations, each built from counts
over image+caption pairs and reduced by SVD (the authors' notebook loads
"alpha-smoothed, SVD-512" co-location embeddings):

1. **object-object co-location** — ``C_oo[a, b]`` = number of images in which
   objects ``a`` and ``b`` appear together (``a != b``);
2. **word-object co-location** — ``C_wo[w, o]`` = number of image+caption pairs
   whose caption contains word ``w`` and whose image contains object ``o``;
3. **word-object correlation** — Pearson's correlation across pairs between the
   indicator "caption contains ``w``" and "image contains ``o``".

Co-location counts become context-distribution-smoothed positive PMI
(Levy, Goldberg & Dagan, 2015)::

    PPMI(i, j) = max(0, log  P(i, j) / (P(i) · P_α(j))),   P_α(j) = c_j^α / Σ_j' c_j'^α,  α = 0.75

and a matrix ``M ≈ U S Vᵀ`` gives row vectors ``U √S`` and column vectors ``V √S``
(``dim`` components). The paper gives no closed form for the combination; ours:
the JE of object ``o`` is ``[λ_oo ô_oo ; λ_wo ô_wo ; λ_corr ô_corr]`` (each block divided by its
rows' mean norm, so a word that co-locates with nothing in particular stays short; the
weights ``λ`` are chosen on validation data by :func:`select_weights`)
and the JE of word ``w`` is ``[ô_oo(w) ; ŵ_wo ; ŵ_corr]`` where
``o_oo(w) = Σ_o p(o | w) o_oo[o]`` with ``p(o | w) ∝ PPMI_wo(w, o)`` carries the
object-object block over to words (the word is grounded in the objects it
co-locates with). A caption embeds as the mean of its words' JEs; an image as
the mean JE of its objects.

Objects are found without labels: the crops of the scene's boxes (a detector's
output) are clustered by k-means (:mod:`mantissa.index.kmeans`) into ``n_objects``
visual words, the stand-in for Visual Genome's object names; an image's object
JE is the soft-assignment mixture ``Σ_o softmax(-‖f - μ_o‖² / T)_o · JE(o)``.

:func:`ridge_bridge` is the unimodal baselines' link between the spaces: a
ridge regression (regularisation chosen by leave-one-out, scikit-learn
``RidgeCV``) from one modality's features to the other's embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mantissa.errors import ConfigError, ShapeError
from mantissa.index.kmeans import assign, kmeans

BLOCKS = ("oo", "wo", "corr")


def cooccurrence(rows: Sequence[Sequence[int]], cols: Sequence[Sequence[int]], n_rows: int,
                 n_cols: int) -> np.ndarray:
    """``C[i, j]`` = number of items ``s`` with ``i in rows[s]`` and ``j in cols[s]`` (presence)."""
    if len(rows) != len(cols):
        raise ShapeError(f"{len(rows)} row sets for {len(cols)} column sets")
    a, b = indicator(rows, n_rows), indicator(cols, n_cols)
    return a.T @ b


def indicator(sets: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """``(items, n)`` 0/1 matrix: item ``s`` contains ``j``."""
    m = np.zeros((len(sets), n))
    for s, items in enumerate(sets):
        m[s, list(items)] = 1.0
    return m


def ppmi(counts: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """Positive PMI with context-distribution smoothing ``alpha`` (module docstring)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or (c < 0).any():
        raise ConfigError("ppmi needs a 2-D matrix of non-negative counts")
    total = c.sum()
    if total <= 0:
        return np.zeros_like(c)
    p_ij = c / total
    p_i = c.sum(1, keepdims=True) / total
    cj = c.sum(0, keepdims=True) ** alpha
    p_j = cj / max(cj.sum(), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(p_ij / (p_i * p_j))
    return np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation between every column of ``a (n, p)`` and of ``b (n, q)`` -> ``(p, q)``;
    a constant column correlates 0 with everything."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"correlation needs the same rows, got {a.shape[0]} and {b.shape[0]}")
    za, zb = a - a.mean(0), b - b.mean(0)
    sa, sb = np.sqrt((za**2).sum(0)), np.sqrt((zb**2).sum(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (za.T @ zb) / np.outer(sa, sb)
    return np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)


def svd_vectors(m: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Row vectors ``U √S`` and column vectors ``V √S`` of the top ``dim`` singular triplets."""
    u, s, vt = np.linalg.svd(np.asarray(m, np.float64), full_matrices=False)
    k = min(dim, len(s))
    r = np.sqrt(s[:k])
    return u[:, :k] * r, vt[:k].T * r


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _scaled(x: np.ndarray) -> np.ndarray:
    """Divide a block by its rows' mean norm: blocks weigh alike, rows keep their relative size (a word
    that co-locates with nothing in particular, such as "a", stays short)."""
    return x / max(float(np.linalg.norm(x, axis=-1).mean()), 1e-12)


@dataclass
class ImaginatorConfig:
    n_objects: int = 30  # k-means visual words
    dim: int = 16  # SVD components per block
    alpha: float = 0.75  # PPMI context smoothing
    temperature: float = 0.5  # soft assignment, in units of the mean squared distance to the nearest centroid
    blocks: tuple[str, ...] = BLOCKS
    weights: tuple[float, ...] = (1.0, 1.0, 1.0)  # one per block of ``blocks``


class Imaginator:
    """Fit on (object crops, their image, caption words); embed captions and images in one space."""

    def __init__(self, cfg: ImaginatorConfig | None = None) -> None:
        self.cfg = cfg or ImaginatorConfig()
        bad = set(self.cfg.blocks) - set(BLOCKS)
        if bad or not self.cfg.blocks:
            raise ConfigError(f"blocks must be a non-empty subset of {BLOCKS}, got {self.cfg.blocks}")
        if len(self.cfg.weights) != len(self.cfg.blocks) or min(self.cfg.weights) < 0:
            raise ConfigError(f"need one weight >= 0 per block {self.cfg.blocks}, got {self.cfg.weights}")
        self.vocab: dict[str, int] = {}

    def fit(self, feats: torch.Tensor, owner: torch.Tensor, words: Sequence[Sequence[str]],
            seed: int = 0) -> Imaginator:
        """``feats (m, f)`` object crops, ``owner (m,)`` their image index into ``words`` (captions)."""
        cfg, n = self.cfg, len(words)
        self.centroids = kmeans(feats.float(), cfg.n_objects, seed=seed)
        ids, d2 = assign(feats, self.centroids)
        self.scale = float(d2.mean()) + 1e-12
        self.vocab = {w: i for i, w in enumerate(sorted({w for ws in words for w in ws}))}
        objs: list[set[int]] = [set() for _ in range(n)]
        for s, o in zip(owner.tolist(), ids.tolist()):
            objs[s].add(o)
        wsets = [{self.vocab[w] for w in ws} for ws in words]
        k, v = cfg.n_objects, len(self.vocab)
        c_oo = cooccurrence(objs, objs, k, k)
        np.fill_diagonal(c_oo, 0.0)
        oo = ppmi(c_oo, cfg.alpha)
        self.obj_oo, _ = svd_vectors(oo, cfg.dim)
        wo = ppmi(cooccurrence(wsets, objs, v, k), cfg.alpha)
        self.word_wo, self.obj_wo = svd_vectors(wo, cfg.dim)
        corr = correlation(indicator(wsets, v), indicator(objs, k))
        self.word_corr, self.obj_corr = svd_vectors(corr, cfg.dim)
        p = wo / np.maximum(wo.sum(1, keepdims=True), 1e-12)
        self.word_oo = p @ self.obj_oo
        self.stats = {"c_oo": c_oo, "ppmi_wo": wo, "corr": corr, "object_ids": ids.numpy()}
        return self

    def _stack(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([w * _scaled(parts[b]) for b, w in zip(self.cfg.blocks, self.cfg.weights)],
                              axis=1)

    def object_vectors(self) -> np.ndarray:
        """JE of each visual word ``(n_objects, len(blocks) * dim)``."""
        return self._stack({"oo": self.obj_oo, "wo": self.obj_wo, "corr": self.obj_corr})

    def word_vectors(self) -> np.ndarray:
        """JE of each vocabulary word ``(V, len(blocks) * dim)`` (rows in ``sorted(vocab)`` order)."""
        return self._stack({"oo": self.word_oo, "wo": self.word_wo, "corr": self.word_corr})

    def embed_text(self, words: Sequence[Sequence[str]]) -> torch.Tensor:
        """Mean JE of each caption's known words, unit-normalised ``(n, D)``."""
        wv = self.word_vectors()
        out = np.stack([wv[[self.vocab[w] for w in ws if w in self.vocab]].mean(0)
                        if any(w in self.vocab for w in ws) else np.zeros(wv.shape[1]) for ws in words])
        return torch.from_numpy(_unit(out)).float()

    def visual_words(self, feats: torch.Tensor, owner: torch.Tensor, n: int) -> np.ndarray:
        """Soft bag of visual words of each image ``(n, n_objects)``: summed assignments of its objects."""
        d2 = torch.cdist(feats.float(), self.centroids.float()) ** 2
        p = torch.softmax(-d2 / (self.cfg.temperature * self.scale), dim=1).double().numpy()
        out = np.zeros((n, p.shape[1]))
        np.add.at(out, owner.numpy(), p)
        return out

    def embed_images(self, feats: torch.Tensor, owner: torch.Tensor, n: int) -> torch.Tensor:
        """Mean soft-assigned object JE of each image ``(n, D)``, unit-normalised."""
        out = self.visual_words(feats, owner, n) @ self.object_vectors()
        return torch.from_numpy(_unit(out)).float()


def hit_at_1(scores: torch.Tensor, keys: Sequence[object]) -> float:
    """Percent of queries whose best-scoring document has the query's key (same content);
    query ``i`` is document ``i``'s caption, so keys index both."""
    if scores.shape != (len(keys), len(keys)):
        raise ShapeError(f"scores {tuple(scores.shape)} for {len(keys)} keys")
    top = scores.argmax(1).tolist()
    return 100.0 * float(np.mean([keys[i] == keys[j] for i, j in enumerate(top)]))


def chance_at_1(keys: Sequence[object]) -> float:
    """Expected :func:`hit_at_1` (%) of a random ranking: mean share of same-key documents."""
    _, inv, counts = np.unique(np.array([hash(k) for k in keys]), return_inverse=True, return_counts=True)
    return 100.0 * float((counts[inv] / len(keys)).mean())


def select_weights(model: Imaginator, score: Callable[[Imaginator], torch.Tensor], keys: Sequence[object],
                   grid: Sequence[float] = (0.0, 0.5, 1.0)) -> tuple[tuple[float, ...], float]:
    """The block weights (from ``grid``, not all zero) whose ``score(model)`` (text→image scores of
    validation pairs) has the best :func:`hit_at_1`; sets them on ``model``. Returns (weights, hit)."""
    import itertools

    best: tuple[float, tuple[float, ...]] = (-1.0, model.cfg.weights)
    for w in itertools.product(grid, repeat=len(model.cfg.blocks)):
        if max(w) <= 0:
            continue
        model.cfg.weights = tuple(float(v) for v in w)
        best = max(best, (hit_at_1(score(model), keys), model.cfg.weights), key=lambda t: t[0])
    model.cfg.weights = best[1]
    return best[1], best[0]


def ridge_bridge(x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray,
                 alphas: Sequence[float] = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)) -> np.ndarray:
    """Fit ``y ≈ x W + b`` by ridge (``alpha`` by leave-one-out) on the training rows; predict for ``x``."""
    from sklearn.linear_model import RidgeCV

    model = RidgeCV(alphas=np.asarray(alphas, np.float64))
    model.fit(np.asarray(x_train, np.float64), np.asarray(y_train, np.float64))
    return model.predict(np.asarray(x, np.float64))


def ppmi_word_vectors(sentences: Sequence[Sequence[str]], dim: int,
                      alpha: float = 0.75) -> tuple[dict[str, int], np.ndarray]:
    """Text-only word vectors: PPMI of within-sentence word co-occurrence, SVD ``U √S`` ``(V, dim)``."""
    vocab = {w: i for i, w in enumerate(sorted({w for s in sentences for w in s}))}
    sets = [{vocab[w] for w in s} for s in sentences]
    c = cooccurrence(sets, sets, len(vocab), len(vocab))
    np.fill_diagonal(c, 0.0)
    vecs, _ = svd_vectors(ppmi(c, alpha), dim)
    return vocab, vecs


def bag_of_words(words: Sequence[Sequence[str]], vocab: dict[str, int]) -> np.ndarray:
    """0/1 word-presence matrix ``(n, V)`` (unknown words dropped)."""
    return indicator([{vocab[w] for w in ws if w in vocab} for ws in words], len(vocab))


def mean_word_vectors(words: Sequence[Sequence[str]], vocab: dict[str, int], vecs: np.ndarray) -> np.ndarray:
    """Mean vector of each sentence's known words ``(n, dim)`` (zeros when none is known)."""
    return np.stack([vecs[[vocab[w] for w in ws if w in vocab]].mean(0) if any(w in vocab for w in ws)
                     else np.zeros(vecs.shape[1]) for ws in words])


def _cos(a: np.ndarray, b: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(_unit(np.asarray(a, np.float64)) @ _unit(np.asarray(b, np.float64)).T).float()


def image_only_scores(train_words: Sequence[Sequence[str]], train_images: np.ndarray,
                      query_words: Sequence[Sequence[str]], images: np.ndarray) -> torch.Tensor:
    """Text→image scores in an *image-only* embedding space (``images``: e.g. bags of visual words):
    captions are mapped into it by :func:`ridge_bridge` from their bag of words; cosine ``(q, n)``."""
    vocab = {w: i for i, w in enumerate(sorted({w for ws in train_words for w in ws}))}
    pred = ridge_bridge(bag_of_words(train_words, vocab), train_images, bag_of_words(query_words, vocab))
    return _cos(pred, images)


def text_only_scores(train_words: Sequence[Sequence[str]], train_images: np.ndarray,
                     query_words: Sequence[Sequence[str]], images: np.ndarray, dim: int = 16,
                     alpha: float = 0.75) -> torch.Tensor:
    """Text→image scores in a *text-only* space (:func:`ppmi_word_vectors` of the training captions):
    images are mapped into it by :func:`ridge_bridge` from their features; cosine ``(q, n)``."""
    vocab, vecs = ppmi_word_vectors(train_words, dim, alpha)
    pred = ridge_bridge(train_images, mean_word_vectors(train_words, vocab, vecs), images)
    return _cos(mean_word_vectors(query_words, vocab, vecs), pred)


def joint_scores(model: Imaginator, train_words: Sequence[Sequence[str]], train_images: np.ndarray,
                 query_words: Sequence[Sequence[str]], images: np.ndarray) -> torch.Tensor:
    """Text→image scores in the joint space with the baselines' bridge: images mapped by
    :func:`ridge_bridge` from their features to their captions' JE; cosine ``(q, n)``."""
    pred = ridge_bridge(train_images, model.embed_text(train_words).double().numpy(), images)
    return _cos(model.embed_text(query_words).double().numpy(), pred)
