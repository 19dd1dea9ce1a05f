"""Shared wiring of the cheap-arithmetic experiments (lmul, llm-int8, i-vit, shiftaddllm,
power-softmax); not an experiment itself.

* a TinyViT trained on scikit-learn digits with the generic Trainer;
* the inputs of MiniLM's linear layers on real sentences (forward hooks);
* CSV tables;
* the whole MiniLM quantized with ``mantissa.quant`` recipes, end to end (embedding fidelity).
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from mantissa import plot
from mantissa.data import load_minilm, load_sklearn, load_stdlib_docstrings
from mantissa.errors import ConfigError
from mantissa.io import write_csv
from mantissa.nn.tiny_vit import TinyViT, TinyViTConfig
from mantissa.progress import track
from mantissa.quant import evaluate, parse_recipe, quantize
from mantissa.quant.evaluate import calibration_corpus, evaluation_corpus
from mantissa.runtime import threads
from mantissa.train import TensorBatches, TrainConfig, Trainer

# ---------------------------------------------------------------- digits ViT
Split = tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def digits_split(seed: int, test_fraction: float = 0.25) -> Split:
    """Digits as (B, 8, 8) images with integer pixel values 0..16 (float32)."""
    train, test = load_sklearn("digits").split(test_fraction, seed=seed)
    return (train.X.view(-1, 8, 8), train.y), (test.X.view(-1, 8, 8), test.y)


def _ce(model, batch):
    logits = model(batch["x"] / 16.0)
    return F.cross_entropy(logits, batch["y"]), {}


def train_digits_vit(data: Split, seed: int, *, steps: int, lr: float = 3e-3, batch_size: int = 64,
                     attention: str = "softmax", d_model: int = 32, n_layer: int = 2,
                     desc: str = "vit", model: TinyViT | None = None) -> TinyViT:
    """A TinyViT trained on ``pixels / 16`` (one thread: tiny models share a busy machine best).
    ``model``: continue training that model (fine-tuning; ``attention``/sizes then unused)."""
    (xtr, ytr), _ = data
    torch.manual_seed(seed)
    if model is None:
        model = TinyViT(TinyViTConfig(d_model=d_model, n_head=2, n_layer=n_layer, d_ff=2 * d_model,
                                      attention=attention))
    model.train()
    tcfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=max(1, steps // 20),
                       weight_decay=0.01, log_every=0, seed=seed)
    batches = TensorBatches({"x": xtr, "y": ytr}, batch_size, seed=seed, trim_key=None)
    with threads(1):
        Trainer(model, tcfg, batches, loss_fn=_ce, progress_desc=desc).fit()
    return model.eval()


@torch.no_grad()
def accuracy(model: TinyViT, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Test accuracy in percent of a float model on raw pixels (0..16)."""
    model.eval()
    with threads(1):
        pred = torch.cat([model(x[i:i + batch] / 16.0).argmax(-1) for i in range(0, len(x), batch)])
    return float((pred == y).float().mean()) * 100


# ---------------------------------------------------------------- MiniLM layers
@dataclass
class LinearIO:
    """One MiniLM linear layer with the inputs it saw on real text (padding removed)."""

    name: str
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None
    x: torch.Tensor  # (tokens, in)

    def output(self) -> torch.Tensor:
        return F.linear(self.x.double(), self.weight.double(),
                        None if self.bias is None else self.bias.double())


def minilm_texts(n: int, seed: int) -> list[str]:
    docs = load_stdlib_docstrings()
    rng = random.Random(seed)
    picks = rng.sample(range(len(docs)), min(n, len(docs)))
    return [docs[i].doc.split("\n\n")[0].replace("\n", " ")[:400] for i in picks]


@torch.no_grad()
def minilm_linear_inputs(n_texts: int, seed: int, *, max_length: int = 64,
                         layers: Sequence[int] | None = None) -> list[LinearIO]:
    """Inputs of every ``nn.Linear`` of MiniLM's encoder layers (``layers``: which ones)."""
    mini = load_minilm()
    mini.max_length = max_length
    n_layers = len(mini.model.encoder.layer)
    bad = sorted({i for i in layers or () if not 0 <= i < n_layers})
    if layers is not None and (bad or not layers):
        raise ConfigError(f"layers must be MiniLM encoder layers 0..{n_layers - 1}, got "
                          f"{', '.join(map(str, bad)) or 'none'}")
    texts = minilm_texts(n_texts, seed)
    batch = mini.tokenize(texts)
    keep = batch["attention_mask"].bool()
    captured: dict[str, torch.Tensor] = {}
    hooks, mods = [], {}
    for name, mod in mini.model.encoder.named_modules():
        if isinstance(mod, torch.nn.Linear):
            idx = int(name.split(".")[1])
            if layers is not None and idx not in layers:
                continue
            mods[name] = mod
            hooks.append(mod.register_forward_hook(
                lambda m, inp, out, name=name: captured.__setitem__(name, inp[0].detach())))
    try:
        with threads(1):
            mini.model.eval()
            mini.model(**batch)
    finally:
        for h in hooks:
            h.remove()
    return [LinearIO(name, mods[name].weight.detach().float(),
                     None if mods[name].bias is None else mods[name].bias.detach().float(),
                     captured[name][keep].float())
            for name in mods]


def rel_error(approx: torch.Tensor, exact: torch.Tensor) -> float:
    """Frobenius relative error in float64."""
    e = exact.double()
    return float((approx.double() - e).norm() / e.norm().clamp_min(1e-300))


def row_cosine(approx: torch.Tensor, exact: torch.Tensor) -> float:
    """Mean cosine similarity of corresponding rows (float64)."""
    return float(F.cosine_similarity(approx.double(), exact.double(), dim=-1).mean())


# ---------------------------------------------------------------- MiniLM end to end
E2E_HEADER = ("label", "recipe", "bits_per_weight", "texts", "k", "mean_cosine", "min_cosine",
              "recall_at_k", "synonym_pairs", "synonym_auc", "synonym_gap", "seconds")


def minilm_end_to_end(recipes: Mapping[str, str | Callable[[Any, str], Any] | None], n_texts: int,
                      n_pairs: int, seed: int, *,
                      include: str = "*", desc: str = "MiniLM end to end",
                      calibration: int = 64) -> list[dict[str, Any]]:
    """The whole packaged MiniLM quantized with each recipe (``{label: spec}``; ``None`` = the
    float model itself; a callable ``fn(model, include) -> model`` = a transform of the copy that
    no recipe spec names, e.g. a baseline written in the experiment) on a fresh copy, and its
    embedding fidelity against the float model (:func:`mantissa.quant.evaluate`) on ``n_texts``
    real texts and ``n_pairs`` WordNet synonym pairs (0: none), on one thread. ``include``: glob
    of the linear layers to quantize. Recall is at ``k = min(10, n_texts // 4)`` so the
    neighbours stay a small share of the corpus. Recipes that need calibration get
    ``calibration`` WordNet verb glosses outside the evaluation texts."""
    if n_texts < 8:
        raise ConfigError(f"MiniLM end to end needs at least 8 texts (got {n_texts}); 0 disables it")
    base = load_minilm()
    k = min(10, n_texts // 4)
    rows = []
    for label, spec in track(list(recipes.items()), desc):
        t0 = time.perf_counter()
        with threads(1):  # far steadier than two threads on a shared 2-core machine
            model = copy.deepcopy(base)
            if callable(spec):
                model = spec(model, include)
            elif spec is not None:
                calib = None
                if parse_recipe(spec).needs_calibration:
                    calib = calibration_corpus(calibration, set(evaluation_corpus(n_texts, seed)))
                model = quantize(model, spec, calib, include=[include])
            rep = evaluate(model, base, n_texts=n_texts, n_pairs=n_pairs, k=k, seed=seed,
                           measure_size=False, measure_latency=False)
        name = getattr(spec, "__name__", "transform") if callable(spec) else spec
        rows.append({"label": label, "recipe": name or "float32", "bits_per_weight": rep.bits_per_weight,
                     "texts": rep.n_texts, "k": k, "mean_cosine": rep.mean_cosine,
                     "min_cosine": rep.min_cosine, "recall_at_k": rep.recall_at_10,
                     "synonym_pairs": n_pairs, "synonym_auc": rep.synonym_auc,
                     "synonym_gap": rep.synonym_gap, "seconds": time.perf_counter() - t0})
    return rows


def end_to_end_metrics(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """``e2e_<label>_cosine`` / ``_min_cosine`` / ``_recall`` / ``_auc`` for every row."""
    out: dict[str, float] = {}
    for r in rows:
        p = f"e2e_{r['label']}"
        out.update({f"{p}_cosine": r["mean_cosine"], f"{p}_min_cosine": r["min_cosine"],
                    f"{p}_recall": r["recall_at_k"], f"{p}_auc": r["synonym_auc"]})
    return out


def write_end_to_end(rows: Sequence[Mapping[str, Any]], out_dir: Path, title: str,
                     stem: str = "minilm_e2e") -> list[str]:
    """``<stem>.csv`` (one row per recipe) and ``<stem>.png`` (mean cosine and recall bars)."""
    names = [write_csv(out_dir / f"{stem}.csv", E2E_HEADER, [[r[h] for h in E2E_HEADER] for r in rows]).name]
    fig, ax = plot.figure()
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["mean_cosine"] for r in rows], 0.4, label="mean cosine")
    ax.bar([x + 0.2 for x in xs], [r["recall_at_k"] for r in rows], 0.4,
           label=f"recall@{rows[0]['k']} vs float" if rows else "recall")
    ax.set_xticks(list(xs), [r["label"] for r in rows], rotation=20)
    lo = min([r["recall_at_k"] for r in rows] + [r["mean_cosine"] for r in rows], default=0.0)
    ax.set_ylim(max(0.0, lo - 0.05), 1.0)
    ax.set_title(title)
    ax.legend(loc="lower left")
    plot.save(fig, out_dir / f"{stem}.png")
    return names + [f"{stem}.png"]
