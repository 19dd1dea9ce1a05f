"""NUPES (paper #29): 4-bit power-exponent quantization vs uniform int4 on MiniLM weights.

Every linear layer of the real all-MiniLM-L6-v2 is quantized to 4 bits per output
channel by (a) uniform symmetric int4 (min-max), (b) uniform int4 with an
MSE-searched clip (a stronger baseline), (c) NUPES with the exponent searched
data-free on the weight error and (d) NUPES with the exponent then learned by
gradient descent on the layer-output error over calibration activations (WordNet
glosses). Weight MSE and layer-output error are measured, the latter on held-out
glosses.

End to end (MiniLM section): the whole packaged MiniLM quantized with the
``mantissa.quant`` recipes ``nupes4`` (per-channel 4-bit power grid, exponent
searched per layer data-free — the learned exponent is not part of the recipe)
and ``w4-int:group=0`` (per-channel symmetric int4 round-to-nearest), both
weight-only, scored by :func:`mantissa.quant.evaluate` on real text (WordNet
definitions): mean cosine with the float embeddings and recall@10 of the float
model's neighbours.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mantissa import plot
from mantissa.data import load_minilm
from mantissa.data.texts import gloss_sample
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_records
from mantissa.progress import track
from mantissa.quant import parse_quantizer
from mantissa.quant.compare import end_to_end_metrics, minilm_end_to_end, write_end_to_end
from mantissa.quant.nupes import learn_exponent, output_error, power_fake_quant, search_exponent

METHODS = ("uniform", "uniform_mse", "nupes_search", "nupes_learned")
E2E = {"nupes4": "nupes4", "int4_rtn": "w4-int:group=0"}


Config = card_config(__name__)  # the card's [config]: nupes.toml


@torch.no_grad()
def linear_inputs(mini, texts: list[str], max_length: int, layers: int) -> dict[str, torch.Tensor]:
    """The input of every linear layer of the first ``layers`` encoder blocks, real tokens only."""
    mini.max_length = max_length
    store: dict[str, list[torch.Tensor]] = {}
    hooks, keep = [], {}

    def hook(name):
        return lambda mod, args, out: store.setdefault(name, []).append(args[0][keep["mask"]].float())

    for name, mod in mini.model.named_modules():
        in_range = name.startswith("encoder.layer.") and int(name.split(".")[2]) < layers
        if isinstance(mod, nn.Linear) and in_range:
            hooks.append(mod.register_forward_hook(hook(name)))
    try:
        for start in range(0, len(texts), 64):
            batch = mini.tokenize(texts[start:start + 64])
            keep["mask"] = batch["attention_mask"].bool()
            mini.model(**batch)
    finally:
        for h in hooks:
            h.remove()
    return {k: torch.cat(v) for k, v in store.items()}


def quantize_layer(w: torch.Tensor, h_cal: torch.Tensor, cfg: Config, seed: int) -> tuple[dict, float, float]:
    a_search = search_exponent(w, cfg.bits)
    a_learned = learn_exponent(w, h_cal, a_search, cfg.bits, cfg.learn_steps, rows=cfg.learn_rows, seed=seed)
    with torch.no_grad():
        out = {"uniform": parse_quantizer(f"int{cfg.bits}:channel").fake(w),
               "uniform_mse": parse_quantizer(f"int{cfg.bits}:channel,observer=mse").fake(w),
               "nupes_search": power_fake_quant(w, a_search, cfg.bits),
               "nupes_learned": power_fake_quant(w, a_learned, cfg.bits)}
    return out, a_search, a_learned


@register
class NUPES(Experiment):
    id = "nupes"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        mini = load_minilm()
        texts = gloss_sample(2 * cfg.texts, seed + 1)
        cal = linear_inputs(mini, texts[:cfg.texts], cfg.max_length, cfg.layers)
        held = linear_inputs(mini, texts[cfg.texts:], cfg.max_length, cfg.layers)
        modules = dict(mini.model.named_modules())
        rows = []
        for name in track(list(cal), "NUPES per layer"):
            w = modules[name].weight.detach().float()
            h_cal, h_held = cal[name].T @ cal[name], held[name].T @ held[name]
            wq, a_s, a_l = quantize_layer(w, h_cal, cfg, seed)
            ref = float(output_error(w, torch.zeros_like(w), h_held))
            row = {"layer": name, "a_search": a_s, "a_learned": a_l}
            for m in METHODS:
                row[f"mse_{m}"] = float((wq[m] - w).pow(2).sum() / w.pow(2).sum())
                row[f"out_{m}"] = float(output_error(w, wq[m], h_held)) / ref
            rows.append(row)
        write_records(out_dir / "layers.csv", rows)
        self._plot(rows, out_dir)
        mean = lambda key: float(torch.tensor([r[key] for r in rows]).mean())  # noqa: E731
        m = {f"{kind}_{meth}": mean(f"{kind}_{meth}") for kind in ("mse", "out") for meth in METHODS}
        m["weight_ratio"] = m["mse_nupes_learned"] / m["mse_uniform"]
        m["output_ratio"] = m["out_nupes_learned"] / m["out_uniform"]
        m["weight_ratio_vs_mse_clip"] = m["mse_nupes_learned"] / m["mse_uniform_mse"]
        m["output_ratio_vs_mse_clip"] = m["out_nupes_learned"] / m["out_uniform_mse"]
        m["clip_gain_ratio"] = m["mse_uniform_mse"] / m["mse_uniform"]
        m["frac_layers_output_better"] = float(sum(r["out_nupes_learned"] < r["out_uniform"] for r in rows)
                                               / len(rows))
        m["mean_a_search"], m["mean_a_learned"] = mean("a_search"), mean("a_learned")
        m["layers"] = len(rows)
        arts = ["errors.png", "layers.csv"]
        if cfg.e2e_texts:
            e2e = minilm_end_to_end(E2E, cfg.e2e_texts, cfg.e2e_pairs, seed, include=cfg.e2e_layers)
            m.update(end_to_end_metrics(e2e))
            m["e2e_cosine_gain"] = m["e2e_nupes4_cosine"] - m["e2e_int4_rtn_cosine"]
            m["e2e_recall_gain"] = m["e2e_nupes4_recall"] - m["e2e_int4_rtn_recall"]
            arts += write_end_to_end(e2e, out_dir, "MiniLM end to end, 4-bit weights per channel")
        return Result(m, arts)

    def _plot(self, rows: list[dict], out_dir: Path) -> None:
        fig, axes = plot.figure(1, 2, figsize=(10, 4))
        for ax, kind, label in ((axes[0], "mse", "relative weight MSE"),
                                (axes[1], "out", "relative layer-output error (held out)")):
            for meth in METHODS:
                ax.semilogy([r[f"{kind}_{meth}"] for r in rows], marker="o", ms=3, label=meth)
            ax.set(xlabel="MiniLM linear layer", ylabel=label)
        axes[0].legend(fontsize=8)
        plot.save(fig, out_dir / "errors.png")
