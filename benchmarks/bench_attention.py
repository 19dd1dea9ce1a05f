"""Speed of the linear/sub-quadratic attention kernels against softmax attention by length.

One causal self-attention forward (``--batch`` × ``--heads`` heads × ``--dim`` dims) per
kernel and length, interleaved round by round in one process (machine load hits every
contender alike); the median over ``--rounds`` of the thread's CPU time is reported (wall
time on a shared machine also counts the waits for a core), with each kernel's ratio to
``softmax`` (``F.scaled_dot_product_attention``) at the same length:

* ``softmax``             — the peer; O(T²·D);
* ``ecoformer``           — :class:`mantissa.nn.ecoformer.EcoFormerAttention` (hash fitted
  once on a short batch, then hashing + chunked causal linear attention); O(T·(m+b)·D);
* ``ecoformer noncausal`` — the same codes, non-causal form ``H(Q)(H(K)ᵀV)``;
* ``combiner``            — :func:`mantissa.nn.combiner.combiner_attention`; O(T·√T·D).

    python benchmarks/bench_attention.py [--lengths 512,2048,8192] [--rounds 5] [--bits 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mantissa import runtime
from mantissa.nn import ATTENTION
from mantissa.nn.ecoformer import EcoFormerAttention


def _kernels(bits: int, heads: int, dim: int) -> dict:
    eco = EcoFormerAttention(bits=bits, anchors=20, iters=20).eval()
    short = torch.randn(1, heads, 64, dim)
    eco.fit(short, short, causal=True)
    return {"softmax": ATTENTION.get("softmax"), "ecoformer": eco,
            "ecoformer noncausal": lambda q, k, v: eco(q, k, v, causal=False),
            "combiner": ATTENTION.get("combiner")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lengths", default="512,2048,8192")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--bits", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    with runtime.threads(args.threads), torch.no_grad():
        kernels = _kernels(args.bits, args.heads, args.dim)
        print(f"{'T':>6} {'kernel':<20} {'cpu ms':>9} {'x softmax':>9}")
        for t in lengths:
            q, k, v = (torch.randn(args.batch, args.heads, t, args.dim) for _ in range(3))
            times: dict[str, list[float]] = {name: [] for name in kernels}
            for fn in kernels.values():
                fn(q, k, v)  # warm-up
            for _ in range(args.rounds):
                for name, fn in kernels.items():
                    t0 = time.thread_time()
                    fn(q, k, v)
                    times[name].append(time.thread_time() - t0)
            base = statistics.median(times["softmax"])
            for name, ts in times.items():
                med = statistics.median(ts)
                print(f"{t:>6} {name:<20} {1000 * med:>9.2f} {med / base:>9.3f}")


if __name__ == "__main__":
    main()
