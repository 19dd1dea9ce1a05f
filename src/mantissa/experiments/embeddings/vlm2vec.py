"""VLM2Vec (catalogue row #35): one instruction-conditioned model embeds images, texts and both.

Wiring: the digits MMEB (:mod:`mantissa.tasks.mmeb_digits`: image → name, image + question →
answer, text → image, image + text → image), :mod:`mantissa.embed.vlm2vec`, the Trainer. Arms
trained on the same pairs, steps, batch and loss, over ``seeds`` seeds (each its own split):

* ``vlm2vec``: one causal transformer over [instruction, image patches, text, EOS], last token;
* ``late-fusion``: two single-modality towers of the same shape (2x the parameters), an input
  embedded as the sum of its parts' normalised embeddings (MMEB's CLIP/BLIP baselines); its
  image-only and text-only readouts are reported too.

Gate: both arms learned classification-as-retrieval. Claims: mean top-1 over the four tasks beats
the best single-modality baseline by a margin (seed-paired mean - 2 SE); better on every task.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from mantissa import plot, runtime
from mantissa.data import load_sklearn
from mantissa.embed import vlm2vec as v2v
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.stats import seed_metrics
from mantissa.tasks import mmeb_digits as mm
from mantissa.train import TensorBatches, TrainConfig, Trainer

ARMS = ("vlm2vec", "late-fusion", "image-only", "text-only")


Config = card_config(__name__)  # the card's [config]: vlm2vec.toml


def _train(cls, mcfg: v2v.VLM2VecConfig, cfg: Config, data: dict, seed: int, name: str):
    torch.manual_seed(seed)
    model = cls(mcfg)
    tcfg = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.steps // 10,
                       weight_decay=0.01, log_every=0, seed=seed)
    loss = functools.partial(v2v.vlm2vec_loss, temperature=cfg.temperature)
    Trainer(model, tcfg, TensorBatches(data, cfg.batch_size, seed=seed, trim_key=None), loss_fn=loss,
            progress_desc=f"train {name}").fit()
    return model


@register
class VLM2Vec(Experiment):
    id = "vlm2vec"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        vocab = v2v.mmeb_vocab(glosses := mm.digit_glosses())
        mcfg = v2v.VLM2VecConfig(vocab.size, d_model=cfg.d_model, n_head=cfg.n_head, n_layer=cfg.n_layer)
        rows, scores = [], {arm: [] for arm in ARMS}
        with runtime.threads(1):
            for s in range(seed, seed + cfg.seeds):
                train, test = load_sklearn("digits").split(cfg.test_fraction, seed=s)
                n_te = cfg.max_test or len(test.y)
                img_tr, img_te = train.X.view(-1, 8, 8) / 16.0, test.X[:n_te].view(-1, 8, 8) / 16.0
                rng = np.random.default_rng(s)
                pairs = [p for t in mm.TASK_NAMES
                         for p in mm.sample_pairs(t, train.y.numpy(), cfg.pairs_per_task, rng, glosses)]
                data = v2v.pair_tensors(vocab, mcfg, img_tr, pairs)
                for arm, cls in (("vlm2vec", v2v.VLM2VecEncoder), ("late-fusion", v2v.LateFusion)):
                    model = _train(cls, mcfg, cfg, data, s, arm)
                    uses = {arm: None} if arm == "vlm2vec" else \
                        {arm: None, "image-only": ("image",), "text-only": ("text",)}
                    for name, use in uses.items():
                        acc = v2v.mmeb_scores(model, vocab, mcfg, img_te, test.y[:n_te], glosses, use)
                        scores[name].append(acc)
                        rows.append([name, s, *(round(acc[t], 2) for t in mm.TASK_NAMES),
                                     round(float(np.mean(list(acc.values()))), 2)])
                    n_params = sum(p.numel() for p in model.parameters())  # late fusion: 2x vlm2vec
        return Result(self._metrics(scores, n_params), self._files(rows, out_dir))

    @staticmethod
    def _metrics(scores: dict, n_params: int) -> dict[str, float]:
        m: dict[str, float] = {"params_vlm2vec": n_params / 2, "params_late_fusion": float(n_params)}
        for arm, runs in scores.items():
            key = arm.replace("-", "_")
            for t in mm.TASK_NAMES:
                m[f"{key}_{t}"] = float(np.mean([r[t] for r in runs]))
            m[f"{key}_mean"] = float(np.mean([np.mean(list(r.values())) for r in runs]))
            m[f"{key}_cls_min"] = float(min(r["cls"] for r in runs))
        base = ARMS[1:]
        gains = [np.mean(list(v.values())) - max(np.mean(list(scores[b][i].values())) for b in base)
                 for i, v in enumerate(scores["vlm2vec"])]
        m.update(seed_metrics("gain_mean_over_best_baseline", gains))
        m["min_task_gain"] = min(m[f"vlm2vec_{t}"] - max(m[f"{b.replace('-', '_')}_{t}"] for b in base)
                                 for t in mm.TASK_NAMES)
        m["cls_min_both"] = min(m["vlm2vec_cls_min"], m["late_fusion_cls_min"])
        return m

    @staticmethod
    def _files(rows: list, out_dir: Path) -> list[str]:
        files = [write_csv(out_dir / "retrieval.csv", ["arm", "seed", *mm.TASK_NAMES, "mean"], rows).name]
        files.append(plot.arm_bars(rows, ARMS, list(mm.TASK_NAMES), out_dir / "retrieval.png",
                                   ylabel="top-1 retrieval accuracy (%)",
                                   title="VLM2Vec on the digits MMEB (mean over seeds)").name)
        return files
