"""Two ways to pretrain a diagram encoder: grounding geometric primitives, or contrasting
diagrams with captions (the CLIP recipe).

Open Eyes, Then Reason (Zhang et al. 2025, SVE-Math) §3.1: GeoGLIP is trained to *ground*
geometric primitives (shape grounding, boundary and junction detection) on synthetic
diagrams, while CLIP-style image-level contrastive pretraining misses them. Both models
below share one :class:`~mantissa.models.tiny_vit.TinyViT` encoder shape:

* :class:`GroundingModel` — a per-token linear head predicts the grounding maps of
  :func:`mantissa.tasks.geometry.grounding_targets` (which primitive's ink is in each patch,
  junctions, shape regions); loss: mean binary cross-entropy (:func:`grounding_loss`);
* :class:`CaptionContrastiveModel` — mean-pooled tokens projected and matched with a caption
  encoder (word + slot embeddings, MLP) by symmetric InfoNCE
  (:func:`~mantissa.train.losses.keyed_infonce.keyed_info_nce`, diagrams sharing a caption are
  not negatives) (:func:`caption_loss`).

:func:`grounding_f1` and :func:`caption_top1` say whether each reached its objective.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.models.tiny_vit import TinyViT, TinyViTConfig
from mantissa.nn.feature_router import layer_features
from mantissa.train.losses.keyed_infonce import keyed_info_nce


def _final_tokens(vit: TinyViT, images: torch.Tensor) -> torch.Tensor:
    return vit.norm(layer_features(vit, images)[:, -1])


class GroundingModel(nn.Module):
    """``forward(images) -> (B, C, g, g)`` grounding logits."""

    def __init__(self, cfg: TinyViTConfig, n_channels: int) -> None:
        super().__init__()
        self.vit = TinyViT(cfg)
        self.head = nn.Linear(cfg.d_model, n_channels)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        g = self.vit.cfg.image_size // self.vit.cfg.patch
        logits = self.head(_final_tokens(self.vit, images))  # (B, T, C), row-major patches
        return logits.transpose(1, 2).reshape(images.shape[0], -1, g, g)


class CaptionEncoder(nn.Module):
    """Bag of (slot, word) embeddings of a fixed-length caption, then an MLP."""

    def __init__(self, vocab_size: int, length: int, d_model: int, d_out: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, d_model)
        self.slot = nn.Parameter(torch.randn(length, d_model) * 0.02)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Linear(d_model, d_out))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.mlp((self.wte(ids) + self.slot).mean(dim=1))


class CaptionContrastiveModel(nn.Module):
    """``embed_images(images)``, ``embed_captions(ids)``: ``(B, d_out)`` embeddings."""

    def __init__(self, cfg: TinyViTConfig, vocab_size: int, caption_len: int, d_out: int = 64) -> None:
        super().__init__()
        self.vit = TinyViT(cfg)
        self.proj = nn.Linear(cfg.d_model, d_out)
        self.text = CaptionEncoder(vocab_size, caption_len, cfg.d_model, d_out)

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(_final_tokens(self.vit, images).mean(dim=1))

    def embed_captions(self, ids: torch.Tensor) -> torch.Tensor:
        return self.text(ids)


def grounding_loss(model: GroundingModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Trainer loss: mean BCE of the grounding maps (``images``, ``targets``)."""
    return F.binary_cross_entropy_with_logits(model(batch["images"]), batch["targets"]), {}


def caption_loss(model: CaptionContrastiveModel, batch: dict[str, torch.Tensor],
                 temperature: float = 0.07) -> tuple[torch.Tensor, dict]:
    """Trainer loss: symmetric keyed InfoNCE of diagrams vs captions (``images``, ``captions``,
    ``caption_ids``)."""
    img, txt = model.embed_images(batch["images"]), model.embed_captions(batch["captions"])
    return keyed_info_nce(img, txt, batch["caption_ids"], temperature, symmetric=True), {}


@torch.no_grad()
def grounding_f1(model: GroundingModel, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-channel F1 of the thresholded (logit > 0) grounding maps, ``(C,)``."""
    model.eval()
    pred = torch.cat([model(images[i:i + 256]) for i in range(0, len(images), 256)]) > 0
    t = targets > 0.5
    tp = (pred & t).sum(dim=(0, 2, 3)).float()
    return 2 * tp / (pred.sum(dim=(0, 2, 3)) + t.sum(dim=(0, 2, 3))).float().clamp(min=1)


@torch.no_grad()
def caption_top1(model: CaptionContrastiveModel, images: torch.Tensor, caption_ids: torch.Tensor,
                 all_ids: torch.Tensor, all_tokens: torch.Tensor) -> float:
    """Share of diagrams whose nearest caption, among every possible caption, is their own."""
    model.eval()
    img = F.normalize(model.embed_images(images), dim=-1)
    txt = F.normalize(model.embed_captions(all_tokens), dim=-1)
    return float((all_ids[(img @ txt.T).argmax(1)] == caption_ids).float().mean())


@torch.no_grad()
def encoder_features(vit: TinyViT, images: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Frozen level features ``(N, n_layer, tokens, d)`` of a trained encoder."""
    vit.eval()
    return torch.cat([layer_features(vit, images[i:i + chunk]) for i in range(0, len(images), chunk)])


def qa_loss(head: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Trainer loss of a question head on frozen features (``feats``, ``questions``, ``answers``)."""
    return F.cross_entropy(head(batch["feats"], batch["questions"]), batch["answers"]), {}


@torch.no_grad()
def qa_accuracy(head: nn.Module, feats: torch.Tensor, questions: torch.Tensor, answers: torch.Tensor,
                n_questions: int) -> list[float]:
    """Accuracy (%) of a question head per question type."""
    head.eval()
    pred = torch.cat([head(feats[i:i + 256], questions[i:i + 256]).argmax(-1)
                      for i in range(0, len(feats), 256)])
    hit = (pred == answers).float()
    return [100.0 * float(hit[questions == q].mean()) for q in range(n_questions)]


def pretraining_data(n_train: int, n_held: int, seed: int, size: int = 32,
                     patch: int = 4) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Train and held-out tensors of random diagrams (:func:`mantissa.tasks.geometry.pretraining_set`):
    ``images``, ``targets``, ``caption_ids`` and ``captions`` (word ids)."""
    from mantissa.tasks import geometry as geo

    raw = geo.pretraining_set(n_train + n_held, seed, size, patch)
    data = {"images": torch.as_tensor(raw["images"]).float(), "targets": torch.as_tensor(raw["targets"]),
            "caption_ids": torch.as_tensor(raw["caption_ids"]).long()}
    data["captions"] = torch.tensor([geo.caption_tokens(c) for c in raw["captions"]])
    return {k: v[:n_train] for k, v in data.items()}, {k: v[n_train:] for k, v in data.items()}


def caption_table() -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, tokens)`` of every possible caption (for :func:`caption_top1`)."""
    from mantissa.tasks import geometry as geo

    caps = geo.all_captions()
    return torch.tensor([i for i, _ in caps]), torch.tensor([geo.caption_tokens(c) for _, c in caps])


def fit(model: nn.Module, loss_fn, data: dict[str, torch.Tensor], steps: int, seed: int, desc: str = "train",
        *, batch_size: int = 64, lr: float = 2e-3) -> nn.Module:
    """Train ``model`` with the generic Trainer (AdamW, warm-up + cosine) on random batches."""
    from mantissa.train.lm import TensorBatches
    from mantissa.train.trainer import TrainConfig, Trainer

    torch.manual_seed(seed)
    tcfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=steps // 10, weight_decay=0.01,
                       log_every=0, seed=seed)
    Trainer(model, tcfg, TensorBatches(data, batch_size, seed=seed, trim_key=None), loss_fn=loss_fn,
            progress_desc=desc).fit()
    return model


def question_data(n: int, seed: int, size: int = 32) -> dict[str, torch.Tensor]:
    """:func:`mantissa.tasks.geometry.question_set` as tensors (``images`` float)."""
    from mantissa.tasks import geometry as geo

    raw = geo.question_set(n, seed, size)
    return {"images": torch.as_tensor(raw["images"]).float(), "questions": torch.as_tensor(raw["questions"]),
            "answers": torch.as_tensor(raw["answers"])}
