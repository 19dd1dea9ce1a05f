"""I-ViT (paper #11): a Vision Transformer runs its whole inference on integers —
int8 matmuls, dyadic rescaling, Shiftmax, ShiftGELU and I-LayerNorm — at the
accuracy of its float model.

Wires :class:`mantissa.models.tiny_vit.TinyViT` (trained in float32 on
scikit-learn digits with the generic Trainer) into
:class:`mantissa.models.i_vit.IntViT` (post-training, static calibration on 512
training images; the paper fine-tunes with quantization in the loop, we do
not). The integer forward runs under :func:`mantissa.arith.integer_only`,
which raises on any floating-point tensor: a completed run is the proof. The
paper's GPU speed-up (TVM integer kernels) is not measured here.

MiniLM section (``e2e_texts > 0``): the packaged all-MiniLM-L6-v2 with the
``int-only`` recipe (:mod:`mantissa.quant.int_only`: the whole BERT encoder on
integers, calibrated on WordNet verb glosses), its encoder's integer forward
run on real text under :func:`integer_only`, and its sentence-embedding
fidelity to the float model on WordNet definitions.

Gate: the float TinyViT learned digits (≥ 90 %). Claims: the integer-only forward
is within 1 point of float accuracy, judged on the seed-paired difference
(integer − float, mean − 2·SE over ``seeds`` seeds, above −1 point); its logits
have cosine above 0.99 with the float logits; MiniLM's integer-only (int8)
sentence embeddings have cosine above 0.99 with the float ones. That the forward
is all-integer is not a check: :func:`integer_only` raises otherwise (unit-tested).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from mantissa import plot
from mantissa.arith.integer_guard import integer_only
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import write_csv
from mantissa.models.i_vit import IntViT, IntViTConfig
from mantissa.quant.compare import end_to_end_metrics, minilm_end_to_end, write_end_to_end
from mantissa.runtime import threads
from mantissa.train.digits import accuracy, digits_split, train_digits_vit

Config = card_config(__name__)  # the card's [config]: i_vit.toml


def _minilm_integer_ops(n_texts: int = 8) -> int:
    """Quantize MiniLM with ``int-only`` and run its encoder's integer forward on real text
    under :func:`integer_only` (raises on any float tensor); returns the ops it saw."""
    from mantissa.data import load_minilm
    from mantissa.quant import quantize
    from mantissa.quant.evaluate import calibration_corpus, evaluation_corpus

    texts = evaluation_corpus(n_texts, seed=5)
    mini = quantize(load_minilm(), "int-only", calibration_corpus(16, set(texts)))
    batch = mini.tokenize(texts)
    enc = mini.model.encoder
    with torch.no_grad():
        hidden = mini.model.embeddings(input_ids=batch["input_ids"])
    x = torch.round(hidden / enc.s_in).to(torch.int64)
    keep = batch["attention_mask"].bool()[:, None, None, :]
    with threads(1), integer_only() as guard:
        enc.forward_int(x, keep)
    return guard.ops


def _int_eval(model, data, cfg: Config, res_bits: int) -> dict[str, float]:
    (xtr, _), (xte, yte) = data
    iv = IntViT(model, xtr[:cfg.calib] / 16.0, 1 / 16.0, IntViTConfig(res_bits=res_bits))
    pixels = xte.round().to(torch.int64)  # digits pixels are the integers 0..16
    with threads(1), integer_only() as guard:
        logits = iv(pixels)
    with torch.no_grad(), threads(1):
        ref = model(xte / 16.0)
    cos = F.cosine_similarity(logits.double() * iv.logit_scale, ref.double(), dim=-1)
    return {"acc": float((logits.argmax(-1) == yte).float().mean()) * 100,
            "cosine": float(cos.mean()), "ops": guard.ops,
            "agree": float((logits.argmax(-1) == ref.argmax(-1)).float().mean()) * 100}


@register
class IViT(Experiment):
    id = "i-vit"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        rows = []
        for s in range(seed, seed + cfg.seeds):
            data = digits_split(s, cfg.test_fraction)
            if cfg.test_limit:
                data = (data[0], (data[1][0][:cfg.test_limit], data[1][1][:cfg.test_limit]))
            model = train_digits_vit(data, s, steps=cfg.steps, d_model=cfg.d_model, n_layer=cfg.n_layer,
                                     desc=f"vit s{s}")
            fp = accuracy(model, *data[1])
            wide = _int_eval(model, data, cfg, cfg.res_bits)
            narrow = _int_eval(model, data, cfg, 8)
            rows.append([s, fp, wide["acc"], narrow["acc"], wide["cosine"], narrow["cosine"],
                         wide["agree"], wide["ops"]])
        n = len(rows)
        mean = [sum(r[i] for r in rows) / n for i in range(len(rows[0]))]
        metrics = {"acc_fp32": mean[1], "acc_int": mean[2], "acc_int_res8": mean[3],
                   "acc_drop": mean[1] - mean[2], "acc_drop_res8": mean[1] - mean[3],
                   "logit_cosine": mean[4], "logit_cosine_res8": mean[5],
                   "prediction_agreement": mean[6], "integer_ops_per_forward": mean[7],
                   "float_ops_in_integer_forward": 0.0}  # integer_only() raises otherwise
        metrics.update(seed_metrics("int_minus_fp", [r[2] - r[1] for r in rows]))
        header = ["seed", "acc_fp32", f"acc_int_res{cfg.res_bits}", "acc_int_res8", "cosine",
                  "cosine_res8", "agreement", "integer_ops"]
        arts = [write_csv(out_dir / "accuracy.csv", header, rows), self._plot(rows, cfg, out_dir)]
        if cfg.e2e_texts:
            recipes = {"int_only_a8": "int-only",
                       f"int_only_a{cfg.e2e_wide_bits}":
                           f"int-only:act_bits={cfg.e2e_wide_bits},res_bits={max(16, cfg.e2e_wide_bits + 8)}"}
            e2e = minilm_end_to_end(recipes, cfg.e2e_texts, cfg.e2e_pairs, seed, desc="MiniLM int-only")
            metrics.update(end_to_end_metrics(e2e))
            metrics["e2e_integer_ops"] = float(_minilm_integer_ops())
            arts += write_end_to_end(e2e, out_dir, "MiniLM: integer-only encoder vs float")
        return Result(metrics, arts)

    def _plot(self, rows, cfg: Config, out_dir: Path) -> str:
        fig, ax = plot.figure()
        labels = ["FP32", f"integer-only\n(int8, residual int{cfg.res_bits})", "integer-only\n(all int8)"]
        for i in range(3):
            vals = [r[i + 1] for r in rows]
            ax.bar(i, sum(vals) / len(vals), alpha=0.4)
            ax.scatter([i] * len(vals), vals, color="k", s=12)
        ax.set_xticks(range(3), labels)
        lo = min(min(r[1:4]) for r in rows)
        ax.set_ylim(max(0, lo - 5), 100)
        ax.set_ylabel("digits test accuracy (%)")
        ax.set_title("TinyViT: float vs integer-only inference")
        plot.save(fig, out_dir / "accuracy.png")
        return "accuracy.png"

    def checks(self, metrics):
        paper = "INT8 integer-only ≈ FP accuracy (DeiT/Swin, ImageNet)"
        return [
            self.check("float TinyViT learned digits (test accuracy, %, mean over seeds)", metrics,
                       "acc_fp32", ">=", "min_fp32_acc", kind="gate"),
            self.check("integer-only minus float test accuracy, seed-paired mean − 2·SE (points)", metrics,
                       "int_minus_fp_lcb", ">", "min_acc_diff", paper_value=paper),
            self.check("cosine of integer-only logits with float logits (mean over seeds)", metrics,
                       "logit_cosine", ">", "min_cosine"),
            self.check("MiniLM integer-only (int8) sentence-embedding cosine with float", metrics,
                       "e2e_int_only_a8_cosine", ">", "min_e2e_cosine"),
        ]
