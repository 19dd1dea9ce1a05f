"""Open Eyes, Then Reason (catalogue row #28): an encoder pretrained to ground geometric primitives,
read through a feature router, answers diagram questions better than a contrastive one of equal size.

Wiring: synthetic diagrams (:mod:`mantissa.tasks.geometry`); two pretraining objectives on one
TinyViT shape, same init, steps, batch and diagrams (:mod:`mantissa.train.geometry_pretrain`:
grounding maps vs diagram-caption InfoNCE); frozen encoders, a question head
(:class:`~mantissa.nn.feature_router.QuestionHead`) trained on the same question diagrams. Arms:
grounding + router, contrastive + router (baseline), grounding with last-layer features only.

Gates: the grounding encoder reaches its objective (macro-F1 of the grounding maps on held-out
diagrams) and the contrastive one reaches its own (top-1 caption among every possible caption),
worst seed. Claims: grounding + router minus contrastive + router, mean accuracy over the three
question types, seed-paired mean - 2 SE above a margin; the router beats last-layer features.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from mantissa import plot, runtime
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.models.tiny_vit import TinyViTConfig
from mantissa.nn.feature_router import QuestionHead
from mantissa.stats import seed_metrics
from mantissa.tasks import geometry as geo
from mantissa.train import geometry_pretrain as gp

ARMS = ("grounding+router", "contrastive+router", "grounding last layer")


Config = card_config(__name__)  # the card's [config]: open_eyes.toml


@register
class OpenEyes(Experiment):
    id = "open-eyes"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        vcfg = TinyViTConfig(image_size=cfg.size, patch=cfg.patch, d_model=cfg.d_model, n_head=cfg.n_head,
                             n_layer=cfg.n_layer, d_ff=2 * cfg.d_model)
        (all_ids, all_tok), rows, m = gp.caption_table(), [], {"grounding_f1": [], "caption_top1": []}
        fit = functools.partial(gp.fit, batch_size=cfg.batch_size, lr=cfg.lr)
        with runtime.threads(1):
            for s in range(seed, seed + cfg.seeds):
                tr, held = gp.pretraining_data(cfg.pretrain_diagrams, cfg.held_out, s, cfg.size, cfg.patch)
                ground = gp.GroundingModel(vcfg, len(geo.GROUNDING_CHANNELS))  # same init: one seed each
                contrast = gp.CaptionContrastiveModel(vcfg, len(geo.CAPTION_WORDS), geo.CAPTION_LEN)
                contrast.vit.load_state_dict(ground.vit.state_dict())
                fit(ground, gp.grounding_loss, tr, cfg.pretrain_steps, s, "pretrain: grounding")
                fit(contrast, gp.caption_loss, tr, cfg.pretrain_steps, s, "pretrain: caption contrastive")
                f1 = gp.grounding_f1(ground, held["images"], held["targets"])
                m["grounding_f1"].append(float(f1.mean()))
                m["caption_top1"].append(gp.caption_top1(contrast, held["images"], held["caption_ids"],
                                                         all_ids, all_tok))
                qa = gp.question_data(cfg.qa_train + cfg.qa_test, s + 7919, cfg.size)
                n = cfg.qa_train
                for arm, model, levels in ((ARMS[0], ground, "router"), (ARMS[1], contrast, "router"),
                                           (ARMS[2], ground, "last")):
                    feats = gp.encoder_features(model.vit, qa["images"])
                    torch.manual_seed(s)
                    head = QuestionHead(cfg.n_layer, cfg.d_model, len(geo.QUESTIONS), len(geo.ANSWERS),
                                        vcfg.n_tokens, levels=levels, n_head=cfg.n_head)
                    fit(head, gp.qa_loss, {"feats": feats[:n], "questions": qa["questions"][:n],
                                           "answers": qa["answers"][:n]}, cfg.head_steps, s, f"head: {arm}")
                    acc = gp.qa_accuracy(head, feats[n:], qa["questions"][n:], qa["answers"][n:],
                                         len(geo.QUESTIONS))
                    rows.append([arm, s, *(round(a, 2) for a in acc), round(float(np.mean(acc)), 2)])
        return Result(self._metrics(rows, m), self._files(rows, out_dir))

    @staticmethod
    def _metrics(rows: list, pre: dict) -> dict[str, float]:
        out = {f"{k}_{f.__name__}": float(f(v)) for k, v in pre.items() for f in (min, np.mean)}
        by = {arm: [r for r in rows if r[0] == arm] for arm in ARMS}
        for arm, rs in by.items():
            key = arm.replace("+", "_").replace(" ", "_")
            for q in range(len(geo.QUESTIONS)):
                out[f"acc_{key}_q{q}"] = float(np.mean([r[2 + q] for r in rs]))
            out[f"acc_{key}_mean"] = float(np.mean([r[-1] for r in rs]))
        for name, other in (("gain_grounding_over_contrastive", ARMS[1]), ("gain_router_over_last", ARMS[2])):
            out.update(seed_metrics(name, [a[-1] - b[-1] for a, b in zip(by[ARMS[0]], by[other])]))
        return out

    @staticmethod
    def _files(rows: list, out_dir: Path) -> list[str]:
        files = [write_csv(out_dir / "questions.csv", ["arm", "seed", *geo.QUESTIONS, "mean"], rows).name]
        files.append(plot.arm_bars(rows, ARMS, ["# circles", "point in triangle", "lines parallel"],
                                   out_dir / "questions.png", ylabel="answer accuracy (%)",
                                   title="Open Eyes: diagram questions (mean over seeds)").name)
        return files
