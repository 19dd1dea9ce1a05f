"""GISTEmbed (paper #37): with batches that contain false negatives, guide-filtered
in-batch negatives beat plain in-batch contrastive training on retrieval.

Data: WordNet noun synsets with at least two lemmas; pairs (gloss → lemma), one per
lemma. Training batches keep up to ``group_size`` pairs of one synset together, so a
gloss meets its own synonyms as in-batch "negatives" — false negatives. Plain MNRL
pushes them away; GIST masks the candidates its guide (the frozen base MiniLM) scores
above the positive. Both arms: same batches, steps, lr and temperature. Evaluation:
gloss → lemma retrieval on held-out synsets, every lemma of the synset relevant.

At quick scale the GIST − MNRL difference is within the noise of one training run, so
both arms are trained with ``seeds`` training seeds (``seed``, ``seed + 1``, ...: the
training subsample, batch order and initial state change; the evaluation set is fixed
by ``seed``) and the seed-paired differences are judged: mean − 2·SE > 0.
Gates: in every seed both fine-tunes beat the untuned base MiniLM (nDCG@10), and the
guide masked some in-batch candidates (the batches hold false negatives).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from mantissa import plot
from mantissa.embed.pairs import subsample
from mantissa.embed.wordnet_bench import eval_pairs, loss_curve, minilm, wordnet_splits
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import write_csv
from mantissa.probe.retrieval_metrics import cosine_scores, retrieval_metrics
from mantissa.train.embed_trainer import fit_embedding
from mantissa.train.losses import GIST, InfoNCE

METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@10")


Config = card_config(__name__)  # the card's [config]: gistembed.toml


def _multi_lemma(pairs):
    counts = Counter(p.group for p in pairs)
    return [p for p in pairs if counts[p.group] >= 2]


@register
class GISTEmbedExperiment(Experiment):
    id = "gistembed"

    def _evaluate(self, model, data) -> dict[str, float]:
        q = model.encode(data[0])
        c = model.encode(data[1])
        return retrieval_metrics(cosine_scores(q, c), data[2])

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        splits = wordnet_splits("gloss-lemma", ("n",))
        data = eval_pairs(_multi_lemma(splits.test), cfg.eval_pairs, seed)
        base = self._evaluate(minilm(max_length=cfg.max_length), data)
        per_seed, hist, masked = [], {}, []
        for s in range(seed, seed + cfg.seeds):
            train = subsample(_multi_lemma(splits.train), cfg.train_pairs, s)
            results = {}
            arms = (("mnrl", InfoNCE(cfg.temperature)), ("gist", GIST(temperature=cfg.temperature)))
            for name, loss in arms:
                model = minilm(max_length=cfg.max_length)
                torch.manual_seed(s)
                tr = fit_embedding(model, loss, train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                                   seed=s, group_size=cfg.group_size, desc=f"{name} fine-tune (seed {s})")
                results[name] = self._evaluate(model, data)
                hist[f"{name} s{s}"] = tr.history
                if name == "gist":
                    masked += [r["masked"] for r in tr.history if "masked" in r]
            per_seed.append(results)
        mean = {name: {m: sum(r[name][m] for r in per_seed) / len(per_seed) for m in METRICS}
                for name in ("mnrl", "gist")}
        shown = {"base": base, **{f"{k} (mean)": v for k, v in mean.items()}}
        arts = [self._bars(out_dir / "retrieval.png", shown),
                loss_curve(out_dir / "loss.png", hist, "training loss (GIST's includes masked candidates)"),
                write_csv(out_dir / "retrieval.csv", ["model", "seed", *METRICS],
                          [["base", "", *(base[m] for m in METRICS)]]
                          + [[name, seed + i, *(r[name][m] for m in METRICS)]
                             for i, r in enumerate(per_seed) for name in ("mnrl", "gist")])]
        metrics = {f"base_{m}": base[m] for m in METRICS}
        metrics.update({f"{k}_{m}": v[m] for k, v in mean.items() for m in METRICS})
        for key, m in (("ndcg_gain", "ndcg@10"), ("mrr_gain", "mrr@10")):
            diffs = [r["gist"][m] - r["mnrl"][m] for r in per_seed]
            metrics.update({f"{key}_s{seed + i}": d for i, d in enumerate(diffs)})
            metrics.update(seed_metrics(key, diffs))
        metrics.update(
            mnrl_minus_base_min=min(r["mnrl"]["ndcg@10"] for r in per_seed) - base["ndcg@10"],
            gist_minus_base_min=min(r["gist"]["ndcg@10"] for r in per_seed) - base["ndcg@10"],
            gist_masked_fraction=sum(masked) / max(len(masked), 1),
            n_queries=len(data[0]), n_corpus=len(data[1]), steps=cfg.steps)
        return Result(metrics, arts)

    def _bars(self, path: Path, results: dict[str, dict[str, float]]) -> str:
        fig, ax = plot.figure()
        width = 0.8 / len(results)
        for i, (name, res) in enumerate(results.items()):
            ax.bar([j + i * width for j in range(len(METRICS))], [res[m] for m in METRICS], width, label=name)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(METRICS))], METRICS)
        ax.set_ylabel("score")
        ax.set_title("gloss → lemma retrieval on held-out synsets")
        ax.legend()
        plot.save(fig, path)
        return path.name
