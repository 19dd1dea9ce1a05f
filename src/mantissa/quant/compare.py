"""Recipes against fidelity: a whole encoder quantized with each recipe, end to end.

:func:`compare_recipes` is the one comparison loop: every recipe quantizes a fresh copy of
the float model (recipes that need calibration share one set of inputs, collected once),
and :func:`mantissa.quant.evaluate` measures the copy against the float model. Both
``mantissa quantize --compare`` (any encoder folder; table and plot per model) and the
experiments' MiniLM end-to-end sections (:func:`minilm_end_to_end`, :func:`end_to_end_metrics`,
:func:`write_end_to_end`) run on it.

Layer by layer, :func:`minilm_linear_inputs` captures what MiniLM's linear layers see on
real sentences (:class:`LinearIO`), and :func:`rel_error` / :func:`row_cosine` score an
approximate output against the exact one.
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import torch
import torch.nn.functional as F

from mantissa import plot
from mantissa.data import load_minilm, load_stdlib_docstrings
from mantissa.errors import ConfigError
from mantissa.io import write_csv
from mantissa.progress import track
from mantissa.quant.api import collect_inputs, module_of, quantize
from mantissa.quant.evaluate import FidelityReport, calibration_corpus, evaluate, evaluation_corpus
from mantissa.quant.recipes import Recipe, parse_recipe
from mantissa.quant.select import select_layers
from mantissa.runtime import threads

__all__ = [
    "E2E_HEADER", "LinearIO", "RecipeFidelity", "RecipeLike", "compare_recipes", "end_to_end_metrics",
    "minilm_end_to_end", "minilm_linear_inputs", "minilm_texts", "rel_error", "row_cosine",
    "write_end_to_end",
]

#: what a comparison runs: a recipe (spec string or :class:`Recipe`), ``None`` for the float model
#: itself, or a transform ``fn(model, include) -> model`` of the copy that no recipe spec names
RecipeLike: TypeAlias = str | Recipe | Callable[[Any, str], Any] | None


# ---------------------------------------------------------------- layer by layer
@dataclass
class LinearIO:
    """One MiniLM linear layer with the inputs it saw on real text (padding removed)."""

    name: str
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None
    x: torch.Tensor  # (tokens, in)

    def output(self) -> torch.Tensor:
        """The layer's exact output on :attr:`x`, in float64."""
        return F.linear(self.x.double(), self.weight.double(),
                        None if self.bias is None else self.bias.double())


def minilm_texts(n: int, seed: int) -> list[str]:
    """``n`` real sentences (the first paragraph of seeded standard-library docstrings, at most
    400 characters each)."""
    docs = load_stdlib_docstrings()
    rng = random.Random(seed)
    picks = rng.sample(range(len(docs)), min(n, len(docs)))
    return [docs[i].doc.split("\n\n")[0].replace("\n", " ")[:400] for i in picks]


@torch.no_grad()
def minilm_linear_inputs(n_texts: int, seed: int, *, max_length: int = 64,
                         layers: Sequence[int] | None = None) -> list[LinearIO]:
    """Inputs of every ``nn.Linear`` of MiniLM's encoder layers (``layers``: which ones) on
    :func:`minilm_texts`."""
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


# ---------------------------------------------------------------- the whole model
@dataclass(frozen=True)
class RecipeFidelity:
    """One recipe of a comparison: its label, what ran (spec, transform name or ``float32``),
    the fidelity report, recall's ``k``, the synonym pairs asked for and the wall time."""

    label: str
    recipe: str
    report: FidelityReport
    k: int
    n_pairs: int
    seconds: float

    def row(self) -> dict[str, Any]:
        """The row of :data:`E2E_HEADER`."""
        rep = self.report
        return {"label": self.label, "recipe": self.recipe, "bits_per_weight": rep.bits_per_weight,
                "texts": rep.n_texts, "k": self.k, "mean_cosine": rep.mean_cosine,
                "min_cosine": rep.min_cosine, "recall_at_k": rep.recall_at_10,
                "synonym_pairs": self.n_pairs, "synonym_auc": rep.synonym_auc,
                "synonym_gap": rep.synonym_gap, "seconds": self.seconds}


def _recipe_name(spec: RecipeLike) -> str:
    if isinstance(spec, Recipe):
        return spec.spec()
    if callable(spec):
        return getattr(spec, "__name__", "transform")
    return spec or "float32"


def compare_recipes(base: Any, recipes: Mapping[str, RecipeLike] | Sequence[tuple[str, RecipeLike]], *,
                    n_texts: int, n_pairs: int, seed: int = 0, k: int = 10, include: str = "*",
                    calibration: int = 64, measure_size: bool = True, measure_latency: bool = True,
                    n_threads: int | None = None, desc: str | None = None) -> Iterator[RecipeFidelity]:
    """Quantize a fresh copy of ``base`` (a wrapper with ``.encode`` and ``.model``, e.g.
    :func:`mantissa.data.load_minilm` or :func:`mantissa.quant.folders.load_folder`) with each
    recipe (``{label: recipe}`` or ``(label, recipe)`` pairs; see :data:`RecipeLike`) and yield,
    recipe by recipe, its fidelity against ``base`` (:func:`mantissa.quant.evaluate` on
    ``n_texts`` texts, ``n_pairs`` synonym pairs, recall at ``k``). ``include``: glob of the
    layers to quantize. Recipes that need calibration share the inputs ``calibration`` texts
    outside the evaluation corpus give, collected once. ``n_threads``: pin torch's threads while
    quantizing and measuring (``None``: leave them); ``desc``: a progress bar's title."""
    items = list(recipes.items()) if isinstance(recipes, Mapping) else list(recipes)
    parsed = [parse_recipe(s) for _, s in items if isinstance(s, str | Recipe)]  # fail fast on bad names
    pinned = (lambda: threads(n_threads)) if n_threads else contextlib.nullcontext
    inputs = None
    if any(r.needs_calibration for r in parsed):
        with pinned():
            texts = calibration_corpus(calibration, set(evaluation_corpus(n_texts, seed)))
            inputs = collect_inputs(base, select_layers(module_of(base), [include])[0], texts)
    for label, spec in track(items, desc) if desc else items:
        t0 = time.perf_counter()
        with pinned():
            model = copy.deepcopy(base)
            if isinstance(spec, str | Recipe):
                model = quantize(model, spec, inputs, include=[include])
            elif callable(spec):
                model = spec(model, include)
            report = evaluate(model, base, n_texts=n_texts, n_pairs=n_pairs, k=k, seed=seed,
                              measure_size=measure_size, measure_latency=measure_latency)
        yield RecipeFidelity(label, _recipe_name(spec), report, k, n_pairs, time.perf_counter() - t0)


# ---------------------------------------------------------------- MiniLM end to end (experiments)
#: columns of :func:`write_end_to_end`'s table, the keys of :func:`minilm_end_to_end`'s rows
E2E_HEADER = ("label", "recipe", "bits_per_weight", "texts", "k", "mean_cosine", "min_cosine",
              "recall_at_k", "synonym_pairs", "synonym_auc", "synonym_gap", "seconds")


def minilm_end_to_end(recipes: Mapping[str, RecipeLike], n_texts: int, n_pairs: int, seed: int, *,
                      include: str = "*", desc: str = "MiniLM end to end",
                      calibration: int = 64) -> list[dict[str, Any]]:
    """The whole packaged MiniLM through :func:`compare_recipes` on one thread (far steadier than
    two on a shared 2-core machine), without size or latency: one :data:`E2E_HEADER` row per
    recipe. Recall is at ``k = min(10, n_texts // 4)`` so the neighbours stay a small share of
    the corpus; ``n_pairs`` = 0: no synonym pairs."""
    if n_texts < 8:
        raise ConfigError(f"MiniLM end to end needs at least 8 texts (got {n_texts}); 0 disables it")
    base = load_minilm()
    k = min(10, n_texts // 4)
    return [r.row() for r in compare_recipes(base, recipes, n_texts=n_texts, n_pairs=n_pairs, seed=seed, k=k,
                                             include=include, calibration=calibration, measure_size=False,
                                             measure_latency=False, n_threads=1, desc=desc)]


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
    """``<stem>.csv`` (one row per recipe) and ``<stem>.png`` (mean cosine and recall bars);
    returns the two file names."""
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
