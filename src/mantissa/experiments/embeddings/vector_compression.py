"""Vector storage compression benchmark (paper #12: Zhang et al. 2024, "Experimental
Analysis of Large-scale Learnable Vector Storage Compression", VLDB): trainable
embedding-table compressors compared at equal memory budgets on one task.

Task (real data): every WordNet synset (117k, all parts of speech) is the bag of
the words of its definition; a fastText-style model — mean of the words'
embeddings, one linear layer — predicts the synset's lexicographer file (45
supersenses). Words seen at least ``min_count`` times form the vocabulary, ids
in frequency order (``id_order=random`` shuffles them, as arbitrary categorical
ids would be); the ``n x dim`` table holds > 97 % of the parameters. Each
method of :mod:`mantissa.embed.tables` is built at a fraction of the full
float32 table's bytes (``spec_for_budget``), trained with the same Trainer and
settings, and scored by test accuracy; ``quant`` and ``pq`` are post-training
(the trained full table, compressed, with the full model's classifier). Without WordNet (and
at smoke scale) a synthetic bag-of-words task stands in (``metric wordnet = 0``):
Zipf words, each class boosting its own random subset of them.

Gates: the full table trained (``min_full_lift`` points above the majority class),
and every (method, budget) pair for which the method has a configuration within the
budget trained a model that fits it (``coverage_feasible``; a method with no
configuration at a budget, such as 2-bit LSQ at 4 %, is recorded, not a failure).
Claims: the best method at ~25 % stays within 1 point of the full table; and the
paper's winners per budget — quantization (LSQ QAT, scalar or product quantization)
wins at moderate compression (10 %), and below the 2-bit floor of scalar
quantization (4 %) another method beats every scalar quantizer that fits.
"""

from __future__ import annotations

import collections
import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mantissa import plot, runtime
from mantissa.data import load_wordnet_glosses, wordnet_available
from mantissa.embed.tables import TABLES, EmbeddingTable, PostTrainingTable, build_table, spec_for_budget
from mantissa.errors import ConfigError
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import atomic_write
from mantissa.train import TensorBatches, TrainConfig, Trainer

PAD = -1
QUANTIZATION = ("qat", "quant", "pq")  # the quantization family of the paper's taxonomy
SCALAR_QUANTIZATION = ("qat", "quant")


Config = card_config(__name__)  # the card's [config]: vector_compression.toml


@dataclass
class BagData:
    x: torch.Tensor  # (n, max_words) int64 word ids, PAD-padded
    y: torch.Tensor  # (n,) int64 labels
    counts: torch.Tensor  # (vocab,) word frequencies
    n_classes: int


def wordnet_bags(min_count: int, max_words: int) -> BagData:
    """Definition words of every WordNet synset -> its lexicographer file."""
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


class BagClassifier(nn.Module):
    """Mean of the words' vectors -> linear layer (fastText)."""

    def __init__(self, table: EmbeddingTable, n_classes: int) -> None:
        super().__init__()
        self.table = table
        self.head = nn.Linear(table.dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        present = x != PAD
        vectors = self.table(x[present])
        rows = present.nonzero()[:, 0]
        summed = torch.zeros(len(x), self.table.dim, dtype=vectors.dtype).index_add(0, rows, vectors)
        return self.head(summed / present.sum(1, keepdim=True).clamp_min(1))


def _loss(model, batch):
    return F.cross_entropy(model(batch["x"]), batch["y"]), {}


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean()) * 100


def _train(spec: str, data: BagData, train: torch.Tensor, cfg: Config, seed: int) -> BagClassifier:
    torch.manual_seed(seed)
    table = build_table(spec, len(data.counts), cfg.dim, counts=data.counts, seed=seed)
    model = BagClassifier(table, data.n_classes)
    tcfg = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.steps // 20,
                       weight_decay=0.0, log_every=0, seed=seed)
    batches = TensorBatches({"x": data.x[train], "y": data.y[train]}, cfg.batch_size, seed=seed,
                            trim_key=None)
    Trainer(model, tcfg, batches, loss_fn=_loss, progress_desc=spec,
            callbacks=[lambda step, _logs: table.on_step(step, cfg.steps)]).fit()
    table.finalize()
    return model


def _post_training(spec: str, full: BagClassifier, data: BagData) -> BagClassifier:
    """The trained full model with its table compressed after training (no retraining)."""
    table = build_table(spec, len(data.counts), full.table.dim)
    assert isinstance(table, PostTrainingTable)
    table.load_weights(full.table.weight.detach()).finalize()
    model = BagClassifier(table, data.n_classes)
    model.head.load_state_dict(full.head.state_dict())
    return model


def _score(row: dict) -> float:
    """Accuracy for ranking; a method without a model at a budget ranks last."""
    return row["accuracy"] if math.isfinite(row["accuracy"]) else -math.inf


def _key(fraction: float) -> str:
    return f"b{fraction * 100:g}".replace(".", "p")


@register
class VectorCompression(Experiment):
    id = "vector-compression"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        real = cfg.source == "wordnet" and wordnet_available()
        data = wordnet_bags(cfg.min_count, cfg.max_words) if real else \
            synthetic_bags(cfg.n_synthetic, cfg.vocab_synthetic, seed)
        if cfg.id_order not in ("frequency", "random"):
            raise ConfigError(f"id_order={cfg.id_order!r}; accepted: frequency | random")
        if cfg.id_order == "random":
            data = shuffle_ids(data, seed)
        perm = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(seed))
        n_test = int(len(data.x) * cfg.test_fraction)
        test, train = perm[:n_test], perm[n_test:]
        methods = [m.strip() for m in cfg.methods.split(",") if m.strip()]
        budgets = [float(b) for b in cfg.budgets.split(",") if b.strip()]
        n, table_bytes = len(data.counts), len(data.counts) * cfg.dim * 4
        rows: list[dict] = []
        with runtime.threads(1):
            full = _train("full", data, train, cfg, seed)
            acc_full = _accuracy(full, data.x[test], data.y[test])
            rows.append({"method": "full", "budget": 1.0, "spec": "full", "memory": 1.0,
                         "accuracy": acc_full})
            done: dict[str, dict] = {}  # a spec that fits several budgets is trained once
            for frac in budgets:
                for m in methods:
                    try:
                        spec = spec_for_budget(m, n, cfg.dim, frac, data.counts)
                    except ConfigError:  # no configuration of this method fits: no model, no number
                        rows.append({"method": m, "spec": "-", "memory": math.nan, "accuracy": math.nan,
                                     "budget": frac})
                        continue
                    if spec not in done:
                        done[spec] = self._one(m, spec, data, train, test, full, cfg, seed)
                    rows.append({**done[spec], "budget": frac})
        n_params = sum(p.numel() for p in full.parameters())
        y_test = data.y[test]
        majority = float(torch.bincount(y_test).max()) / len(y_test) * 100
        metrics: dict[str, float] = {
            "wordnet": float(real), "vocab": float(n), "n_synsets": float(len(data.x)),
            "table_share_of_parameters": table_bytes / 4 / n_params, "acc_full": acc_full,
            "majority_acc": majority, "full_lift": acc_full - majority}
        metrics.update(self._summary(rows, methods, budgets, acc_full))
        return Result(metrics, self._artifacts(rows, methods, budgets, acc_full, out_dir))

    def _one(self, method: str, spec: str, data: BagData, train, test, full, cfg: Config,
             seed: int) -> dict:
        model = _post_training(spec, full, data) if TABLES.get(method).post_training else \
            _train(spec, data, train, cfg, seed)
        acc = _accuracy(model, data.x[test], data.y[test])
        memory = model.table.memory_bytes() / model.table.full_bytes()
        return {"method": method, "spec": spec, "memory": memory, "accuracy": acc}

    def _summary(self, rows: list[dict], methods: list[str], budgets: list[float], acc_full: float
                 ) -> dict[str, float]:
        out: dict[str, float] = {}
        got = {(r["method"], r["budget"]): r for r in rows if r["method"] != "full"}
        ok = [k for k, r in got.items() if math.isfinite(r["accuracy"]) and r["memory"] <= k[1] + 1e-9]
        out["coverage"] = len(ok) / max(1, len(methods) * len(budgets))
        feasible = [k for k, r in got.items() if r.get("spec", "") != "-"]
        out["coverage_feasible"] = len(ok) / max(1, len(feasible))
        for (m, b), r in got.items():
            if math.isfinite(r["accuracy"]):  # a method that does not fit the budget has no number
                out[f"acc_{m.replace('-', '_')}_{_key(b)}"] = r["accuracy"]
                out[f"mem_{m.replace('-', '_')}_{_key(b)}"] = r["memory"]
        for b in budgets:
            best = max((got[m, b] for m in methods), key=_score)
            out[f"best_acc_{_key(b)}"] = best["accuracy"]
            out[f"gap_best_{_key(b)}"] = acc_full - best["accuracy"]
            out[f"winner_{_key(b)}_{best['method'].replace('-', '_')}"] = 1.0
        quarter = min(budgets, key=lambda b: abs(b - 0.25))
        out["budget_near_25pct"] = quarter
        out["gap_best_at_25pct"] = out[f"gap_best_{_key(quarter)}"]
        winners = {max(methods, key=lambda m: _score(got[m, b])) for b in budgets}
        out["distinct_winners"] = float(len(winners))
        # the paper's winners: quantization at moderate compression, other methods past its floor
        best = lambda ms, b: max((_score(got[m, b]) for m in ms if (m, b) in got), default=-math.inf)  # noqa: E731
        quant = [m for m in methods if m in QUANTIZATION]
        other = [m for m in methods if m not in QUANTIZATION]
        moderate = min(budgets, key=lambda b: abs(b - 0.1))
        out["budget_moderate"] = moderate
        out["quant_margin_moderate"] = best(quant, moderate) - best(other, moderate)
        tight = min(budgets)
        out["budget_tight"] = tight
        scalar = [m for m in methods if m in SCALAR_QUANTIZATION]
        # no scalar quantizer fitting counts as -inf: any other method beats it
        out["other_margin_tight"] = best([m for m in methods if m not in SCALAR_QUANTIZATION], tight) - \
            best(scalar, tight)
        return out

    def _artifacts(self, rows, methods, budgets, acc_full, out_dir: Path) -> list[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["method", "budget_fraction", "spec", "memory_fraction", "test_accuracy", "gap_to_full",
                    "winner_at_budget"])
        best = {b: max((r for r in rows if r["budget"] == b and r["method"] != "full"),
                       key=_score)["method"] for b in budgets}
        for r in rows:
            w.writerow([r["method"], f"{r['budget']:g}", r["spec"], f"{r['memory']:.4f}",
                        f"{r['accuracy']:.2f}", f"{acc_full - r['accuracy']:.2f}",
                        int(best.get(r["budget"]) == r["method"])])
        atomic_write(out_dir / "quality_vs_memory.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        ax.axhline(acc_full, color="k", ls="--", lw=1, label=f"full table ({acc_full:.1f} %)")
        for m in methods:
            pts = sorted((r["memory"], r["accuracy"]) for r in rows if r["method"] == m)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=m)
        ax.set_xscale("log")
        ax.set_xlabel("memory (fraction of the full float32 table)")
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=7)
        plot.save(fig, out_dir / "quality_vs_memory.png")
        return ["quality_vs_memory.csv", "quality_vs_memory.png"]


__all__ = ["BagClassifier", "VectorCompression", "synthetic_bags", "wordnet_bags"]
