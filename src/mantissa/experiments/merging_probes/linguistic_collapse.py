"""Linguistic Collapse (paper #53): neural-collapse metrics of small causal LMs of
growing width and training length, and their link with generalization.

Character-level decoder transformers (:mod:`mantissa.models.transformer`, trained with
:class:`mantissa.train.Trainer`) on real text — WordNet glosses — are measured
with :mod:`mantissa.probe.collapse` (classes = next characters, features =
final-norm hidden states, classifier = the tied unembedding).

Gate: the LMs learned (the best validation loss is below the cross-entropy of the
training split's character frequencies, a unigram model). Claims: CDNV rank-correlates
with validation loss across the models (Spearman > ``min_rank_corr_cdnv_loss``), and
the widest, longest-trained model's CDNV is below ``max_cdnv_ratio`` of the smallest,
shortest-trained one's.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
import torch.nn.functional as F

from mantissa.data import load_wordnet_glosses
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import atomic_write
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.plot import figure, save
from mantissa.probe.collapse import collapse_metrics
from mantissa.tasks.charlm import lm_windows
from mantissa.tasks.tokenizer import CharTokenizer
from mantissa.train import TrainConfig, Trainer

COLUMNS = ("cdnv", "nc1", "nc2_equinorm", "gnc2", "nc3_duality", "nc4_agreement")


Config = card_config(__name__)  # the card's [config]: linguistic_collapse.toml


def corpus(tok: CharTokenizer, n: int) -> torch.Tensor:
    """Ids of the first ``n`` WordNet glosses, lower-cased, unknown characters dropped."""
    text = ". ".join(s.definition.lower() for s in load_wordnet_glosses("n")[:n])
    return torch.tensor(tok.encode("".join(c for c in text if c in tok.stoi and c != "\x00")))


@torch.no_grad()
def measure(model: Transformer, probe: torch.Tensor, val: torch.Tensor, min_count: int) -> dict[str, float]:
    model.eval()
    h = model.features(probe[:, :-1]).reshape(-1, model.cfg.d_model)
    y = probe[:, 1:].reshape(-1)
    out = collapse_metrics(h, y, weight=model.head.weight, min_count=min_count)
    logits = model(val[:, :-1])
    out["val_loss"] = float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), val[:, 1:].reshape(-1)))
    model.train()
    return out


@register
class LinguisticCollapse(Experiment):
    id = "linguistic-collapse"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows = self._train_all(cfg, seed)
        return Result(self._metrics(rows), self._artifacts(rows, out_dir))

    def _train_all(self, cfg: Config, seed: int) -> list[dict[str, float]]:
        tok = CharTokenizer()
        ids = corpus(tok, cfg.n_glosses)
        cut = int(0.9 * len(ids))
        train_ids, val_ids = ids[:cut], ids[cut:]
        probe = lm_windows(train_ids, cfg.probe_windows, cfg.context, seed + 1)
        val = lm_windows(val_ids, cfg.probe_windows, cfg.context, seed + 2)
        data = lm_windows(train_ids, 4096, cfg.context, seed)
        freq = torch.bincount(train_ids, minlength=tok.vocab_size).double() + 1.0  # add-one unigram
        logp = torch.log(freq / freq.sum())
        unigram = float(-logp[val[:, 1:].reshape(-1)].mean())
        rows = []
        for width in (int(w) for w in cfg.widths.split(",")):
            torch.manual_seed(seed)
            model = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=cfg.n_layer,
                                                  n_head=4, d_model=width, max_len=cfg.context))
            early = max(1, cfg.steps // 4)

            def snapshot(step: int, logs: dict, model=model, width=width, early=early) -> None:
                if step == early:
                    rows.append({"width": width, "steps": step, **measure(model, probe, val, cfg.min_count)})

            batches = lambda step: {"idx": data[torch.randint(0, len(data), (cfg.batch_size,),  # noqa: E731
                                                generator=torch.Generator().manual_seed(seed * 7919 + step))],
                                    "mask": torch.ones(cfg.batch_size, cfg.context + 1, dtype=torch.bool)}
            tc = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=min(50, early),
                             log_every=0, seed=seed)
            Trainer(model, tc, batches, callbacks=[snapshot], progress_desc=f"LM width {width}").fit()
            rows.append({"width": width, "steps": cfg.steps, **measure(model, probe, val, cfg.min_count)})
        for r in rows:
            r["unigram_loss"] = unigram
        return rows

    @staticmethod
    def _metrics(rows: list[dict[str, float]]) -> dict[str, float]:
        from scipy.stats import spearmanr

        m: dict[str, float] = {}
        for r in rows:
            for k in ("val_loss", *COLUMNS):
                m[f"{k}_w{int(r['width'])}_s{int(r['steps'])}"] = r[k]
        loss = [r["val_loss"] for r in rows]
        for k in ("cdnv", "gnc2", "nc2_equinorm", "nc3_duality"):
            m[f"rank_corr_{k}_val_loss"] = float(spearmanr([r[k] for r in rows], loss).statistic)
        small = min(rows, key=lambda r: (r["width"], r["steps"]))
        big = max(rows, key=lambda r: (r["width"], r["steps"]))
        m["cdnv_ratio_big_over_small"] = big["cdnv"] / small["cdnv"]
        m["unigram_val_loss"] = rows[0]["unigram_loss"]
        m["best_val_loss_over_unigram"] = min(loss) / m["unigram_val_loss"]
        return m

    @staticmethod
    def _artifacts(rows: list[dict[str, float]], out_dir: Path) -> list[str]:
        cols = ("width", "steps", "val_loss", *COLUMNS, "classifier_acc", "n_classes")
        lines = [",".join(cols)] + [",".join(f"{r[c]:.6g}" for c in cols) for r in rows]
        atomic_write(out_dir / "collapse.csv", "\n".join(lines) + "\n")
        fig, axes = figure(1, 3, figsize=(11, 3.6))
        for ax, key in zip(axes, ("cdnv", "gnc2", "nc3_duality"), strict=True):
            for steps, group in itertools.groupby(sorted(rows, key=lambda r: (r["steps"], r["width"])),
                                                  key=lambda r: r["steps"]):
                g = list(group)
                ax.plot([r["width"] for r in g], [r[key] for r in g], "o-", label=f"{int(steps)} steps")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("width (d_model)")
            ax.set_title(key)
        axes[0].set_yscale("log")
        axes[0].legend()
        save(fig, out_dir / "collapse_vs_width.png")
        fig, ax = figure()
        ax.scatter([r["cdnv"] for r in rows], [r["val_loss"] for r in rows])
        for r in rows:
            ax.annotate(f"w{int(r['width'])}/{int(r['steps'])}", (r["cdnv"], r["val_loss"]), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("NC1 (CDNV, train features)")
        ax.set_ylabel("validation loss (nats/char)")
        save(fig, out_dir / "cdnv_vs_val_loss.png")
        return ["collapse.csv", "collapse_vs_width.png", "cdnv_vs_val_loss.png"]
