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

from pathlib import Path

import torch

from mantissa import plot
from mantissa.catalogue.protocol import Check, Experiment, Result, register
from mantissa.errors import ConfigError
from mantissa.experiments import card_config
from mantissa.models.memoryformer import flop_breakdown, flops_table, memoryformer_lm, plot_flops
from mantissa.models.transformer import Transformer
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_windows
from mantissa.train.char_lm import evaluate_char_lm, fit_char_lm, loss_curve

Config = card_config(__name__)  # the card's [config]: memoryformer.toml


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
        curves["dense"], flops["dense"] = dense[1], flop_breakdown(dense[0], cfg.seq_len)
        self._record(metrics, "dense", dense[0], dev, test)
        best: tuple[float, float, Transformer, list[tuple[int, float]]] | None = None
        for t in cfg.temperatures:  # Eq. 7's temperature, chosen on dev loss; the verdict uses test
            model, curve = self._train(cfg, seed, tok.vocab_size, "memory-ffn", t, train)
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
            model, curve = self._train(cfg, seed, tok.vocab_size, "memory-all", t_best, train)
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
        loss_rows = [[arm, s, f"{v:.5f}"] for arm, pts in curves.items() for s, v in pts]
        fig = plot.curves(curves, xlabel="step", ylabel="train loss (nats/char)",
                          title="char-LM training loss: dense vs Memory-Layer FFN")
        return Result(metrics, tables={"flops.csv": flops_table(flops),
                                       "loss_curves.csv": (["arm", "step", "train_loss"], loss_rows)},
                      figures={"loss_curves.png": fig, "flops.png": plot_flops(flops)})

    @staticmethod
    def _train(cfg: Config, seed: int, vocab: int, arm: str, temperature: float,
               train: torch.Tensor) -> tuple[Transformer, list[tuple[int, float]]]:
        torch.manual_seed(seed)
        model = memoryformer_lm(arm, vocab_size=vocab, n_layer=cfg.n_layer, n_head=cfg.n_head,
                                d_model=cfg.d_model, max_len=cfg.seq_len + 1, tau=cfg.tau,
                                temperature=temperature)
        trainer = fit_char_lm(model, train, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed,
                              log_every=max(1, cfg.steps // 30),
                              desc=f"memoryformer: {arm} t={temperature:g}")
        return model.eval(), loss_curve(trainer)

    @staticmethod
    def _record(metrics: dict[str, float], key: str, model: Transformer, dev: torch.Tensor,
                test: torch.Tensor) -> float:
        """Dev and test loss/accuracy and parameter count under ``key``; returns the dev loss."""
        for name, data in (("dev", dev), ("test", test)):
            metrics[f"{key}_{name}_loss"], metrics[f"{key}_{name}_acc"] = evaluate_char_lm(model, data)
        metrics[f"{key}_params"] = float(model.num_params())
        return metrics[f"{key}_dev_loss"]

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
