"""Training throughput of a MiniLM fine-tune: mantissa's embedding losses vs sentence-transformers'.

Same weights (the packaged all-MiniLM-L6-v2), same batch of WordNet lemma → gloss pairs,
same max length, AdamW; one step = forward, loss, backward, optimizer step. Reports
examples/s and the ratio ours / sentence-transformers' for

* in-batch contrastive: ``infonce`` vs ``MultipleNegativesRankingLoss``;
* Matryoshka: ``matryoshka`` vs ``MatryoshkaLoss``;
* 2D Matryoshka: ``2dmse`` vs ``Matryoshka2dLoss`` (ours computes the full and the
  sampled dim on both layers, as in the paper; theirs one sampled dim per layer);

and the cost of the single-forward 2DMSE / Starbucks wrappers relative to the plain loss.
Timings alternate the contenders step by step (median of ``--steps``), so load on a
shared machine hits both alike; still, quote them as noisy there.

    python benchmarks/bench_embed_train.py [--steps 8] [--batch 32] [--max-length 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch


def _ours(loss_name: str, max_length: int):
    from mantissa.embed.encoder import Encoder
    from mantissa.train.losses import EMBEDDING_LOSSES

    model = Encoder.from_minilm(max_length=max_length).train()
    loss = EMBEDDING_LOSSES.build(loss_name)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step(anchors, positives):
        value = loss(model, anchors, positives)
        opt.zero_grad()
        value.backward()
        opt.step()

    return step


def _theirs(kind: str, max_length: int):
    from sentence_transformers import SentenceTransformer, losses

    from mantissa.data.minilm import minilm_path

    model = SentenceTransformer(str(minilm_path()), device="cpu")
    model.max_seq_length = max_length
    model.train()
    base = losses.MultipleNegativesRankingLoss(model, scale=20.0)
    dims = [384, 256, 128, 64, 32]
    loss = {"mnrl": base, "matryoshka": losses.MatryoshkaLoss(model, base, dims),
            "2d": losses.Matryoshka2dLoss(model, base, dims)}[kind]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step(anchors, positives):
        feats = [model.tokenize(anchors), model.tokenize(positives)]
        value = loss(feats, torch.arange(len(anchors)))
        opt.zero_grad()
        value.backward()
        opt.step()

    return step


def _batch(n: int) -> tuple[list[str], list[str]]:
    from mantissa.embed.pairs import subsample, wordnet_pairs

    pairs = subsample(wordnet_pairs("lemma-gloss", "n", limit=20000), n, seed=0)
    return [p.anchor for p in pairs], [p.positive for p in pairs]


def _race(contenders: dict, batch, steps: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(2):  # warm-up: tokenizer caches, allocator
        for fn in contenders.values():
            fn(*batch)
    for _ in range(steps):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn(*batch)
            times[name].append(time.perf_counter() - t0)
    return {k: len(batch[0]) / statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=32)
    args = ap.parse_args(argv)
    os.environ.setdefault("MANTISSA_PROGRESS", "0")
    torch.manual_seed(0)
    batch = _batch(args.batch)
    rows = []
    for ours, theirs in (("infonce", "mnrl"), ("matryoshka:dims=32-64-128-256-384", "matryoshka"),
                         ("2dmse:dims=32-64-128-256", "2d")):
        eps = _race({"mantissa": _ours(ours, args.max_length), "st": _theirs(theirs, args.max_length)},
                    batch, args.steps)
        rows.append((ours.split(":")[0], theirs, eps["mantissa"], eps["st"], eps["mantissa"] / eps["st"]))
    own = _race({name: _ours(name, args.max_length) for name in ("infonce", "2dmse", "starbucks")},
                batch, args.steps)
    print(f"batch {args.batch}, max_length {args.max_length}, {args.steps} timed steps, "
          f"{torch.get_num_threads()} threads")
    print(f"{'ours':<12}{'sentence-transformers':<24}{'ours ex/s':>10}{'ST ex/s':>10}{'ratio':>8}")
    for r in rows:
        print(f"{r[0]:<12}{r[1]:<24}{r[2]:>10.1f}{r[3]:>10.1f}{r[4]:>8.2f}")
    for name in ("2dmse", "starbucks"):
        print(f"{name} step cost / infonce step cost: {own['infonce'] / own[name]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
