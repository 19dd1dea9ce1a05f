"""SNIP (catalogue row #4): symbolic and numeric encoders pretrained contrastively.

Wiring: SymPy expressions in prefix notation and their values on a grid
(:mod:`mantissa.tasks.symbolic`); the dual encoder and symmetric InfoNCE
(:mod:`mantissa.embed.snip`) trained by :class:`~mantissa.train.Trainer`. On
expressions never seen in pretraining: values→expression retrieval (top-1 among
``n_gallery``; chance 1/n), and numeric→symbolic property prediction — logistic
probes (:mod:`mantissa.probe.linear_probe`) read five exact properties (even,
contains sin/cos, contains exp, polynomial, monotone) from the frozen numeric
embedding, against the same probe on the encoder before pretraining and on 18
hand-made value statistics (moments, quantiles, upwardness, oscillation, ...);
score: mean balanced accuracy. Three pretraining seeds (init, batch order; shared
data); claims on the seed-paired mean − 2·SE. Gates: pretraining learned its
objective; every property occurs in the probe data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mantissa import plot, runtime
from mantissa.embed.snip import SNIP, SNIPConfig, fit_snip, point_features, retrieval_top1
from mantissa.experiments import Experiment, Result, card_config, mean_se, register, seed_metrics
from mantissa.io import write_csv
from mantissa.probe.linear_probe import probe_binary
from mantissa.tasks.symbolic import PROPERTIES, make_pairs, value_statistics

Config = card_config(__name__)  # the card's [config]: snip.toml


@register
class SNIPExperiment(Experiment):
    id = "snip"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        train = make_pairs(cfg.n_train, seed, points=cfg.points)
        held = make_pairs(cfg.n_probe, seed + 1, points=cfg.points, exclude={str(e) for e in train.exprs})
        a, b = slice(0, cfg.n_probe - cfg.n_probe_test), slice(cfg.n_probe - cfg.n_probe_test, cfg.n_probe)
        stats = value_statistics(held.y)  # hand-made features: one deterministic baseline for all seeds
        per_prop = {"statistics": probe_binary(stats[a], held.props[a], stats[b], held.props[b])}
        both = (("train", train), ("held", held))
        toks = {k: torch.from_numpy(p.tokens) for k, p in both}
        pts = {k: point_features(torch.from_numpy(p.x), torch.from_numpy(p.y)) for k, p in both}
        with runtime.threads(1):
            rows = [self._seed(cfg, seed + i, toks, pts, held.props, per_prop, i) for i in range(cfg.seeds)]
        chance = 100.0 / cfg.n_gallery
        metrics = {f"{k}_mean": mean_se([r[k] for r in rows])[0] for k in rows[0]}
        metrics.update(seed_metrics("retrieval_gain", [r["trained_top1"] - chance for r in rows]))
        stat_mean = float(per_prop["statistics"].mean())
        for name, base in (("gain_vs_untrained", [r["untrained_num_probe"] for r in rows]),
                           ("gain_vs_stats", [stat_mean] * len(rows))):
            metrics.update(seed_metrics(name, [r["trained_num_probe"] - v for r, v in zip(rows, base)]))
        rate = held.props.mean(0)
        metrics.update({"chance_top1": chance, "statistics_probe": stat_mean,
                        "min_batch_top1": min(r["batch_top1"] for r in rows),
                        "min_positive_rate": float(np.minimum(rate, 1 - rate).min())})
        return Result(metrics, self._artifacts(rows, per_prop, cfg.seeds, out_dir))

    def _seed(self, cfg: Config, seed: int, toks, pts, props, per_prop, i: int) -> dict[str, float]:
        """Pretrain one SNIP; retrieval and probes for it and for its initial weights."""
        a, b = slice(0, cfg.n_probe - cfg.n_probe_test), slice(cfg.n_probe - cfg.n_probe_test, cfg.n_probe)
        torch.manual_seed(seed)
        model = SNIP(SNIPConfig(d_model=cfg.d_model, d_embed=cfg.d_model, n_layer=cfg.n_layer))
        (untrained := SNIP(model.cfg)).load_state_dict(model.state_dict())
        hist = fit_snip(model, toks["train"], pts["train"], steps=cfg.steps, batch_size=cfg.batch_size,
                        lr=cfg.lr, temperature=cfg.temperature, seed=seed)
        row = {"batch_top1": float(np.mean([h["batch_top1"] for h in hist[-3:]]))}
        g = slice(0, cfg.n_gallery)
        for name, m in (("trained", model), ("untrained", untrained)):
            zs, zv = m.embed(toks["held"], pts["held"])
            row[f"{name}_top1"] = 100 * retrieval_top1(zv[g], zs[g])
            row[f"{name}_sym_to_num_top1"] = 100 * retrieval_top1(zs[g], zv[g])
            for enc, z in (("num", zv), ("sym", zs)):
                acc = probe_binary(z[a].numpy(), props[a], z[b].numpy(), props[b])
                per_prop[f"{name}_{enc}_seed{i}"] = acc
                row[f"{name}_{enc}_probe"] = float(acc.mean())
        return row

    def _artifacts(self, rows, per_prop, seeds, out_dir: Path) -> list[str]:
        files = [write_csv(out_dir / "seeds.csv", ["seed", *rows[0]],
                           [[i, *(round(v, 4) for v in r.values())] for i, r in enumerate(rows)]).name,
                 write_csv(out_dir / "probe_by_property.csv", ["features", *PROPERTIES],
                           [[k, *np.round(v, 2)] for k, v in per_prop.items()]).name]
        arms = {"hand-made statistics": per_prop["statistics"]}
        for key, name in (("untrained", "untrained numeric enc."), ("trained", "SNIP numeric enc.")):
            arms[name] = np.mean([per_prop[f"{key}_num_seed{i}"] for i in range(seeds)], 0)
        (fig, ax), x = plot.figure(), np.arange(len(PROPERTIES))
        for j, (name, acc) in enumerate(arms.items()):
            ax.bar(x + (j - 1) * 0.27, acc, width=0.27, label=name)
        ax.set_xticks(x, PROPERTIES), ax.set_ylim(40, 100), ax.set_ylabel("probe balanced accuracy (%)")
        ax.set_title("SNIP: symbolic properties read from the numeric embedding")
        ax.legend()
        files.append(plot.save(fig, out_dir / "property_probe.png").name)
        return files
