"""Reading a (conditioned) language model's captions: candidate likelihoods, greedy decoding,
and how much of a caption language a text-only LM can know.

The evaluation of the ImageBind-LLM experiment (Han et al. 2023, "ImageBind-LLM:
Multi-modality Instruction Tuning"): ``forward(idx, feats) -> logits`` is an LM conditioned on
per-example features (an :class:`~mantissa.models.bind.InjectedLM`, or ``lambda i, f: lm(i)`` for
the LM alone). :func:`candidate_scores` picks among fixed candidate captions by likelihood,
:func:`greedy_captions` decodes freely, and :func:`determined_next_token_accuracy` scores a
text-only LM on the positions its prefix determines.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mantissa.tasks.tokenizer import CharTokenizer

#: ``forward(idx (B, T), feats (B, d)) -> logits (B, T, vocab)``
Conditioned = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def candidate_scores(forward: Conditioned, candidates: dict[str, torch.Tensor], feats: torch.Tensor
                     ) -> torch.Tensor:
    """``(N, K)`` summed log-likelihood of each of the ``K`` candidate sequences (``idx``,
    ``mask`` as :meth:`CharTokenizer.batch`; masked tokens counted) for each of the ``N``
    feature rows."""
    n, k = feats.shape[0], candidates["idx"].shape[0]
    idx, mask = candidates["idx"].repeat(n, 1), candidates["mask"].repeat(n, 1)
    logits = forward(idx[:, :-1], feats.repeat_interleave(k, 0))
    logp = logits.log_softmax(-1).gather(-1, idx[:, 1:, None])[..., 0]
    return (logp * mask[:, 1:]).sum(-1).view(n, k)


@torch.no_grad()
def greedy_captions(forward: Conditioned, tok: CharTokenizer, feats: torch.Tensor, max_new: int = 24
                    ) -> list[str]:
    """Free captions: greedy decoding from BOS, conditioned on ``feats``, cut at EOS."""
    idx = torch.full((feats.shape[0], 1), tok.bos_id, dtype=torch.long)
    for _ in range(max_new):
        idx = torch.cat([idx, forward(idx, feats)[:, -1].argmax(-1, keepdim=True)], dim=1)
    out = []
    for row in idx[:, 1:].tolist():
        out.append(tok.decode(row[: row.index(tok.eos_id)] if tok.eos_id in row else row))
    return out


@torch.no_grad()
def determined_next_token_accuracy(lm: Callable[[torch.Tensor], torch.Tensor],
                                   corpus: dict[str, torch.Tensor]) -> float:
    """Teacher-forced next-token accuracy (%) of ``lm`` over ``corpus`` (``idx``, ``mask``), on
    the masked positions whose next token is fixed by the prefix (every sequence of the corpus
    sharing the prefix continues alike): the part of the language an LM can learn without the
    conditioning input."""
    idx, mask = corpus["idx"], corpus["mask"][:, 1:]
    nxt: dict[tuple[int, ...], set[int]] = {}
    for row, m in zip(idx.tolist(), mask.tolist()):
        for i, keep in enumerate(m):
            if keep:
                nxt.setdefault(tuple(row[: i + 1]), set()).add(row[i + 1])
    det = torch.tensor([[keep and len(nxt[tuple(row[: i + 1])]) == 1 for i, keep in enumerate(m)]
                        for row, m in zip(idx.tolist(), mask.tolist())])
    hit = lm(idx[:, :-1]).argmax(-1) == idx[:, 1:]
    return 100.0 * float(hit[det].float().mean())


__all__ = ["candidate_scores", "determined_next_token_accuracy", "greedy_captions"]
