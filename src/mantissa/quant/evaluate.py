"""Fidelity of a quantized embedding model against its original, on real text.

:func:`evaluate` measures, on a corpus of WordNet glosses (or standard-library
docstrings when WordNet is not installed):

* ``mean_cosine`` / ``min_cosine`` — cosine between each text's original and
  quantized embedding;
* ``recall_at_10`` — for every text as a query, the share of its 10 nearest
  neighbours (original model, itself excluded) that the quantized model also
  ranks in its top 10;
* ``synonym_gap`` — mean cosine of WordNet synonym pairs minus that of random
  word pairs (the quantized model's), beside ``synonym_gap_original``, and
  ``synonym_auc`` (how well the cosine separates synonyms from random pairs);
* ``size_mb`` — the saved folder's size (tokenizer excluded), ``bits_per_weight``
  of the quantized layers (codes + scales);
* ``latency_ms`` / ``latency_ms_original`` — CPU wall time of one forward pass
  on a batch of 32 texts (median of a few runs; noisy on shared machines).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from mantissa.data import load_minilm, load_stdlib_docstrings, load_wordnet_glosses, wordnet_available
from mantissa.data.cache import embed_corpus
from mantissa.errors import ConfigError
from mantissa.quant.layers import bits_per_weight


@dataclass
class FidelityReport:
    recipe: str
    n_texts: int
    mean_cosine: float
    min_cosine: float
    recall_at_10: float
    synonym_gap: float
    synonym_gap_original: float
    synonym_auc: float
    size_mb: float
    bits_per_weight: float
    latency_ms: float
    latency_ms_original: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def text_pool(pos: str | None = None, min_chars: int = 16) -> list[str]:
    """Distinct real texts of at least ``min_chars`` characters, sorted: WordNet definitions (of part
    of speech ``pos``, default all), else the first lines of standard-library docstrings."""
    if wordnet_available():
        texts = {s.definition for s in (load_wordnet_glosses(pos) if pos else load_wordnet_glosses())}
    else:
        texts = {d.doc.strip().splitlines()[0] for d in load_stdlib_docstrings() if d.doc.strip()}
    return sorted(t for t in texts if len(t) >= min_chars)


def evaluation_corpus(n: int = 2000, seed: int = 0) -> list[str]:
    """``n`` distinct real texts from :func:`text_pool`."""
    pool = text_pool()
    if len(pool) < n:
        raise ConfigError(f"the corpus has {len(pool)} texts, fewer than the {n} asked for")
    return random.Random(seed).sample(pool, n)


def calibration_corpus(n: int, exclude: set[str] | None = None, seed: int = 1) -> list[str]:
    """``n`` real texts not in ``exclude`` (e.g. the evaluation corpus), for calibration: WordNet
    verb glosses, else standard-library docstrings."""
    pool = sorted(set(text_pool("v", min_chars=0)) - (exclude or set()))
    if len(pool) < n:
        raise ConfigError(f"only {len(pool)} calibration texts are available, fewer than the {n} asked for")
    return random.Random(seed).sample(pool, n)


def synonym_pairs(n: int = 300, seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``n`` WordNet synonym pairs (two one-word lemmas of a synset) and ``n`` random word pairs."""
    rng = random.Random(seed)
    groups = [[w for w in s.lemmas if " " not in w and w.isalpha()] for s in load_wordnet_glosses("n")]
    groups = [g for g in groups if len(g) >= 2]
    words = sorted({w for g in groups for w in g})
    syn = [tuple(rng.sample(g, 2)) for g in rng.sample(groups, n)]
    rand = [(rng.choice(words), rng.choice(words)) for _ in range(n)]
    return syn, rand  # type: ignore[return-value]


def recall_at_k(reference: torch.Tensor, candidate: torch.Tensor, k: int = 10) -> float:
    """Mean overlap of each row's top-k neighbours (self excluded) between two embedding sets."""
    def topk(e: torch.Tensor) -> torch.Tensor:
        sims = e @ e.T
        sims.fill_diagonal_(-float("inf"))
        return sims.topk(k, dim=1).indices

    a, b = topk(reference.float()), topk(candidate.float())
    hits = (a.unsqueeze(2) == b.unsqueeze(1)).any(2).float().sum(1)
    return float((hits / k).mean())


def auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    diff = pos.unsqueeze(1) - neg.unsqueeze(0)
    return float((diff > 0).float().mean() + 0.5 * (diff == 0).float().mean())


def _pair_cos(model: Any, pairs: list[tuple[str, str]], cached: bool = False) -> torch.Tensor:
    """Cosine of each pair's embeddings; every distinct word is embedded once (``cached``:
    through the embedding cache, for the un-quantized model)."""
    words = sorted({w for p in pairs for w in p})
    emb = embed_corpus(words, model) if cached else model.encode(words)
    row = {w: i for i, w in enumerate(words)}
    a = emb[torch.tensor([row[p[0]] for p in pairs])]
    b = emb[torch.tensor([row[p[1]] for p in pairs])]
    return (a * b).sum(1)


def latency_ms(model: Any, texts: list[str], repeats: int = 3) -> float:
    """Median wall time (ms) of one forward pass on ``texts`` (one batch)."""
    batch = model.tokenize(texts)
    times = []
    with torch.no_grad():
        model.model(**batch)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.model(**batch)
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def evaluate(quantized: Any, original: Any = None, *, n_texts: int = 2000, n_pairs: int = 300,
             k: int = 10, seed: int = 0, measure_size: bool = True,
             measure_latency: bool = True) -> FidelityReport:
    """Compare ``quantized`` (a wrapper with ``.encode``/``.model``, e.g. from
    :func:`mantissa.quant.quantize` on :func:`mantissa.data.load_minilm`) with ``original``
    (default: a fresh packaged MiniLM) on ``n_texts`` real texts; see the module docstring."""
    from mantissa.quant.saving import save_quantized, size_on_disk

    original = original or load_minilm()
    if not hasattr(quantized, "encode"):
        raise ConfigError("evaluate() needs a model wrapper with .encode (e.g. mantissa.data.MiniLM)")
    texts = evaluation_corpus(n_texts, seed)
    ref = embed_corpus(texts, original)
    got = quantized.encode(texts)
    cos = (ref * got).sum(1)
    syn, rand = synonym_pairs(n_pairs, seed) if wordnet_available() else ([], [])
    gap = gap0 = auc_q = float("nan")
    if syn:
        s_q, r_q = _pair_cos(quantized, syn), _pair_cos(quantized, rand)
        s_o, r_o = _pair_cos(original, syn, cached=True), _pair_cos(original, rand, cached=True)
        gap, gap0, auc_q = float(s_q.mean() - r_q.mean()), float(s_o.mean() - r_o.mean()), auc(s_q, r_q)
    size = float("nan")
    if measure_size:
        with tempfile.TemporaryDirectory() as tmp:
            size = size_on_disk(save_quantized(quantized, f"{tmp}/model")) / 1e6
    lat = lat0 = float("nan")
    if measure_latency:
        lat, lat0 = latency_ms(quantized, texts[:32]), latency_ms(original, texts[:32])
    return FidelityReport(
        recipe=getattr(quantized.model, "mantissa_quant", {}).get("recipe", "none"),
        n_texts=len(texts), mean_cosine=float(cos.mean()), min_cosine=float(cos.min()),
        recall_at_10=recall_at_k(ref, got, k), synonym_gap=gap, synonym_gap_original=gap0,
        synonym_auc=auc_q, size_mb=size, bits_per_weight=bits_per_weight(quantized.model),
        latency_ms=lat, latency_ms_original=lat0)
