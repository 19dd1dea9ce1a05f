"""CLEX (#51): continuous RoPE scaling by a neural ODE vs PI and NTK, char LM beyond the training length.

The paper's protocol at toy scale: a small char LM is pretrained on WordNet
glosses at length ``L`` with plain RoPE; then two copies continue training at
length ``L`` for the same number of steps, one unchanged (RoPE) and one with
CLEX (a factor ``t`` drawn per step, positions spread over ``[0, tL)``, the ODE
learned). Both are evaluated at ``L, 2L, 4L`` (bits per char over the whole
window): the RoPE model as is, and with Position Interpolation and NTK-aware
scaling applied at inference with factor = length ratio; CLEX with ``t`` =
length ratio (and, as a diagnostic, unscaled at ``t = 1``).
``finetune_steps=0`` trains both models from scratch instead.

Gates: the RoPE model learned at ``L`` (below 3 bits/char; letter frequencies alone
give about 4.1), and plain RoPE degrades beyond ``L`` (its loss at the longest
length exceeds its loss at ``L`` by more than 0.1 bit/char: there is a loss for
length extrapolation to recover). Claims at the longest length: CLEX below PI and
below NTK by more than 0.05 bit/char each; at ``L``: CLEX within 0.05 bit/char of
RoPE ("without loss"). One seed: the differences of the previous quick runs
(seeds 0 and 1) were ten times the 0.05 margin, and consistent across seeds.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mantissa.catalogue.protocol import Check, Experiment, Result, register
from mantissa.experiments import card_config
from mantissa.models import Transformer, TransformerConfig
from mantissa.nn import POSITIONAL
from mantissa.nn.rope_scaling import rope_to_clex
from mantissa.probe.length_extrapolation import plot_bits_by_position, plot_bits_vs_length, position_bits
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, split_windows
from mantissa.train.char_lm import fit_char_lm

#: evaluated methods: the RoPE model with three inference-time encodings, the CLEX model at t = ratio
#: and (diagnostic) at t = 1
METHODS = ("rope", "pi", "ntk", "clex", "clex_t1")
ROPE_AT_INFERENCE = {"rope": "rope", "pi": "rope-pi:factor={r}", "ntk": "rope-ntk:factor={r}"}


Config = card_config(__name__)  # the card's [config]: clex.toml


@register
class CLEXExperiment(Experiment):
    id = "clex"

    @staticmethod
    def _model(cfg: Config, tok: CharTokenizer, pe: str) -> Transformer:
        shape = {"n_layer": cfg.n_layer, "n_head": cfg.n_head, "d_model": cfg.d_model}
        return Transformer(TransformerConfig(vocab_size=tok.vocab_size, max_len=cfg.seq_len, pe=pe, **shape))

    @staticmethod
    def _fit(model: Transformer, cfg: Config, train: torch.Tensor, steps: int, lr: float, seed: int,
             desc: str) -> Transformer:
        fit_char_lm(model, train, steps=steps, batch_size=cfg.batch_size, lr=lr, seed=seed,
                    desc=f"clex: {desc}")
        return model.eval()

    def _models(self, cfg: Config, tok: CharTokenizer, train: torch.Tensor,
                seed: int) -> tuple[Transformer, Transformer]:
        """The RoPE model and the CLEX model. With ``finetune_steps`` (the paper's protocol: CLEX
        fine-tunes a pretrained RoPE LLM) both continue from one RoPE model for the same steps."""
        clex_pe = f"clex:max_factor={cfg.max_factor},time_dt={cfg.time_dt}"
        torch.manual_seed(seed)
        rope = self._fit(self._model(cfg, tok, "rope"), cfg, train, cfg.steps, cfg.lr, seed, "rope")
        torch.manual_seed(seed)
        clex = self._model(cfg, tok, clex_pe)
        if not cfg.finetune_steps:
            return rope, self._fit(clex, cfg, train, cfg.steps, cfg.lr, seed, "clex")
        rope_to_clex(clex, rope)
        rope = self._fit(rope.train(), cfg, train, cfg.finetune_steps, cfg.finetune_lr, seed + 1, "rope (ft)")
        clex = self._fit(clex, cfg, train, cfg.finetune_steps, cfg.finetune_lr, seed + 1, "clex (ft)")
        return rope, clex

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        tok = CharTokenizer()
        ids = char_corpus(tok, "wordnet", cfg.n_chars)
        n_train = max((cfg.steps + cfg.finetune_steps) * cfg.batch_size // 4, cfg.batch_size)
        train, val = split_windows(ids, n_train, cfg.n_val, cfg.seq_len, seed,
                                   val_length=cfg.seq_len * max(cfg.ratios))
        rope, clex = self._models(cfg, tok, train, seed)
        curves: dict[str, dict[int, torch.Tensor]] = {m: {} for m in METHODS}
        for r in cfg.ratios:
            windows = val[:, : r * cfg.seq_len + 1]
            for method, spec in ROPE_AT_INFERENCE.items():
                rope.pe = POSITIONAL.build(spec.format(r=r), d_model=cfg.d_model, n_head=cfg.n_head)
                curves[method][r] = position_bits(rope, windows)
            for method, t in (("clex", r), ("clex_t1", 1)):
                clex.pe.t = float(t)
                curves[method][r] = position_bits(clex, windows)
        metrics = {f"{m}_bits_{r}L": float(c[r].mean()) for m, c in curves.items() for r in cfg.ratios}
        top = max(cfg.ratios)
        metrics["clex_gap_at_L_bits"] = metrics["clex_bits_1L"] - metrics["rope_bits_1L"]
        metrics["clex_minus_pi_at_max_bits"] = metrics[f"clex_bits_{top}L"] - metrics[f"pi_bits_{top}L"]
        metrics["clex_minus_ntk_at_max_bits"] = metrics[f"clex_bits_{top}L"] - metrics[f"ntk_bits_{top}L"]
        metrics["rope_degradation_at_max_bits"] = metrics[f"rope_bits_{top}L"] - metrics["rope_bits_1L"]
        metrics["max_ratio"] = float(top)
        table = (["eval_length", "ratio", *[f"{m}_bits_per_char" for m in METHODS]],
                 [[r * cfg.seq_len, r, *[f"{metrics[f'{m}_bits_{r}L']:.4f}" for m in METHODS]]
                  for r in cfg.ratios])
        by_length = plot_bits_vs_length([r * cfg.seq_len for r in cfg.ratios],
                                        {m: [metrics[f"{m}_bits_{r}L"] for r in cfg.ratios] for m in METHODS},
                                        cfg.seq_len, dashed=("clex_t1",),
                                        title="char LM beyond the training length: RoPE, PI, NTK, CLEX")
        by_position = plot_bits_by_position({m: curves[m][top] for m in METHODS}, cfg.seq_len,
                                            dashed=("clex_t1",), title=f"loss by position at {top}L")
        return Result(metrics, tables={"bits_vs_length.csv": table},
                      figures={"bits_vs_length.png": by_length, "bits_by_position.png": by_position})

    def checks(self, m) -> list[Check]:
        paper = "lower PPL than PI / NTK at 4×–8× the training length (LLaMA-2-7B trained at 4k)"
        return [
            self.check("RoPE char LM learned (bits/char at the training length L)", m, "rope_bits_1L", "<",
                       "max_rope_bits_at_L", kind="gate"),
            self.check("plain RoPE degrades beyond L (bits/char at the longest length minus at L)", m,
                       "rope_degradation_at_max_bits", ">", "min_rope_degradation_bits", kind="gate"),
            self.check("CLEX minus PI, bits/char at the longest length (4L at quick)", m,
                       "clex_minus_pi_at_max_bits", "<", -self.thresholds["margin_bits"], paper_value=paper),
            self.check("CLEX minus NTK, bits/char at the longest length (4L at quick)", m,
                       "clex_minus_ntk_at_max_bits", "<", -self.thresholds["margin_bits"], paper_value=paper),
            self.check("CLEX minus plain RoPE, bits/char at the training length L", m,
                       "clex_gap_at_L_bits", "<", "margin_bits",
                       paper_value="no loss within the training length"),
        ]
