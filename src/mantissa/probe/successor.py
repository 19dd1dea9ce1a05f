"""Successor heads: mod-10 features of number tokens and OV-circuit succession scores.

Gould et al., "Successor Heads: Recurring, Interpretable Attention Heads In The
Wild" (ICLR 2024). Two measurements:

* **mod-10 features** (Sec. 4): a linear probe predicting ``n mod 10`` from the
  representation of the number token ``n``, trained and tested on disjoint
  numbers (chance is 10 %);
* **succession score** (Sec. 3): for an attention head with value/output
  matrices ``W_V, W_O``, the OV circuit maps the (effective) embedding of token
  ``t_i`` of an ordinal sequence to logits ``W_U W_O W_V e(t_i)``; the score is the
  fraction of ``i`` for which the largest logit among the sequence's tokens is
  ``t_{i+1}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mantissa.errors import ShapeError


def number_tokens(tokenizer, max_n: int = 1000) -> tuple[list[int], list[int]]:
    """Numbers ``0..max_n-1`` that are one token for a HF tokenizer, and their ids."""
    nums, ids = [], []
    for n in range(max_n):
        tid = tokenizer.convert_tokens_to_ids(str(n))
        if tid is not None and tid != tokenizer.unk_token_id:
            nums.append(n)
            ids.append(int(tid))
    return nums, ids


def fit_softmax_probe(x: Tensor, y: Tensor, n_classes: int, l2: float = 1e-2, iters: int = 100) -> Tensor:
    """Multinomial logistic regression (weights incl. bias row) by full-batch L-BFGS."""
    xb = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    w = torch.zeros(xb.shape[1], n_classes, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xb @ w, y) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def _probe_acc(w: Tensor, x: Tensor, y: Tensor) -> float:
    xb = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    return float(((xb @ w).argmax(1) == y).double().mean())


def mod10_probe(features: Tensor, numbers: Sequence[int], *, test_fraction: float = 0.3, seed: int = 0,
                shuffle_labels: bool = False) -> dict[str, float]:
    """Linear (softmax-regression) probe of ``n mod 10`` on held-out numbers; features
    are standardised on the training numbers. ``shuffle_labels`` permutes the labels
    (a control that should give chance)."""
    x = features.detach().double().cpu()
    if x.ndim != 2 or len(x) != len(numbers):
        raise ShapeError(f"need one feature row per number: {tuple(x.shape)} vs {len(numbers)} numbers")
    y = torch.as_tensor(list(numbers)) % 10
    if len(set(y.tolist())) < 10:
        raise ShapeError("the numbers must cover all ten residues mod 10")
    g = torch.Generator().manual_seed(seed)
    if shuffle_labels:
        y = y[torch.randperm(len(y), generator=g)]
    perm = torch.randperm(len(y), generator=g)
    n_test = int(round(test_fraction * len(y)))
    test, train = perm[:n_test], perm[n_test:]
    mu, sd = x[train].mean(0), x[train].std(0).clamp_min(1e-12)
    xs = (x - mu) / sd
    w = fit_softmax_probe(xs[train], y[train], 10)
    return {"train_acc": _probe_acc(w, xs[train], y[train]), "test_acc": _probe_acc(w, xs[test], y[test]),
            "n_train": float(len(train)), "n_test": float(n_test)}


def ov_logits(embed: Tensor, w_v: Tensor, w_o: Tensor, unembed: Tensor) -> Tensor:
    """Logits ``(n_tokens, n_tokens)`` of a head's OV circuit.

    ``embed`` (n, d): effective embeddings of the sequence's tokens; ``w_v`` (d_head, d)
    and ``w_o`` (d, d_head) as in ``nn.Linear`` weights; ``unembed`` (n, d): the
    unembedding rows of the same tokens.
    """
    if w_v.shape[1] != embed.shape[1] or w_o.shape != (embed.shape[1], w_v.shape[0]):
        raise ShapeError(f"OV shapes do not fit: embed {tuple(embed.shape)}, W_V {tuple(w_v.shape)}, "
                         f"W_O {tuple(w_o.shape)}")
    return (embed @ w_v.T @ w_o.T) @ unembed.T


def succession_score(logits: Tensor) -> float:
    """Fraction of rows ``i < n-1`` whose largest logit is at column ``i + 1``."""
    if logits.ndim != 2 or logits.shape[0] != logits.shape[1] or logits.shape[0] < 2:
        raise ShapeError(f"need square OV logits over an ordinal sequence, got {tuple(logits.shape)}")
    n = logits.shape[0]
    return float((logits[: n - 1].argmax(1) == torch.arange(1, n)).float().mean())


def copy_score(logits: Tensor) -> float:
    """Fraction of rows whose largest logit is on the diagonal (a copying head)."""
    return float((logits.argmax(1) == torch.arange(len(logits))).float().mean())


def bert_head_scores(bert, token_ids: Sequence[int]) -> Tensor:
    """Succession scores ``(layers, heads)`` of a HF BERT's heads on ordered tokens.

    Effective embedding: the embedding LayerNorm of word + token-type embedding;
    unembedding: the word embeddings (BERT's tied MLM decoder).
    """
    emb = bert.embeddings
    ids = torch.as_tensor(list(token_ids))
    with torch.no_grad():
        e = emb.LayerNorm(emb.word_embeddings.weight[ids] + emb.token_type_embeddings.weight[0])
        u = emb.word_embeddings.weight[ids]
        layers = bert.encoder.layer
        n_head = bert.config.num_attention_heads
        d_head = bert.config.hidden_size // n_head
        out = torch.zeros(len(layers), n_head)
        for li, layer in enumerate(layers):
            w_v, w_o = layer.attention.self.value.weight, layer.attention.output.dense.weight
            for h in range(n_head):
                sl = slice(h * d_head, (h + 1) * d_head)
                out[li, h] = succession_score(ov_logits(e, w_v[sl], w_o[:, sl], u))
    return out


def transformer_head_scores(model, token_ids: Sequence[int], layer: int = 0) -> dict[str, Tensor]:
    """Succession and copy scores per head of one block of a
    :class:`mantissa.models.transformer.Transformer`: effective embedding = the
    block's pre-norm of the token embeddings, unembedding = the LM head."""
    block = model.blocks[layer]
    d = model.cfg.d_model
    n_head = model.cfg.n_head
    d_head = d // n_head
    ids = torch.as_tensor(list(token_ids))
    with torch.no_grad():
        e = block.norm1(model.wte.weight[ids])
        u = model.head.weight[ids]
        w_v_all = block.attn.qkv.weight[2 * d :]
        succ, copy = torch.zeros(n_head), torch.zeros(n_head)
        for h in range(n_head):
            sl = slice(h * d_head, (h + 1) * d_head)
            logits = ov_logits(e, w_v_all[sl], block.attn.proj.weight[:, sl], u)
            succ[h], copy[h] = succession_score(logits), copy_score(logits)
    return {"succession": succ, "copy": copy}


def shuffled_order_null(score_fn, token_ids: Sequence[int], n_perm: int = 20, seed: int = 0) -> Tensor:
    """Best-head succession score on randomly ordered sequences: the null for "the best
    head increments tokens". ``score_fn(ids)`` returns per-head succession scores (e.g.
    ``lambda ids: bert_head_scores(bert, ids)``); each of ``n_perm`` random orders of the
    same tokens gives the maximum over heads, i.e. how high the best of many heads scores
    when "successor" means an arbitrary other token of the set. Returns ``(n_perm,)``."""
    ids = list(token_ids)
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(n_perm)
    for r in range(n_perm):
        perm = torch.randperm(len(ids), generator=g).tolist()
        out[r] = score_fn([ids[p] for p in perm]).max()
    return out


def number_states(encoder, numbers: list[int], batch: int = 128) -> list[torch.Tensor]:
    """Per layer of a MiniLM-style encoder (``forward_hidden(texts, all_layers=True)``), the
    hidden state of the number token in "there are N items" for each N: position 3 after
    ``[CLS] there are``; one ``(len(numbers), width)`` tensor per layer, embeddings first."""
    texts = [f"there are {n} items" for n in numbers]
    feats: list[list[torch.Tensor]] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            hidden, _ = encoder.forward_hidden(texts[start : start + batch], all_layers=True)
            feats.append([h[:, 3] for h in hidden])
    return [torch.cat([f[layer] for f in feats]) for layer in range(len(feats[0]))]
