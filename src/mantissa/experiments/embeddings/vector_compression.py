"""Vector storage compression benchmark (paper #12: Zhang et al. 2024, "Experimental
Analysis of Large-scale Learnable Vector Storage Compression", VLDB): trainable
embedding-table compressors compared at equal memory budgets on one task.

Task (real data): every WordNet synset (117k, all parts of speech) is the bag of
the words of its definition; a fastText-style model — mean of the words'
embeddings, one linear layer — predicts the synset's lexicographer file (45
supersenses). Words seen at least ``min_count`` times form the vocabulary, ids
in frequency order (``id_order=random`` shuffles them, as arbitrary categorical
ids would be); the ``n x dim`` table holds > 97 % of the parameters. Each
method of :mod:`mantissa.tables` is built at a fraction of the full
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

from pathlib import Path

import torch

from mantissa import runtime
from mantissa.data import wordnet_available
from mantissa.errors import ConfigError
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.tables import TABLES
from mantissa.tables.bag_model import post_training_classifier, train_bag_classifier
from mantissa.tables.budgets import budget_summary, plot_quality_vs_memory, quality_table, sweep_budgets
from mantissa.tasks.bags import shuffle_ids, synthetic_bags, wordnet_bags
from mantissa.train.classifier import classifier_accuracy

Config = card_config(__name__)  # the card's [config]: vector_compression.toml


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
        fit = dict(dim=cfg.dim, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed)

        def measure(method: str, spec: str) -> dict:
            """Train (or compress after training) one table; its test accuracy and memory share."""
            model = post_training_classifier(spec, full, data) if TABLES.get(method).post_training \
                else train_bag_classifier(spec, data, train, **fit)
            acc = classifier_accuracy(model, data.x[test], data.y[test])
            memory = model.table.memory_bytes() / model.table.full_bytes()
            return {"method": method, "spec": spec, "memory": memory, "accuracy": acc}

        with runtime.threads(1):
            full = train_bag_classifier("full", data, train, **fit)
            acc_full = classifier_accuracy(full, data.x[test], data.y[test])
            rows = [{"method": "full", "budget": 1.0, "spec": "full", "memory": 1.0, "accuracy": acc_full}]
            rows += sweep_budgets(methods, budgets, n, cfg.dim, data.counts, measure)
        n_params = sum(p.numel() for p in full.parameters())
        y_test = data.y[test]
        majority = float(torch.bincount(y_test).max()) / len(y_test) * 100
        metrics: dict[str, float] = {
            "wordnet": float(real), "vocab": float(n), "n_synsets": float(len(data.x)),
            "table_share_of_parameters": table_bytes / 4 / n_params, "acc_full": acc_full,
            "majority_acc": majority, "full_lift": acc_full - majority}
        metrics.update(budget_summary(rows, methods, budgets, acc_full))
        return Result(metrics, tables={"quality_vs_memory.csv": quality_table(rows, budgets, acc_full)},
                      figures={"quality_vs_memory.png": plot_quality_vs_memory(rows, methods, acc_full)})


__all__ = ["VectorCompression"]
