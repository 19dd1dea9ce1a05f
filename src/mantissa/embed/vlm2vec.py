"""VLM2Vec: one instruction-conditioned model embeds images, texts and image+text inputs.

Jiang et al. 2024, "VLM2Vec: Training Vision-Language Models for Massive Multimodal
Embedding Tasks" (arXiv:2410.05160). §3: a vision-language model reads the task
instruction, the image tokens and the text of a query (or target) in one sequence; the
embedding is the **last token's** final hidden state (decoder-only VLM, last-token
pooling), and the model is trained with InfoNCE over in-batch negatives (Eq. 1)::

    L = -log  φ(h_q, h_t+) / ( φ(h_q, h_t+) + Σ_{t- ∈ N} φ(h_q, h_t-) ),
    φ(h_q, h_t) = exp(cos(h_q, h_t) / τ)

Here the VLM is a small causal transformer (:class:`mantissa.models.transformer.Block`)
over ``[instruction words] [image patches] [text words] [EOS]`` with the image patches
embedded as in :mod:`mantissa.models.tiny_vit`; missing parts are masked out of attention.
The loss is :func:`mantissa.train.losses.keyed_infonce.keyed_info_nce` (interchangeable
targets, e.g. two images of the same digit, are not negatives of each other).

:class:`LateFusion` is the baseline the paper compares with (CLIP-style two towers, one
per modality, a multimodal input embedded as the sum of its normalised image and text
embeddings, MMEB's "element-wise addition" for CLIP/BLIP baselines); ``use=`` restricts
it to one tower (image-only / text-only readouts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mantissa.errors import ConfigError, ShapeError
from mantissa.models.tiny_vit import patchify
from mantissa.models.transformer import Block, TransformerConfig
from mantissa.nn.positional import NoPE
from mantissa.train.losses.keyed_infonce import keyed_info_nce

PAD, UNK, EOS = 0, 1, 2
PARTS = ("instruction", "image", "text")
_WORD = re.compile(r"[a-z0-9]+")


class WordVocab:
    """Lower-cased word vocabulary: ``encode(text, length)`` -> ids right-padded with PAD."""

    def __init__(self, texts: Iterable[str]) -> None:
        words = sorted({w for t in texts for w in _WORD.findall(t.lower())})
        self.ids = {w: i + 3 for i, w in enumerate(words)}

    @property
    def size(self) -> int:
        return len(self.ids) + 3

    def encode(self, text: str, length: int) -> list[int]:
        ids = [self.ids.get(w, UNK) for w in _WORD.findall(text.lower())][:length]
        return ids + [PAD] * (length - len(ids))

    def batch(self, texts: Sequence[str], length: int) -> torch.Tensor:
        ids = [self.encode(t, length) for t in texts]
        return torch.tensor(ids, dtype=torch.long).view(len(texts), length)


@dataclass
class VLM2VecConfig:
    vocab_size: int
    image_size: int = 8
    patch: int = 4
    d_model: int = 64
    n_head: int = 4
    n_layer: int = 2
    d_ff: int = 0  # 0 -> 4 * d_model
    instr_len: int = 10
    text_len: int = 12

    def __post_init__(self) -> None:
        if self.image_size % self.patch:
            raise ConfigError(f"patch={self.patch} must divide image_size={self.image_size}")

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch) ** 2

    @property
    def seq_len(self) -> int:
        return self.instr_len + self.n_patches + self.text_len + 1


def encode_inputs(vocab: WordVocab, cfg: VLM2VecConfig, images: torch.Tensor, instructions: Sequence[str],
                  image_ids: Sequence[int], texts: Sequence[str],
                  prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a column of inputs: ``{prefix}instr``, ``image`` (zeros where ``image_ids`` is
    -1), ``has_image``, ``text``. ``images`` is ``(N, H, W)``."""
    if not len(instructions) == len(image_ids) == len(texts):
        raise ShapeError(f"columns differ in length: {len(instructions)}, {len(image_ids)}, {len(texts)}")
    ids = torch.tensor(list(image_ids), dtype=torch.long)
    has = ids >= 0
    img = torch.zeros(len(ids), cfg.image_size, cfg.image_size)
    if has.any():
        img[has] = images[ids[has]].float()
    return {f"{prefix}instr": vocab.batch(instructions, cfg.instr_len), f"{prefix}image": img,
            f"{prefix}has_image": has, f"{prefix}text": vocab.batch(texts, cfg.text_len)}


def _use(use: Sequence[str]) -> set[str]:
    bad = set(use) - set(PARTS)
    if bad:
        raise ConfigError(f"unknown input part(s) {sorted(bad)}; use some of {', '.join(PARTS)}")
    return set(use)


class VLM2VecEncoder(nn.Module):
    """``forward(instr, image, has_image, text) -> (B, d_model)``: the last (EOS) token's
    final hidden state. ``use`` masks whole parts out (e.g. ``use=("image",)``)."""

    def __init__(self, cfg: VLM2VecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        tcfg = TransformerConfig(vocab_size=cfg.vocab_size, n_layer=cfg.n_layer, n_head=cfg.n_head,
                                 d_model=cfg.d_model, d_ff=cfg.d_ff, max_len=cfg.seq_len, pe="nope")
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.patch_embed = nn.Linear(cfg.patch**2, cfg.d_model)
        self.pos = nn.Parameter(torch.randn(cfg.seq_len, cfg.d_model) * 0.02)
        self.pe = NoPE()
        self.blocks = nn.ModuleList(Block(tcfg) for _ in range(cfg.n_layer))
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, instr: torch.Tensor, image: torch.Tensor, has_image: torch.Tensor, text: torch.Tensor,
                use: Sequence[str] = PARTS) -> torch.Tensor:
        parts, b = _use(use), instr.shape[0]
        eos = torch.full((b, 1), EOS, dtype=torch.long, device=instr.device)
        x = torch.cat([self.wte(instr), self.patch_embed(patchify(image, self.cfg.patch)),
                       self.wte(text), self.wte(eos)], dim=1) + self.pos
        keep = torch.cat([(instr != PAD) & ("instruction" in parts),
                          has_image[:, None].expand(b, self.cfg.n_patches) & ("image" in parts),
                          (text != PAD) & ("text" in parts), torch.ones_like(eos, dtype=torch.bool)], dim=1)
        cols = keep.any(0)  # drop positions masked in every row: same result, less work
        x, keep = x[:, cols], keep[:, cols]
        for blk in self.blocks:
            x = blk(x, self.pe, None, keep)
        return self.norm(x[:, -1])

    def embed(self, batch: dict[str, torch.Tensor], prefix: str = "",
              use: Sequence[str] = PARTS) -> torch.Tensor:
        return self(batch[f"{prefix}instr"], batch[f"{prefix}image"], batch[f"{prefix}has_image"],
                    batch[f"{prefix}text"], use=use)


class LateFusion(nn.Module):
    """Two single-modality towers (each a :class:`VLM2VecEncoder` of the same shape): the image
    tower sees only the image, the text tower the instruction and the text; an input's
    embedding is the sum of the normalised embeddings of the parts it has."""

    def __init__(self, cfg: VLM2VecConfig) -> None:
        super().__init__()
        self.image_tower, self.text_tower = VLM2VecEncoder(cfg), VLM2VecEncoder(cfg)

    def forward(self, instr: torch.Tensor, image: torch.Tensor, has_image: torch.Tensor, text: torch.Tensor,
                use: Sequence[str] = ("image", "text")) -> torch.Tensor:
        parts = _use(use)
        out = torch.zeros(instr.shape[0], self.image_tower.cfg.d_model, device=instr.device)
        if "image" in parts:
            e = F.normalize(self.image_tower(instr, image, has_image, text, use=("image",)), dim=-1)
            out = out + has_image[:, None] * e
        if "text" in parts:
            has_text = ((instr != PAD).any(1) | (text != PAD).any(1))[:, None]
            e = self.text_tower(instr, image, has_image, text, use=("instruction", "text"))
            e = F.normalize(e, dim=-1)
            out = out + has_text * e
        return out

    embed = VLM2VecEncoder.embed


def vlm2vec_loss(model: nn.Module, batch: dict[str, torch.Tensor],
                 temperature: float = 0.05) -> tuple[torch.Tensor, dict[str, float]]:
    """Trainer loss: InfoNCE of the ``q_*`` inputs against the ``c_*`` inputs (keys ``key``)."""
    q, c = model.embed(batch, "q_"), model.embed(batch, "c_")
    return keyed_info_nce(q, c, batch["key"], temperature), {}


@torch.no_grad()
def embed_all(model: nn.Module, inputs: dict[str, torch.Tensor], use: Sequence[str] | None = None,
              chunk: int = 512) -> torch.Tensor:
    """Normalised embeddings of a column of inputs (from :func:`encode_inputs`), in chunks."""
    model.eval()
    n = inputs["instr"].shape[0]
    kw = {} if use is None else {"use": use}
    out = [model.embed({k: v[i:i + chunk] for k, v in inputs.items()}, **kw) for i in range(0, n, chunk)]
    return F.normalize(torch.cat(out), dim=-1)


def top1_accuracy(queries: torch.Tensor, candidates: torch.Tensor, q_keys: torch.Tensor, c_keys: torch.Tensor,
                  exclude: torch.Tensor | None = None) -> float:
    """Share of queries whose most similar candidate has the query's key; ``exclude``
    ``(Q, C)`` bool marks candidates a query may not retrieve (itself)."""
    sim = queries @ candidates.T
    if exclude is not None:
        sim = sim.masked_fill(exclude, float("-inf"))
    return float((c_keys[sim.argmax(1)] == q_keys).float().mean())


# --- the digits MMEB (mantissa.tasks.mmeb_digits) as tensors and scores -----------------------

def mmeb_vocab(glosses: dict[int, str]) -> WordVocab:
    """Every word the digits MMEB can show (instructions, questions, answers, digit texts)."""
    from mantissa.tasks import mmeb_digits as mm

    texts = [*mm.INSTRUCTIONS.values(), *mm.RELATIONS, *mm.QUESTIONS, *mm.ANSWERS]
    return WordVocab(texts + [t for forms in mm.digit_texts(glosses).values() for t in forms])


def pair_tensors(vocab: WordVocab, cfg: VLM2VecConfig, images: torch.Tensor, pairs: Sequence) -> dict:
    """Training tensors of :class:`~mantissa.tasks.mmeb_digits.Pair` s: ``q_*``, ``c_*`` and ``key``
    (the target side carries no instruction)."""
    q = encode_inputs(vocab, cfg, images, [p.instruction for p in pairs], [p.q_image for p in pairs],
                      [p.q_text for p in pairs], "q_")
    c = encode_inputs(vocab, cfg, images, [""] * len(pairs), [p.c_image for p in pairs],
                      [p.c_text for p in pairs], "c_")
    return {**q, **c, "key": torch.tensor([p.key for p in pairs], dtype=torch.long)}


def mmeb_scores(model: nn.Module, vocab: WordVocab, cfg: VLM2VecConfig, images: torch.Tensor,
                labels: torch.Tensor, glosses: dict[int, str],
                use: Sequence[str] | None = None) -> dict[str, float]:
    """Top-1 retrieval accuracy (%) per task of the digits MMEB on the given (test) images:
    text targets among the task's candidate texts, image targets among all the images (a
    query never retrieves its own image)."""
    from mantissa.tasks import mmeb_digits as mm

    labels = torch.as_tensor(labels).long()
    n = len(labels)
    pool = embed_all(model, encode_inputs(vocab, cfg, images, [""] * n, range(n), [""] * n), use)
    out = {}
    for task in mm.TASK_NAMES:
        qs = mm.eval_queries(task, labels.numpy(), glosses)
        q_in = encode_inputs(vocab, cfg, images, [p.instruction for p in qs], [p.q_image for p in qs],
                             [p.q_text for p in qs])
        q_emb, q_keys = embed_all(model, q_in, use), torch.tensor([p.key for p in qs])
        if task in ("cls", "vqa"):
            cands = mm.text_candidates(task)
            c_in = encode_inputs(vocab, cfg, images, [""] * len(cands), [-1] * len(cands),
                                 [t for t, _ in cands])
            c_keys = torch.tensor([k for _, k in cands])
            acc = top1_accuracy(q_emb, embed_all(model, c_in, use), q_keys, c_keys)
        else:
            q_img = torch.tensor([p.q_image for p in qs])
            exclude = q_img[:, None] == torch.arange(n)[None, :]
            acc = top1_accuracy(q_emb, pool, q_keys, mm.IMAGE_KEY + labels, exclude)
        out[task] = 100.0 * acc
    return out
