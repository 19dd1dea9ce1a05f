"""Lookup cost of the compressed embedding tables, as ratios against PyTorch's ``nn.Embedding``.

The paper behind ``vector-compression`` (Zhang et al. 2024) weighs memory savings
against the extra compute of each method's lookup. For each method at the same
fraction of the full table's bytes (``--budget``, default 0.25) this measures, on
a batch of Zipf-distributed ids (the frequency profile of words):

* ``train``: forward + backward of ``table(ids).square().sum()``;
* ``serve``: forward only under ``torch.no_grad`` after ``finalize()``;

and reports each time divided by ``nn.Embedding``'s for the same ids (the peer:
a dense float32 table of the full size). Contenders alternate round by round
(median of ``--rounds``), so load on a shared machine hits everyone alike; still
quote the ratios as noisy there.

    python benchmarks/bench_embed_tables.py [--n 27640] [--dim 64] [--ids 2560] [--budget 0.25]
                                            [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mantissa.tables import TABLES, table_for_budget


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=27640)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--ids", type=int, default=2560)
    ap.add_argument("--budget", type=float, default=0.25)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    zipf = 1 / torch.arange(1, args.n + 1, dtype=torch.float64)
    ids = torch.multinomial(zipf, args.ids, replacement=True, generator=g)

    peer = nn.Embedding(args.n, args.dim)
    tables = {"nn.Embedding": peer}
    for name in TABLES.list():
        frac = 1.0 if name == "full" else args.budget
        tables[name] = table_for_budget(name, args.n, args.dim, frac)

    def train_step(t):
        return lambda: t(ids).square().sum().backward()

    def serve_step(t):
        def run():
            with torch.no_grad():
                t(ids)
        return run

    train = {k: [] for k in tables}
    for _ in range(2):  # warm-up
        for t in tables.values():
            train_step(t)()
    for _ in range(args.rounds):
        for k, t in tables.items():
            t.zero_grad(set_to_none=True)  # as an optimizer step would; not timed
            train[k].append(_timed(train_step(t)))
    for k, t in tables.items():
        if k != "nn.Embedding":
            t.finalize()
    serve = {k: [] for k in tables}
    for _ in range(args.rounds):
        for k, t in tables.items():
            serve[k].append(_timed(serve_step(t)))

    base_t, base_s = statistics.median(train["nn.Embedding"]), statistics.median(serve["nn.Embedding"])
    print(f"{args.ids} Zipf ids into a {args.n} x {args.dim} table, {args.threads} thread(s), "
          f"budget {args.budget:g} of the full table's bytes")
    print(f"nn.Embedding: train {base_t * 1e3:.2f} ms, serve {base_s * 1e3:.3f} ms")
    print(f"{'method':<12} {'spec':<28} {'memory':>7} {'train ms':>9} {'ratio':>7} {'serve ms':>9} "
          f"{'ratio':>7}")
    for k, t in tables.items():
        if k == "nn.Embedding":
            continue
        tt, ts = statistics.median(train[k]), statistics.median(serve[k])
        mem = t.memory_bytes() / t.full_bytes()
        print(f"{k:<12} {t.spec:<28} {mem:7.3f} {tt * 1e3:9.2f} {tt / base_t:7.2f} {ts * 1e3:9.3f} "
              f"{ts / base_s:7.2f}")


if __name__ == "__main__":
    main()
