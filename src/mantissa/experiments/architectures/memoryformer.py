"""MemoryFormer (#14): hashed lookup-table layers vs dense linears on a character LM, loss and FLOPs.

Arms, all the same GPT-2-shaped char LM on WordNet glosses with the same data order:
``dense`` (GELU FFN), ``memory-ffn`` (the FFN as two Memory Layers, ``ffn="memory:tau=8"``, one
run per temperature ``t`` of Eq. 7; ``t`` chosen on a dev split, the verdict on a separate test
split) and ``memory-all`` (also the attention projections ``qkv``/``proj`` as Memory Layers, the
paper's model, at the chosen ``t``). FLOPs are counted in closed form per token
(:func:`mantissa.nn.memory_layer.linear_flops`), attention scores at the mean causal length.

Gate: the dense LM learned (test loss below 2.2 nats/char; letter frequencies alone give
about 2.9). Claims (the catalogue's "within 10 % of dense loss"): the relative test-loss gap
of the Memory-FFN model and of the all-Memory-Layer model below 10 %. The FLOP ratios are
reported; they follow from the shapes in closed form (unit-tested), so they are not checks.
One seed: the gaps of the previous quick run (−1.7 % and +30 %) are far from the 10 % bar.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from torch import nn

from mantissa import plot
from mantissa.catalogue.protocol import Check, Experiment, Result, register
from mantissa.errors import ConfigError
from mantissa.experiments import card_config
from mantissa.nn import Transformer, TransformerConfig
from mantissa.nn.memory_layer import linear_flops, swap_linears
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, lm_windows
from mantissa.train import TensorBatches, TrainConfig, Trainer, lm_loss

Config = card_config(__name__)  # the card's [config]: memoryformer.toml


def _model(cfg: Config, vocab: int, arm: str, temperature: float = 1.0) -> Transformer:
    ffn = "gelu" if arm == "dense" else f"memory:tau={cfg.tau},temperature={temperature}"
    model = Transformer(TransformerConfig(vocab_size=vocab, n_layer=cfg.n_layer, n_head=cfg.n_head,
                                          d_model=cfg.d_model, max_len=cfg.seq_len + 1, pe="rope", ffn=ffn))
    if arm == "memory-all":
        swap_linears(model, "*.attn.*", tau=cfg.tau, temperature=temperature)
    return model


def flop_breakdown(model: Transformer, seq_len: int) -> dict[str, float]:
    """Per-token forward FLOPs by part: FFNs, attention projections, attention
    scores/mixing (causal, averaged over positions) and the LM head."""
    cfg = model.cfg
    ffn = sum(linear_flops(b.ffn) for b in model.blocks)
    proj = sum(linear_flops(b.attn) for b in model.blocks)
    mean_keys = (seq_len + 1) / 2
    scores = cfg.n_layer * 2 * 2 * cfg.d_model * mean_keys  # q·k and p·v, multiply-adds
    head = linear_flops(nn.Linear(cfg.d_model, cfg.vocab_size, bias=False))
    return {"ffn": ffn, "attn_proj": proj, "attn_scores": scores, "head": head}


@register
class MemoryFormer(Experiment):
    id = "memoryformer"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        if not cfg.temperatures:
            raise ConfigError("memoryformer needs at least one temperature in temperatures")
        tok = CharTokenizer()
        ids = char_corpus(tok, "wordnet", cfg.n_chars)
        split, half = int(len(ids) * 0.9), int(len(ids) * 0.95)
        n_train = max(cfg.steps * cfg.batch_size // 4, cfg.batch_size)
        train = lm_windows(ids[:split], n_train, cfg.seq_len, seed)
        dev = lm_windows(ids[split:half], cfg.n_val, cfg.seq_len, seed + 1)
        test = lm_windows(ids[half:], cfg.n_val, cfg.seq_len, seed + 2)
        metrics: dict[str, float] = {}
        curves: dict[str, list[tuple[int, float]]] = {}
        flops: dict[str, dict[str, float]] = {}
        dense = self._train(cfg, seed, tok.vocab_size, "dense", 1.0, train)
        curves["dense"], flops["dense"] = dense[2], flop_breakdown(dense[0], cfg.seq_len)
        self._record(metrics, "dense", dense[0], dev, test)
        best: tuple[float, float, Transformer, list[tuple[int, float]]] | None = None
        for t in cfg.temperatures:  # Eq. 7's temperature, chosen on dev loss; the verdict uses test
            model, _, curve = self._train(cfg, seed, tok.vocab_size, "memory-ffn", t, train)
            dev_loss = self._record(metrics, f"memory_ffn_t{t:g}", model, dev, test)
            curves[f"memory-ffn t={t:g}"] = curve
            if best is None or dev_loss < best[0]:
                best = (dev_loss, t, model, curve)
        assert best is not None
        _, t_best, model, _ = best
        metrics["memory_ffn_temperature"] = t_best
        self._record(metrics, "memory_ffn", model, dev, test)
        flops["memory-ffn"] = flop_breakdown(model, cfg.seq_len)
        if cfg.all_linears:
            model, _, curve = self._train(cfg, seed, tok.vocab_size, "memory-all", t_best, train)
            curves[f"memory-all t={t_best:g}"] = curve
            self._record(metrics, "memory_all", model, dev, test)
            flops["memory-all"] = flop_breakdown(model, cfg.seq_len)
        for arm, f in flops.items():
            key = arm.replace("-", "_")
            metrics[f"{key}_flops_per_token"] = sum(f.values())
            if arm != "dense":
                metrics[f"{key}_rel_loss_gap"] = metrics[f"{key}_test_loss"] / metrics["dense_test_loss"] - 1
                metrics[f"{key}_total_flop_ratio"] = (metrics[f"{key}_flops_per_token"]
                                                      / metrics["dense_flops_per_token"])
        metrics["ffn_flop_ratio"] = flops["memory-ffn"]["ffn"] / flops["dense"]["ffn"]
        self._artifacts(curves, flops, out_dir)
        return Result(metrics, ["loss_curves.png", "flops.png", "flops.csv", "loss_curves.csv"])

    @staticmethod
    def _train(cfg: Config, seed: int, vocab: int, arm: str, temperature: float,
               train: torch.Tensor) -> tuple[Transformer, Trainer, list[tuple[int, float]]]:
        torch.manual_seed(seed)
        model = _model(cfg, vocab, arm, temperature)
        batches = TensorBatches(lm_batch(train),
                                cfg.batch_size, seed=seed)
        trainer = Trainer(model, TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=20,
                                             seed=seed, log_every=max(1, cfg.steps // 30)),
                          batches, progress_desc=f"memoryformer: {arm} t={temperature:g}")
        trainer.fit()
        curve = [(int(r["step"]), float(r["loss"])) for r in trainer.history if "loss" in r]
        return model.eval(), trainer, curve

    @staticmethod
    def _record(metrics: dict[str, float], key: str, model: Transformer, dev: torch.Tensor,
                test: torch.Tensor) -> float:
        """Dev and test loss/accuracy and parameter count under ``key``; returns the dev loss."""
        with torch.no_grad():
            for name, data in (("dev", dev), ("test", test)):
                loss, logs = lm_loss(model, lm_batch(data))
                metrics[f"{key}_{name}_loss"] = float(loss)
                metrics[f"{key}_{name}_acc"] = 100 * logs["tok_acc"]
        metrics[f"{key}_params"] = float(model.num_params())
        return metrics[f"{key}_dev_loss"]

    @staticmethod
    def _artifacts(curves: dict[str, list[tuple[int, float]]], flops: dict[str, dict[str, float]],
                   out_dir: Path) -> None:
        with open(out_dir / "loss_curves.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["arm", "step", "train_loss"])
            for arm, pts in curves.items():
                w.writerows([arm, s, f"{v:.5f}"] for s, v in pts)
        parts = list(next(iter(flops.values())))
        with open(out_dir / "flops.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["arm", *parts, "total"])
            for arm, f in flops.items():
                w.writerow([arm, *[int(f[p]) for p in parts], int(sum(f.values()))])
        fig, ax = plot.figure()
        for arm, pts in curves.items():
            ax.plot([s for s, _ in pts], [v for _, v in pts], label=arm)
        ax.set_xlabel("step")
        ax.set_ylabel("train loss (nats/char)")
        ax.set_title("char-LM training loss: dense vs Memory-Layer FFN")
        ax.legend()
        plot.save(fig, out_dir / "loss_curves.png")
        fig, ax = plot.figure()
        bottom = [0.0] * len(flops)
        for p in parts:
            vals = [f[p] for f in flops.values()]
            ax.bar(list(flops), vals, bottom=bottom, label=p)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel("forward FLOPs per token")
        ax.set_title("FLOPs by part (attention scores at the mean causal length)")
        ax.legend()
        plot.save(fig, out_dir / "flops.png")

    def checks(self, m) -> list[Check]:
        paper = "comparable or better zero-shot accuracy than Pythia (70M–410M) at a fraction of the FLOPs"
        return [
            self.check("dense char LM learned (test loss, nats/char)", m, "dense_test_loss", "<",
                       "max_dense_loss", kind="gate"),
            self.check("test loss of the Memory-FFN model vs dense, relative gap", m,
                       "memory_ffn_rel_loss_gap", "<", "max_rel_loss_gap"),
            # the paper's model: every projection outside attention's softmax is a Memory Layer
            self.check("test loss with FFN and attention projections as Memory Layers vs dense, relative gap",
                       m, "memory_all_rel_loss_gap", "<", "max_rel_loss_gap", paper_value=paper),
        ]
