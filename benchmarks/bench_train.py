"""Training throughput of mantissa's Trainer + Transformer against a minimal plain-PyTorch loop.

Both train the identical model (same config, same initial weights) on the identical
batches (3-digit reversed addition, masked next-token loss, gradient clipping at 1.0,
AdamW). The peer is the shortest loop one would write by hand:
``loss = ce(model(x)[mask], y[mask]); loss.backward(); clip; opt.step(); opt.zero_grad()``
with ``torch.optim.AdamW`` at its defaults. Ours is ``Trainer.fit`` with everything on
(warm-up + cosine schedule, logging, token accuracy, progress hook; no checkpoints).
Rounds are interleaved so machine load hits both alike; the median is reported.

    python benchmarks/bench_train.py [--steps 60] [--rounds 3] [--d-model 128] [--threads 1]

Ratio = our tokens/s ÷ peer tokens/s (≥ 1.0 means the Trainer costs nothing extra).
On a shared machine timings are noisy: quote the ratio with that caveat.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F

from mantissa.models.transformer import Transformer, TransformerConfig
from mantissa.tasks import CharTokenizer, make_task
from mantissa.train import TensorBatches, TrainConfig, Trainer


def plain_loop(model: torch.nn.Module, batches: TensorBatches, steps: int, lr: float) -> None:
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.1)
    model.train()
    for step in range(steps):
        b = batches(step)
        idx, mask = b["idx"], b["mask"][:, 1:]
        logits = model(idx[:, :-1])
        loss = F.cross_entropy(logits[mask], idx[:, 1:][mask])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)


def ours(model: torch.nn.Module, batches: TensorBatches, steps: int, lr: float) -> None:
    cfg = TrainConfig(steps=steps, batch_size=batches.batch_size, lr=lr, warmup=10, log_every=10)
    Trainer(model, cfg, batches).fit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = CharTokenizer()
    ex = make_task("add", format="reverse").generate(4000, [(3, 3)], seed=0)
    data = tok.batch([(e.prompt, e.answer) for e in ex])
    batches = TensorBatches(data, args.batch, seed=0)
    tokens_per_step = args.batch * (data["idx"].shape[1] - 1)
    torch.manual_seed(0)
    base = Transformer(TransformerConfig(vocab_size=tok.vocab_size, d_model=args.d_model, n_layer=2,
                                         n_head=4, max_len=64))
    times: dict[str, list[float]] = {"plain PyTorch loop": [], "mantissa Trainer": []}
    fns = {"plain PyTorch loop": plain_loop, "mantissa Trainer": ours}
    for fn in fns.values():  # warm-up
        fn(copy.deepcopy(base), batches, 5, 1e-3)
    for _ in range(args.rounds):
        for name, fn in fns.items():
            model = copy.deepcopy(base)
            t0 = time.perf_counter()
            fn(model, batches, args.steps, 1e-3)
            times[name].append(time.perf_counter() - t0)
    peer = statistics.median(times["plain PyTorch loop"])
    print(f"{args.steps} steps x {tokens_per_step} tokens, d_model={args.d_model}, {args.threads} thread(s), "
          f"median of {args.rounds} interleaved rounds")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:20s} {args.steps * tokens_per_step / med:10.0f} tokens/s   ratio {peer / med:.2f}")


if __name__ == "__main__":
    main()
