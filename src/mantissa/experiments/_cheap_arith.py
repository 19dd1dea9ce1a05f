"""Shared wiring of the cheap-arithmetic experiments (lmul, llm-int8, i-vit, shiftaddllm,
power-softmax); not an experiment itself.

* a TinyViT trained on scikit-learn digits with the generic Trainer;
* the inputs of MiniLM's linear layers on real sentences (forward hooks);
* CSV tables.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from mantissa.data import load_minilm, load_sklearn, load_stdlib_docstrings
from mantissa.io import atomic_write
from mantissa.nn.tiny_vit import TinyViT, TinyViTConfig
from mantissa.runtime import threads
from mantissa.train import TensorBatches, TrainConfig, Trainer


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in r])
    atomic_write(path, buf.getvalue().encode())
    return path.name


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
                     desc: str = "vit") -> TinyViT:
    """A TinyViT trained on ``pixels / 16`` (one thread: tiny models share a busy machine best)."""
    (xtr, ytr), _ = data
    torch.manual_seed(seed)
    model = TinyViT(TinyViTConfig(d_model=d_model, n_head=2, n_layer=n_layer, d_ff=2 * d_model,
                                  attention=attention))
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
