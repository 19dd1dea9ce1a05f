"""NV-Embed (paper #23): latent-attention pooling vs mean pooling on one retrieval fine-tune.

Data: the standard library's documented functions and classes; query = the first
paragraph of a docstring, document = the qualified signature (code search). Both arms
fine-tune MiniLM with in-batch contrastive loss on the same batches, steps and lr; they
differ only in pooling: the mean of token states, or NV-Embed's latent attention (token
states attend to a trainable 512 × d latent array, 8 heads, then an MLP, then the mean).
Evaluation: nDCG@10 / MRR@10 / recall on held-out functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mantissa import plot
from mantissa.embed.pairs import Pair, docstring_pairs, split_pairs, subsample
from mantissa.experiments import Experiment, Result, register
from mantissa.experiments._embed_common import eval_pairs, loss_curve, minilm, write_csv
from mantissa.probe.retrieval_metrics import cosine_scores, retrieval_metrics
from mantissa.train.embed_trainer import fit_embedding
from mantissa.train.losses import InfoNCE

METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@10")


@dataclass
class Config:
    steps: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    max_length: int = 48
    latents: int = 512
    heads: int = 8
    train_pairs: int = 5000
    eval_pairs: int = 600


@register
class NVEmbedExperiment(Experiment):
    id = "nv-embed"
    title = "NV-Embed: latent-attention pooling"
    paper = "#23"
    claim = ("On the same retrieval fine-tune, NV-Embed's latent-attention pooling gives retrieval at least "
             "as good as mean pooling.")
    paper_figure = "MTEB 69.32; latent attention > mean > last-token pooling in the ablation"
    thresholds = {"min_ndcg_diff": 0.0}
    parts = ("embed.pooling:latent-attention", "embed.pooling:mean", "train.losses:infonce")
    Config = Config
    scales = {"smoke": {"steps": 2, "batch_size": 8, "train_pairs": 64, "eval_pairs": 48, "latents": 16},
              "full": {"steps": 1500, "max_length": 96, "train_pairs": 100000, "eval_pairs": 2000}}

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        pairs = [Pair(p.positive, p.anchor, p.group) for p in docstring_pairs()]  # docstring -> signature
        splits = split_pairs(pairs, seed=0)
        train = subsample(splits.train, cfg.train_pairs, seed)
        data = eval_pairs(splits.test, cfg.eval_pairs, seed)
        results, hist = {}, {}
        latent = f"latent-attention:latents={cfg.latents},heads={cfg.heads}"
        for name, pooling in (("mean", "mean"), ("latent-attention", latent)):
            torch.manual_seed(seed)
            model = minilm(max_length=cfg.max_length, pooling=pooling)
            tr = fit_embedding(model, InfoNCE(), train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                               seed=seed, desc=f"{name} pooling")
            q, c = model.encode(data[0]), model.encode(data[1])
            results[name], hist[name] = retrieval_metrics(cosine_scores(q, c), data[2]), tr.history
        arts = [self._bars(out_dir / "retrieval.png", results),
                loss_curve(out_dir / "loss.png", hist, "training loss"),
                write_csv(out_dir / "retrieval.csv", ["pooling", *METRICS],
                          [[k, *(v[m] for m in METRICS)] for k, v in results.items()])]
        metrics = {f"{k.replace('-', '_')}_{m}": v[m] for k, v in results.items() for m in METRICS}
        metrics.update(ndcg_diff=results["latent-attention"]["ndcg@10"] - results["mean"]["ndcg@10"],
                       mrr_diff=results["latent-attention"]["mrr@10"] - results["mean"]["mrr@10"],
                       n_queries=len(data[0]), steps=cfg.steps)
        return Result(metrics, arts)

    def _bars(self, path: Path, results: dict[str, dict[str, float]]) -> str:
        fig, ax = plot.figure()
        for i, (name, res) in enumerate(results.items()):
            ax.bar([j + i * 0.4 for j in range(len(METRICS))], [res[m] for m in METRICS], 0.4, label=name)
        ax.set_xticks([j + 0.2 for j in range(len(METRICS))], METRICS)
        ax.set_title("docstring → signature retrieval (held-out stdlib functions)")
        ax.legend()
        plot.save(fig, path)
        return path.name

    def checks(self, metrics):
        return [self.check("latent-attention − mean pooling nDCG@10", metrics, "ndcg_diff", ">=",
                           "min_ndcg_diff")]
