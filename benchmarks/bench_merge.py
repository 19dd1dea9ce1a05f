"""Merging throughput on a real-size state dict: mantissa's merge methods vs the
minimal work of one pass over the weights.

Base = the packaged all-MiniLM-L6-v2 state dict (22.7 M parameters); three
"fine-tuned" copies = base + small Gaussian task vectors. The peer is the least
any merge must do: ``base + sum_t ft_t - T * base`` as fused ``torch`` adds over
the same tensors (one read of every input, one write). Reports seconds per merge
and the ratio ours / peer for ``average``, ``task-arithmetic``, ``ties:k=0.2`` and
one aTLAS objective step (``combine`` with per-block coefficients + backward
through the coefficients, i.e. the per-step cost of a learned merge).
Contenders alternate (median of ``--repeats``); on a shared machine the
numbers are noisy, the ratios less so.

    python benchmarks/bench_merge.py [--repeats 5] [--tasks 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids fights on shared cores)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from mantissa.data import load_minilm
    from mantissa.merge import combine, merge, task_vectors

    base = {k: v.detach().clone() for k, v in load_minilm().model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    fts = [{k: v + 1e-3 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
            for k, v in base.items()} for _ in range(args.tasks)]
    n_params = sum(v.numel() for v in base.values() if v.is_floating_point())

    def peer() -> None:
        for k, v in base.items():
            if v.is_floating_point():
                acc = v * (1 - len(fts))
                for ft in fts:
                    acc.add_(ft[k])

    tvs = task_vectors(base, fts)
    lam = torch.full((len(fts), len(tvs[0])), 0.3, requires_grad=True)
    keys = list(tvs[0])

    def atlas_step() -> None:
        coeffs = [{k: lam[t, j] for j, k in enumerate(keys)} for t in range(len(fts))]
        merged = combine(base, tvs, coeffs)
        loss = sum((merged[k] ** 2).mean() for k in keys[:4])
        loss.backward()

    contenders = {
        "peer (fused adds)": peer,
        "average": lambda: merge("average", base, fts),
        "task-arithmetic": lambda: merge("task-arithmetic:scale=0.3", base, fts),
        "ties:k=0.2": lambda: merge("ties:k=0.2", base, fts),
        "aTLAS step (precomputed task vectors)": atlas_step,
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(args.repeats):  # alternate so that load hits every contender alike
        for name, fn in contenders.items():
            times[name] += _timed(fn, 1)
    ref = statistics.median(times["peer (fused adds)"])
    print(f"state dict: {n_params / 1e6:.1f} M float parameters, {len(fts)} fine-tuned models, "
          f"torch threads {torch.get_num_threads()}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:40s} {med * 1e3:9.1f} ms   ratio to peer {med / ref:6.2f}")


if __name__ == "__main__":
    main()
