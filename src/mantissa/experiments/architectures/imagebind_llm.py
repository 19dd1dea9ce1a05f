"""ImageBind-LLM (catalogue row #2): a bind network and zero-initialised gates
teach a frozen, text-only LM to caption images.

Wiring (all parts from :mod:`mantissa.models.bind` and :mod:`mantissa.models.transformer`):

* images: scikit-learn's 8x8 digits; each caption is one of a few templates
  ("the digit seven.", "a handwritten 7.", ...);
* frozen "image encoder": fixed random ReLU features of the pixels (a seeded
  random projection, never trained; a stand-in for ImageBind's frozen encoder
  that carries no label information of its own);
* LM: a char-level :class:`~mantissa.models.transformer.Transformer` pretrained on the
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
tests (``tests/experiments/architectures/test_imagebind_llm.py``, ``tests/nn/test_bind.py``);
their values are still reported as metrics.
The paper's instruction data and LLaMA scale are not reproduced.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from mantissa import plot, runtime
from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.models.bind import BindNetwork, GatedInjection, InjectedLM, VisualCache, freeze
from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.nn.random_features import RandomReLUFeatures
from mantissa.probe.captions import candidate_scores, determined_next_token_accuracy, greedy_captions
from mantissa.tasks.digit_captions import (
    TEMPLATES,
    WORDS,
    candidate_captions,
    caption_batch,
    drawn_captions,
    every_caption,
    names_digit,
)
from mantissa.tasks.tokenizer import CharTokenizer
from mantissa.train.bind import pretrain_text_lm, train_bind

Config = card_config(__name__)  # the card's [config]: imagebind_llm.toml


def _accuracy(scores: torch.Tensor, y: torch.Tensor) -> float:
    return float((scores.argmax(-1) == y).float().mean()) * 100


@register
class ImageBindLLM(Experiment):
    id = "imagebind-llm"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        train, test = load_sklearn("digits").split(cfg.test_fraction, seed=seed)
        if cfg.max_test:
            test = dataclasses.replace(test, X=test.X[: cfg.max_test], y=test.y[: cfg.max_test])
        tok, enc = CharTokenizer(), RandomReLUFeatures(64, cfg.d_feat, seed + 7919)
        cands = candidate_captions(tok)
        with runtime.threads(1):
            lm = self.pretrain_lm(cfg, tok, seed)
            inj = GatedInjection(BindNetwork(cfg.d_feat, cfg.d_model, n_blocks=cfg.bind_blocks),
                                 n_layer=cfg.n_layer).attach(lm)
            model = InjectedLM(freeze(lm).eval(), inj)
            feats_te = enc(test.X)
            base = candidate_scores(lambda i, f: lm(i), cands, feats_te)
            at_init = candidate_scores(model, cands, feats_te)
            dlogit = float((at_init - base).abs().max())
            probe = caption_batch(tok, torch.zeros(len(test.y), dtype=torch.long), test.y)["idx"]
            with torch.no_grad():
                dlogit = max(dlogit, float((model(probe, feats_te) - lm(probe)).abs().max()))
            before = [p.detach().clone() for p in lm.parameters()]
            self.train_bind(model, cfg, tok, enc(train.X), train.y, seed)
            lm_drift = max(float((p - q).abs().max()) for p, q in zip(lm.parameters(), before))
            after = candidate_scores(model, cands, feats_te)
            greedy = greedy_captions(model, tok, feats_te)
            cache = VisualCache(enc(train.X), k=cfg.cache_k, alpha=cfg.cache_alpha)
            g = torch.Generator().manual_seed(seed + 2)
            shifted = enc((test.X + cfg.shift_noise * torch.randn(test.X.shape, generator=g)).clamp(0, 16))
            cached = {"clean_cache": candidate_scores(model, cands, cache(feats_te)),
                      "shifted": candidate_scores(model, cands, shifted),
                      "shifted_cache": candidate_scores(model, cands, cache(shifted))}
            lm_det = determined_next_token_accuracy(lm, every_caption(tok))
        acc, acc0 = _accuracy(after, test.y), _accuracy(base, test.y)
        extra = {f"caption_acc_{k}": _accuracy(v, test.y) for k, v in cached.items()}
        hits = sum(names_digit(c, int(d)) for c, d in zip(greedy, test.y))
        extra["greedy_caption_acc"] = 100.0 * hits / len(greedy)
        extra["caption_gain_over_lm_alone"] = acc - acc0
        extra["cache_gain_shifted"] = extra["caption_acc_shifted_cache"] - extra["caption_acc_shifted"]
        extra["lm_determined_char_acc"] = lm_det
        metrics = {**extra, "gate0_max_abs_dlogit": dlogit, "caption_acc": acc, "lm_alone_acc": acc0,
                   "lm_weight_drift": lm_drift,
                   "chance_acc": 10.0, "gate_abs_mean": float(inj.gates.detach().abs().mean()),
                   "trainable_params": float(sum(p.numel() for p in inj.parameters())),
                   "lm_params": float(lm.num_params())}
        conf = torch.zeros(10, 10, dtype=torch.long)
        conf.index_put_((test.y, after.argmax(-1)), torch.ones_like(test.y), accumulate=True)
        tables = {"confusion.csv": (["true", *WORDS], [[WORDS[i], *conf[i].tolist()] for i in range(10)]),
                  "gates.csv": (["layer", "gate"], [[i, float(g)] for i, g in enumerate(inj.gates.detach())]),
                  "greedy_captions.csv": (["true", "caption"],
                                          [[int(d), c] for d, c in list(zip(test.y, greedy))[:50]])}
        return Result(metrics, tables=tables, figures={"caption_accuracy.png": self._figure(metrics)})

    def pretrain_lm(self, cfg: Config, tok: CharTokenizer, seed: int) -> Transformer:
        """The text-only LM: every template with every digit, no images."""
        torch.manual_seed(seed)
        lm = Transformer(TransformerConfig(vocab_size=tok.vocab_size, n_layer=cfg.n_layer,
                                           d_model=cfg.d_model, n_head=cfg.n_head, max_len=32))
        return pretrain_text_lm(lm, every_caption(tok), steps=cfg.pretrain_steps, batch_size=cfg.batch_size,
                                lr=cfg.lr_lm, seed=seed)

    def train_bind(self, model: InjectedLM, cfg: Config, tok: CharTokenizer, feats: torch.Tensor,
                   y: torch.Tensor, seed: int) -> None:
        """Bind network + gates on each training image captioned once per template count."""
        reps = len(TEMPLATES)
        data = drawn_captions(tok, y, reps, seed + 1)
        data["feats"] = feats.repeat(reps, 1)
        train_bind(model, data, steps=cfg.bind_steps, batch_size=cfg.batch_size, lr=cfg.lr_bind, seed=seed)

    def _figure(self, metrics: dict[str, float]):
        fig, ax = plot.figure()
        bars = {"LM alone\n(gates 0)": "lm_alone_acc", "bind\n+ gates": "caption_acc",
                "+ cache": "caption_acc_clean_cache", "shifted\nqueries": "caption_acc_shifted",
                "shifted\n+ cache": "caption_acc_shifted_cache"}
        ax.bar(list(bars), [metrics[k] for k in bars.values()])
        ax.axhline(10.0, color="gray", ls="--", label="chance")
        ax.set_ylabel("caption digit accuracy (%)")
        ax.set_title("ImageBind-LLM on digits: scoring 'the digit <word>.'")
        ax.legend()
        return fig
