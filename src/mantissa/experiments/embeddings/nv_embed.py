"""NV-Embed (paper #23): latent-attention pooling vs mean pooling on one retrieval fine-tune.

Data: the standard library's documented functions and classes; query = the first
paragraph of a docstring, document = the qualified signature (code search). Both arms
fine-tune MiniLM with in-batch contrastive loss (InfoNCE) on the same batches, steps and
learning rate; they differ only in pooling: the mean of token states, or NV-Embed's
latent attention (token states attend to a trainable 512 × d latent array, 8 heads,
then an MLP, then the mean; §3.2). The latent pooling starts close to mean pooling
(residual branches initialised small), so it is trained with its own, larger learning
rate (``pool_lr``; the encoder's layers use ``lr``).

To fit ≥ 3 seeds into the quick budget, only the top ``train_layers`` transformer
layers are fine-tuned; the frozen layers' outputs are computed once per text
(:class:`mantissa.embed.cached.CachedTop`) and shared by every seed and arm.
Evaluation: nDCG@10 / MRR@10 / recall on held-out functions.

Gate: the mean-pooling fine-tune beats the untuned model (the baseline trained).
Claim: latent − mean nDCG@10, paired per seed (same batches and seed in both arms),
mean − 2·SE above a margin of 0.005 (half a point; the paper's pooling ablation gains
are under a point of MTEB average).
"""

from __future__ import annotations

from pathlib import Path

import torch

from mantissa import plot
from mantissa.embed.cached import CachedTop
from mantissa.embed.pairs import Pair, docstring_pairs, split_pairs, subsample
from mantissa.embed.pooling import build_pooling
from mantissa.embed.wordnet_bench import eval_pairs, loss_curve, minilm
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import write_csv
from mantissa.probe.retrieval_metrics import cosine_scores, retrieval_metrics
from mantissa.train.embed_trainer import fit_embedding
from mantissa.train.losses import InfoNCE

METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@10")


Config = card_config(__name__)  # the card's [config]: nv_embed.toml


@register
class NVEmbedExperiment(Experiment):
    id = "nv-embed"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        pairs = [Pair(p.positive, p.anchor, p.group) for p in docstring_pairs()]  # docstring -> signature
        splits = split_pairs(pairs, seed=0)
        train = subsample(splits.train, cfg.train_pairs, seed)
        data = eval_pairs(splits.test, cfg.eval_pairs, seed)
        texts = [t for p in train for t in (p.anchor, p.positive)] + data[0] + data[1]
        latent = f"latent-attention:latents={cfg.latents},heads={cfg.heads}"
        states: dict | None = None
        per: dict[str, list[dict[str, float]]] = {"mean": [], "latent-attention": []}
        hist, rows, untuned = {}, [], {}
        for s in range(seed, seed + cfg.seeds):
            for name, pooling in (("mean", "mean"), ("latent-attention", latent)):
                torch.manual_seed(s)
                enc = minilm(max_length=cfg.max_length, pooling=pooling)
                model = CachedTop(enc, enc.n_layers - cfg.train_layers, states)
                if states is None:  # the frozen part is the same in every arm and seed
                    model.precompute(texts)
                    states = model.states
                    untuned = self._score(model, data)
                tr = fit_embedding(model, InfoNCE(), train, steps=cfg.steps, batch_size=cfg.batch_size,
                                   lr=cfg.lr, seed=s, desc=f"{name} pooling (seed {s})",
                                   lr_scales={"encoder.pooling.": cfg.pool_lr / cfg.lr})
                res = self._score(model, data)
                if name == "latent-attention":
                    res["cos_to_mean"] = self._cos_to_mean(model, data[0] + data[1])
                per[name].append(res)
                rows.append([name, s, *(res[m] for m in METRICS)])
                if s == seed:
                    hist[name] = tr.history
        mean = {k: {m: sum(r[m] for r in v) / len(v) for m in METRICS} for k, v in per.items()}
        arts = [self._bars(out_dir / "retrieval.png", {"untuned": untuned, **mean}),
                loss_curve(out_dir / "loss.png", hist, f"training loss (seed {seed})"),
                write_csv(out_dir / "retrieval.csv", ["pooling", "seed", *METRICS], rows)]
        metrics = {f"{k.replace('-', '_')}_{m}": v for k, res in mean.items() for m, v in res.items()}
        metrics.update({f"untuned_{m}": untuned[m] for m in METRICS})
        ndcg = [(la["ndcg@10"] - me["ndcg@10"]) for la, me in zip(per["latent-attention"], per["mean"])]
        mrr = [(la["mrr@10"] - me["mrr@10"]) for la, me in zip(per["latent-attention"], per["mean"])]
        metrics.update(seed_metrics("ndcg_gain", ndcg))
        metrics.update(seed_metrics("mrr_gain", mrr))
        cos = [r["cos_to_mean"] for r in per["latent-attention"]]
        metrics["latent_cos_to_mean_pooling"] = sum(cos) / len(cos)
        metrics.update(baseline_gain=min(r["ndcg@10"] for r in per["mean"]) - untuned["ndcg@10"],
                       n_queries=len(data[0]), steps=cfg.steps)
        return Result(metrics, arts)

    @staticmethod
    def _cos_to_mean(model: CachedTop, texts: list[str]) -> float:
        """Mean cosine between the trained latent pooling and plain mean pooling of the same
        trained token states (1.0: the latent pooling still acts as mean pooling)."""
        latent = model.encode(texts)
        pooling = model.encoder.pooling
        model.encoder.pooling = build_pooling("mean", model.encoder.dim)
        try:
            mean = model.encode(texts)
        finally:
            model.encoder.pooling = pooling
        return float((latent * mean).sum(1).mean())

    @staticmethod
    def _score(model: CachedTop, data) -> dict[str, float]:
        q, c = model.encode(data[0]), model.encode(data[1])
        return retrieval_metrics(cosine_scores(q, c), data[2])

    def _bars(self, path: Path, results: dict[str, dict[str, float]]) -> str:
        fig, ax = plot.figure()
        for i, (name, res) in enumerate(results.items()):
            ax.bar([j + i * 0.4 for j in range(len(METRICS))], [res[m] for m in METRICS], 0.4, label=name)
        ax.set_xticks([j + 0.2 for j in range(len(METRICS))], METRICS)
        ax.set_title("docstring → signature retrieval (held-out stdlib functions)")
        ax.legend()
        plot.save(fig, path)
        return path.name
