"""Successor heads (paper #26): mod-10 features of number tokens and successor heads
in MiniLM, an LM never trained on succession.

Wires :mod:`mantissa.probe.successor` with the packaged MiniLM (all-MiniLM-L6-v2:
distilled from a masked LM, then tuned for sentence similarity; no succession
task). Claims, both on MiniLM:

* a linear mod-10 probe on the static number-token embeddings (numbers 0..999 that
  are one token; train and test on disjoint numbers) beats chance (10 %) by a wide
  margin (> 30 %);
* the best of its 72 attention heads has an OV succession score on 0..99 (effective
  embedding: the embedding LayerNorm; unembedding: the tied word embeddings) above a
  shuffled-order baseline (the same heads' best score when the "successor" of each
  number is the next one in a random order of the same tokens; mean over 20 orders)
  by more than 0.1.

Gates: the probe on shuffled labels stays near chance (the probe does not memorise),
and a positive control: a one-block attention-only
:class:`mantissa.models.transformer.Transformer` (its MLP zeroed and frozen) trained with
:class:`mantissa.train.Trainer` on "say the successor of the previous token" has a
head the same scorer rates as a successor head (so the scorer can find one); a copy
model ("say the previous token") is reported beside it. That trained LM is a check of
the scorer, not evidence for the claim (it was trained on succession).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from mantissa.data import load_minilm
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import atomic_write
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.plot import figure, save
from mantissa.probe.successor import (
    bert_head_scores,
    mod10_probe,
    number_states,
    number_tokens,
    shuffled_order_null,
    transformer_head_scores,
)
from mantissa.train import TrainConfig, Trainer

Config = card_config(__name__)  # the card's [config]: successor_heads.toml


def _lm(cfg: Config, task: str, seed: int) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(TransformerConfig(vocab_size=cfg.vocab, n_layer=1, n_head=cfg.n_head,
                                          d_model=cfg.d_model, max_len=cfg.seq_len))
    for p in model.blocks[0].ffn.parameters():  # attention-only: the MLP outputs zero
        p.data.zero_()
        p.requires_grad_(False)
    shift = 1 if task == "successor" else 0

    def batches(step: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed * 100_003 + step)
        x = torch.randint(0, cfg.vocab - 1, (64, cfg.seq_len), generator=g)
        y = torch.full_like(x, -100)
        y[:, 1:] = x[:, :-1] + shift
        return {"idx": x, "y": y}

    def loss_fn(model, batch):
        logits = model(batch["idx"])
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), batch["y"].reshape(-1), ignore_index=-100)
        m = batch["y"] >= 0
        return loss, {"acc": float((logits.argmax(-1)[m] == batch["y"][m]).float().mean())}

    tc = TrainConfig(steps=cfg.steps, batch_size=64, lr=cfg.lr, warmup=min(50, cfg.steps // 4),
                     weight_decay=0.0, log_every=max(1, cfg.steps // 4), seed=seed)
    trainer = Trainer(model, tc, batches, loss_fn=loss_fn, progress_desc=f"{task} LM")
    trainer.fit()
    model.final_acc = trainer.final("acc")  # type: ignore[attr-defined]
    return model.eval()


@register
class SuccessorHeads(Experiment):
    id = "successor-heads"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        minilm = load_minilm()
        nums, ids = number_tokens(minilm.tokenizer, cfg.max_number)
        static = minilm.model.embeddings.word_embeddings.weight[torch.tensor(ids)].detach()
        m: dict[str, float] = {"n_number_tokens": len(nums)}
        m["mod10_static_acc"] = mod10_probe(static, nums, seed=seed)["test_acc"]
        m["mod10_static_shuffled_acc"] = mod10_probe(static, nums, seed=seed, shuffle_labels=True)["test_acc"]
        layers: list[float] = []
        if cfg.contextual:
            layers = [mod10_probe(f, nums, seed=seed)["test_acc"] for f in number_states(minilm, nums)]
            for i, acc in enumerate(layers):
                m[f"mod10_layer{i}_acc"] = acc
        k_ids = [ids[nums.index(n)] for n in range(cfg.head_numbers) if n in nums]
        bert_scores = bert_head_scores(minilm.model, k_ids)
        m["minilm_best_head_succession"] = float(bert_scores.max())
        null = shuffled_order_null(lambda order: bert_head_scores(minilm.model, order), k_ids,
                                   cfg.null_orders, seed)
        m["minilm_null_best_head_succession"] = float(null.mean())
        m["minilm_null_best_head_succession_p95"] = float(null.quantile(0.95))
        m["minilm_succession_excess"] = (m["minilm_best_head_succession"]
                                         - m["minilm_null_best_head_succession"])
        succ_model, copy_model = _lm(cfg, "successor", seed), _lm(cfg, "copy", seed)
        order = list(range(cfg.vocab))
        s_scores = transformer_head_scores(succ_model, order)
        c_scores = transformer_head_scores(copy_model, order)
        m["lm_task_acc"] = succ_model.final_acc
        m["copy_task_acc"] = copy_model.final_acc
        m["lm_best_head_succession"] = float(s_scores["succession"].max())
        m["control_best_head_succession"] = float(c_scores["succession"].max())
        m["control_best_head_copy"] = float(c_scores["copy"].max())
        m["chance_succession"] = 1.0 / cfg.vocab
        return Result(m, self._artifacts(m, layers, bert_scores, s_scores, c_scores, out_dir))

    @staticmethod
    def _artifacts(m, layers, bert_scores, s_scores, c_scores, out_dir: Path) -> list[str]:
        rows = ["model,layer,head,succession,copy"]
        rows += [f"minilm,{li},{h},{float(bert_scores[li, h]):.4f},"
                 for li in range(bert_scores.shape[0]) for h in range(bert_scores.shape[1])]
        for name, sc in (("successor-lm", s_scores), ("copy-lm", c_scores)):
            rows += [f"{name},0,{h},{float(sc['succession'][h]):.4f},{float(sc['copy'][h]):.4f}"
                     for h in range(len(sc["succession"]))]
        atomic_write(out_dir / "head_scores.csv", "\n".join(rows) + "\n")
        fig, axes = figure(1, 2, figsize=(10, 3.8))
        names = ["static"] + [f"L{i}" for i in range(len(layers))]
        axes[0].bar(names, [100 * m["mod10_static_acc"]] + [100 * a for a in layers])
        axes[0].axhline(10, color="gray", ls="--", label="chance")
        axes[0].axhline(100 * m["mod10_static_shuffled_acc"], color="red", ls=":", label="shuffled labels")
        axes[0].set_ylabel("mod-10 probe test acc. (%)")
        axes[0].set_title("MiniLM number tokens")
        axes[0].legend()
        heads = range(len(s_scores["succession"]))
        axes[1].bar([h - 0.2 for h in heads], s_scores["succession"].tolist(), 0.4, label="successor-task LM")
        axes[1].bar([h + 0.2 for h in heads], c_scores["succession"].tolist(), 0.4, label="copy-task LM")
        axes[1].set_xlabel("head")
        axes[1].set_ylabel("succession score")
        axes[1].legend()
        save(fig, out_dir / "successor_heads.png")
        return ["head_scores.csv", "successor_heads.png"]
