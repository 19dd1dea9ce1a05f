"""Speed of MemoryFormer's :class:`~mantissa.nn.memory_layer.MemoryLinear` against ``nn.Linear``.

At a transformer FFN shape (default 2048 tokens × 256 → 1024) this times, interleaved round by
round in one process (the median of ``--rounds`` is reported, as a ratio to the dense peer):

* ``dense``  — ``nn.Linear(d_in, d_out)`` forward (the peer);
* ``memory`` — ``MemoryLinear(d_in, d_out, tau)`` forward: sign hash, bucket weights, and an
  ``embedding_bag`` gather-sum of ``d_in/tau`` table rows per token;
* ``+ backward`` for both (training step cost).

Its counted FLOPs are ~``1/tau`` of the dense layer's; on a CPU the gather is memory-bound, so
the wall-clock ratio is what this measures. Single thread by default (``--threads``); timings on
a shared machine are noisy, quote the ratios with that caveat.

    python benchmarks/bench_memory_layer.py [--tokens 2048] [--d-in 256] [--d-out 1024] [--tau 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mantissa.nn.memory_layer import MemoryLinear, dense_flops


def _time(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--d-in", type=int, default=256)
    ap.add_argument("--d-out", type=int, default=1024)
    ap.add_argument("--tau", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dense, mem = nn.Linear(a.d_in, a.d_out), MemoryLinear(a.d_in, a.d_out, a.tau)
    x = torch.randn(a.tokens, a.d_in)
    xg = x.clone().requires_grad_()

    def fwd(m):
        return lambda: m(x)

    def fwd_bwd(m):
        return lambda: m(xg).sum().backward()

    cases = {"dense": fwd(dense), "memory": fwd(mem), "dense + backward": fwd_bwd(dense),
             "memory + backward": fwd_bwd(mem)}
    for fn in cases.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(a.rounds):  # interleaved so machine load hits every contender alike
        for k, fn in cases.items():
            times[k] += _time(fn, 1)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{a.tokens} tokens × {a.d_in} → {a.d_out}, tau={a.tau}, {a.threads} thread(s); "
          f"FLOPs memory/dense = {mem.flops(a.tokens) / dense_flops(a.d_in, a.d_out, a.tokens):.3f}")
    for k, v in med.items():
        peer = med["dense + backward" if "backward" in k else "dense"]
        print(f"  {k:18s} {1000 * v:8.2f} ms   ×{v / peer:.2f} of dense")


if __name__ == "__main__":
    main()
