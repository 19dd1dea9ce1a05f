"""IMAGINATOR (catalogue row #19): joint image+text embeddings from word-level grounding.

Wiring: scenes of 2-4 scikit-learn digits on a 3x3 grid with captions naming them
(:mod:`mantissa.tasks.digit_scenes`; train and test scenes use disjoint digit
images; digits co-occur by themes); the objects are the scenes' boxes, clustered
into visual words by k-means; :class:`mantissa.embed.imaginator.Imaginator`
builds the joint embedding (JE) from object-object co-location, word-object
co-location and word-object correlation. Text→image retrieval on the test
scenes: a query caption hits when its best-scoring scene has the same digits.

All three arms share the detector, the visual words and the bridge between the
modalities (ridge regression fitted on the training pairs); they differ only in
the embedding space: *JE* — scenes' bags of visual words mapped to their
captions' JE (block weights chosen on validation scenes cut from the training
scenes); *text-only* — PPMI-SVD word vectors of the training captions, scenes
mapped the same way; *image-only* — the bag of visual words itself, captions
mapped into it from their bag of words. The JE's own bridge-free image embedding
(objects' JE mixture) is reported as ``je_native``. Three seeds (digit split,
scenes, k-means); claims judged on the seed-paired mean − 2·SE of JE minus
baseline. Gates: the visual words are objects (purity against the hidden digit
classes) and both baselines retrieve above chance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mantissa import plot
from mantissa.data import load_sklearn
from mantissa.embed import imaginator as ima
from mantissa.experiments import Experiment, Result, card_config, mean_se, register, seed_metrics
from mantissa.io import write_csv
from mantissa.tasks.digit_scenes import crops, make_scenes

Config = card_config(__name__)  # the card's [config]: imaginator.toml


def _purity(ids: np.ndarray, classes: np.ndarray) -> float:
    return float(sum(np.bincount(classes[ids == k]).max() for k in np.unique(ids)) / len(ids))


@register
class IMAGINATOR(Experiment):
    id = "imaginator"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows = [self._one(cfg, seed + i) for i in range(cfg.seeds)]
        col = {k: [r[k] for r in rows] for k in rows[0]}
        metrics = {f"{k}_mean": mean_se(v)[0] for k, v in col.items()}
        metrics.update(seed_metrics("gain_vs_image", [r["je"] - r["image_only"] for r in rows]))
        metrics.update(seed_metrics("gain_vs_text", [r["je"] - r["text_only"] for r in rows]))
        metrics["min_purity"] = min(col["purity"])
        metrics["min_baseline_over_chance"] = min(min(r["image_only"], r["text_only"]) - r["chance"]
                                                  for r in rows)
        files = [write_csv(out_dir / "retrieval.csv", ["seed", *rows[0]],
                           [[seed + i, *(round(v, 4) for v in r.values())] for i, r in enumerate(rows)]).name]
        fig, ax = plot.figure()
        arms = ["image_only", "text_only", *(f"only_{b}" for b in ima.BLOCKS), "je_native", "je"]
        ax.bar(arms, [metrics[f"{a}_mean"] for a in arms])
        ax.axhline(metrics["chance_mean"], color="gray", ls="--", label="chance")
        ax.set_ylabel("text→image hit@1 (%)")
        ax.set_title("IMAGINATOR on digit scenes (mean over seeds)")
        ax.tick_params(axis="x", rotation=30)
        ax.legend()
        files.append(plot.save(fig, out_dir / "retrieval.png").name)
        return Result(metrics, files)

    def _one(self, cfg: Config, seed: int) -> dict[str, float]:
        tr, te = load_sklearn("digits").split(cfg.test_fraction, seed=seed)
        kw = {"themes": cfg.themes, "theme_prob": cfg.theme_prob}
        train = make_scenes(tr.X, tr.y, cfg.n_train + cfg.n_val, seed, **kw)
        test = make_scenes(te.X, te.y, cfg.n_test, seed + 10_000, **kw)
        f, owner, cls = crops(train)
        fit = owner < cfg.n_train
        fit_words, val_words = train.words[: cfg.n_train], train.words[cfg.n_train:]
        model = ima.Imaginator(ima.ImaginatorConfig(n_objects=cfg.n_objects, dim=cfg.dim)).fit(
            f[fit], owner[fit], fit_words, seed=seed)
        out = {"purity": _purity(model.stats["object_ids"], cls[fit].numpy())}
        ft, ot, _ = crops(test)
        keys, n = test.content_keys(), cfg.n_test
        b_fit, b_test = model.visual_words(f[fit], owner[fit], cfg.n_train), model.visual_words(ft, ot, n)
        b_val = model.visual_words(f[~fit], owner[~fit] - cfg.n_train, cfg.n_val)
        for b in range(len(ima.BLOCKS)):  # each block alone (ablation, reported only)
            model.cfg.weights = tuple(float(i == b) for i in range(len(ima.BLOCKS)))
            out[f"only_{ima.BLOCKS[b]}"] = ima.hit_at_1(
                ima.joint_scores(model, fit_words, b_fit, test.words, b_test), keys)
        weights, out["je_val"] = ima.select_weights(
            model, lambda m: ima.joint_scores(m, fit_words, b_fit, val_words, b_val),
            train.content_keys()[cfg.n_train:])
        out.update({f"weight_{b}": w for b, w in zip(ima.BLOCKS, weights)})
        scores = {"je": ima.joint_scores(model, fit_words, b_fit, test.words, b_test),
                  "je_native": model.embed_text(test.words) @ model.embed_images(ft, ot, n).T,
                  "image_only": ima.image_only_scores(fit_words, b_fit, test.words, b_test),
                  "text_only": ima.text_only_scores(fit_words, b_fit, test.words, b_test, cfg.dim)}
        out.update({k: ima.hit_at_1(v, keys) for k, v in scores.items()})
        out["chance"] = ima.chance_at_1(keys)
        return out
