"""ImageBind-LLM (catalogue row #2): a bind network and zero-initialised gates
teach a frozen, text-only LM to caption images.

Wiring (all parts from :mod:`mantissa.nn.bind` and :mod:`mantissa.nn.transformer`):

* images: scikit-learn's 8x8 digits; each caption is one of a few templates
  ("the digit seven.", "a handwritten 7.", ...);
* frozen "image encoder": fixed random ReLU features of the pixels (a seeded
  random projection, never trained; a stand-in for ImageBind's frozen encoder
  that carries no label information of its own);
* LM: a char-level :class:`~mantissa.nn.transformer.Transformer` pretrained on the
  caption templates with uniformly random digits and *no images*, so alone it
  cannot know which digit an image shows; then frozen;
* only the bind network and one zero-initialised gate per layer are trained.

Gate: the frozen text-only LM learned the caption language (teacher-forced
next-character accuracy on the characters its prefix determines, every template
and digit). Claims: the digit chosen by scoring the ten candidate captions
"the digit <word>." by likelihood beats the LM without the image by more than
20 points; greedy free captions name the right digit more than half the time;
the training-free visual cache (cache = training image features) raises the
accuracy on "shifted-modality" queries (features of pixel-noised images, a
stand-in for the paper's audio/3D/video inputs) by more than 2 points.
Properties that hold by construction (gates at zero leave the LM's logits
unchanged, the LM stays frozen, the LM alone cannot tell images apart) are unit
tests (``tests/experiments/test_imagebind_llm.py``, ``tests/nn/test_bind.py``);
their values are still reported as metrics.
The paper's instruction data and LLaMA scale are not reproduced.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mantissa import plot, runtime
from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.nn.bind import BindNetwork, GatedInjection, VisualCache, freeze
from mantissa.nn.transformer import Transformer, TransformerConfig
from mantissa.tasks.tokenizer import CharTokenizer
from mantissa.train import TensorBatches, TrainConfig, Trainer
from mantissa.train.lm import lm_loss

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = ("the digit {w}.", "a handwritten {d}.", "this shows {w}.", "a {w}.", "number {d}.")
EVAL_TEMPLATE = 0


Config = card_config(__name__)  # the card's [config]: imagebind_llm.toml


def _caption(template: int, digit: int) -> str:
    return TEMPLATES[template].format(w=WORDS[digit], d=digit)


def _captions(tok: CharTokenizer, templates: torch.Tensor, digits: torch.Tensor) -> dict[str, torch.Tensor]:
    return tok.batch([("", _caption(int(t), int(d))) for t, d in zip(templates, digits)])


class _Encoder:
    """Frozen random ReLU features of the (centred) pixels."""

    def __init__(self, d_feat: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed + 7919)
        self.w = torch.randn(64, d_feat, generator=g) / 8.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu((x / 16.0 - 0.3) @ self.w)


class _Conditioned(nn.Module):
    def __init__(self, lm: Transformer, inj: GatedInjection) -> None:
        super().__init__()
        self.lm, self.inj = lm, inj

    def forward(self, idx: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.inj(self.lm, idx, feats)


def _cond_loss(model: _Conditioned, batch):
    idx, mask = batch["idx"], batch["mask"]
    logits = model(idx[:, :-1], batch["feats"])
    m = mask[:, 1:]
    return F.cross_entropy(logits[m], idx[:, 1:][m]), {}


@torch.no_grad()
def _scores(forward, tok: CharTokenizer, feats: torch.Tensor) -> torch.Tensor:
    """(N, 10) log-likelihood of "the digit <word>." for each candidate word."""
    n = feats.shape[0]
    digits = torch.arange(10).repeat(n)
    batch = _captions(tok, torch.full_like(digits, EVAL_TEMPLATE), digits)
    idx, mask = batch["idx"], batch["mask"]
    logits = forward(idx[:, :-1], feats.repeat_interleave(10, 0))
    logp = logits.log_softmax(-1).gather(-1, idx[:, 1:, None])[..., 0]
    return (logp * mask[:, 1:]).sum(-1).view(n, 10)


@torch.no_grad()
def _greedy(forward, tok: CharTokenizer, feats: torch.Tensor, max_new: int = 24) -> list[str]:
    """Free captions: greedy decoding from BOS, conditioned on ``feats``."""
    idx = torch.full((feats.shape[0], 1), tok.bos_id, dtype=torch.long)
    for _ in range(max_new):
        idx = torch.cat([idx, forward(idx, feats)[:, -1].argmax(-1, keepdim=True)], dim=1)
    out = []
    for row in idx[:, 1:].tolist():
        out.append(tok.decode(row[: row.index(tok.eos_id)] if tok.eos_id in row else row))
    return out


@torch.no_grad()
def _determined_char_acc(lm: Transformer, tok: CharTokenizer) -> float:
    """Teacher-forced next-character accuracy (%) of the text-only LM over every template and
    digit, on the positions whose next character is fixed by the prefix (all captions sharing
    the prefix continue alike): the part of the caption language an LM can learn without images."""
    t, d = torch.meshgrid(torch.arange(len(TEMPLATES)), torch.arange(10), indexing="ij")
    batch = _captions(tok, t.flatten(), d.flatten())
    idx, mask = batch["idx"], batch["mask"][:, 1:]
    nxt: dict[tuple[int, ...], set[int]] = {}
    for row, m in zip(idx.tolist(), mask.tolist()):
        for i, keep in enumerate(m):
            if keep:
                nxt.setdefault(tuple(row[: i + 1]), set()).add(row[i + 1])
    det = torch.tensor([[keep and len(nxt[tuple(row[: i + 1])]) == 1 for i, keep in enumerate(m)]
                        for row, m in zip(idx.tolist(), mask.tolist())])
    hit = lm(idx[:, :-1]).argmax(-1) == idx[:, 1:]
    return 100.0 * float(hit[det].float().mean())


def _names_digit(caption: str, digit: int) -> bool:
    """The caption is one of the templates with ``digit`` filled in."""
    return caption in {_caption(t, digit) for t in range(len(TEMPLATES))}


@register
class ImageBindLLM(Experiment):
    id = "imagebind-llm"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        train, test = load_sklearn("digits").split(cfg.test_fraction, seed=seed)
        if cfg.max_test:
            test = dataclasses.replace(test, X=test.X[: cfg.max_test], y=test.y[: cfg.max_test])
        tok, enc = CharTokenizer(), _Encoder(cfg.d_feat, seed)
        with runtime.threads(1):
            lm = self._pretrain_lm(cfg, tok, seed)
            inj = GatedInjection(BindNetwork(cfg.d_feat, cfg.d_model, n_blocks=cfg.bind_blocks),
                                 n_layer=cfg.n_layer).attach(lm)
            model = _Conditioned(freeze(lm).eval(), inj)
            feats_te = enc(test.X)
            base = _scores(lambda i, f: lm(i), tok, feats_te)
            at_init = _scores(model, tok, feats_te)
            dlogit = float((at_init - base).abs().max())
            probe = _captions(tok, torch.zeros(len(test.y), dtype=torch.long), test.y)["idx"]
            with torch.no_grad():
                dlogit = max(dlogit, float((model(probe, feats_te) - lm(probe)).abs().max()))
            before = [p.detach().clone() for p in lm.parameters()]
            self._train_bind(model, cfg, tok, enc(train.X), train.y, seed)
            lm_drift = max(float((p - q).abs().max()) for p, q in zip(lm.parameters(), before))
            after = _scores(model, tok, feats_te)
            greedy = _greedy(model, tok, feats_te)
            cache = VisualCache(enc(train.X), k=cfg.cache_k, alpha=cfg.cache_alpha)
            g = torch.Generator().manual_seed(seed + 2)
            shifted = enc((test.X + cfg.shift_noise * torch.randn(test.X.shape, generator=g)).clamp(0, 16))
            cached = {"clean_cache": _scores(model, tok, cache(feats_te)),
                      "shifted": _scores(model, tok, shifted),
                      "shifted_cache": _scores(model, tok, cache(shifted))}
            lm_det = _determined_char_acc(lm, tok)
        acc = float((after.argmax(-1) == test.y).float().mean()) * 100
        acc0 = float((base.argmax(-1) == test.y).float().mean()) * 100
        extra = {f"caption_acc_{k}": float((v.argmax(-1) == test.y).float().mean()) * 100
                 for k, v in cached.items()}
        hits = sum(_names_digit(c, int(d)) for c, d in zip(greedy, test.y))
        extra["greedy_caption_acc"] = 100.0 * hits / len(greedy)
        greedy_file = write_csv(out_dir / "greedy_captions.csv", ["true", "caption"],
                  [[int(d), c] for d, c in list(zip(test.y, greedy))[:50]])
        extra["caption_gain_over_lm_alone"] = acc - acc0
        extra["cache_gain_shifted"] = extra["caption_acc_shifted_cache"] - extra["caption_acc_shifted"]
        extra["lm_determined_char_acc"] = lm_det
        metrics = {**extra, "gate0_max_abs_dlogit": dlogit, "caption_acc": acc, "lm_alone_acc": acc0,
                   "lm_weight_drift": lm_drift,
                   "chance_acc": 10.0, "gate_abs_mean": float(inj.gates.detach().abs().mean()),
                   "trainable_params": float(sum(p.numel() for p in inj.parameters())),
                   "lm_params": float(lm.num_params())}
        return Result(metrics, [*self._artifacts(after, test.y, inj, metrics, out_dir), greedy_file])

    def _pretrain_lm(self, cfg: Config, tok: CharTokenizer, seed: int) -> Transformer:
        torch.manual_seed(seed)
        lm = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=cfg.n_layer,
                                           d_model=cfg.d_model, n_head=cfg.n_head, max_len=32))
        t, d = torch.meshgrid(torch.arange(len(TEMPLATES)), torch.arange(10), indexing="ij")
        data = _captions(tok, t.flatten(), d.flatten())
        tcfg = TrainConfig(steps=cfg.pretrain_steps, batch_size=cfg.batch_size, lr=cfg.lr_lm,
                           warmup=cfg.pretrain_steps // 10, weight_decay=0.0, log_every=0, seed=seed)
        Trainer(lm, tcfg, TensorBatches(data, cfg.batch_size, seed=seed), loss_fn=lm_loss,
                progress_desc="pretrain LM (text only)").fit()
        return lm

    def _train_bind(self, model: _Conditioned, cfg: Config, tok: CharTokenizer, feats: torch.Tensor,
                    y: torch.Tensor, seed: int) -> None:
        g = torch.Generator().manual_seed(seed + 1)
        reps = len(TEMPLATES)
        templates = torch.randint(0, len(TEMPLATES), (reps * len(y),), generator=g)
        data = _captions(tok, templates, y.repeat(reps))
        data["feats"] = feats.repeat(reps, 1)
        tcfg = TrainConfig(steps=cfg.bind_steps, batch_size=cfg.batch_size, lr=cfg.lr_bind,
                           warmup=cfg.bind_steps // 10, weight_decay=0.0, log_every=0, seed=seed)
        Trainer(model, tcfg, TensorBatches(data, cfg.batch_size, seed=seed), loss_fn=_cond_loss,
                progress_desc="train bind network + gates").fit()

    def _artifacts(self, scores, y, inj, metrics, out_dir: Path) -> list[str]:
        pred = scores.argmax(-1)
        conf = torch.zeros(10, 10, dtype=torch.long)
        conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
        files = [write_csv(out_dir / "confusion.csv", ["true", *WORDS],
                           [[WORDS[i], *conf[i].tolist()] for i in range(10)])]
        files.append(write_csv(out_dir / "gates.csv", ["layer", "gate"],
                               [[i, float(g)] for i, g in enumerate(inj.gates.detach())]))
        fig, ax = plot.figure()
        bars = {"LM alone\n(gates 0)": "lm_alone_acc", "bind\n+ gates": "caption_acc",
                "+ cache": "caption_acc_clean_cache", "shifted\nqueries": "caption_acc_shifted",
                "shifted\n+ cache": "caption_acc_shifted_cache"}
        ax.bar(list(bars), [metrics[k] for k in bars.values()])
        ax.axhline(10.0, color="gray", ls="--", label="chance")
        ax.set_ylabel("caption digit accuracy (%)")
        ax.set_title("ImageBind-LLM on digits: scoring 'the digit <word>.'")
        ax.legend()
        files.append(plot.save(fig, out_dir / "caption_accuracy.png").name)
        return files
