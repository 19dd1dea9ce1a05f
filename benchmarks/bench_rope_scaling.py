"""Cost of RoPE scaling (mantissa.nn.rope_scaling) against plain RoPE in the same run.

CLEX claims "negligible impact on training and inference latency". This times, on one
small char-LM transformer, interleaved round by round (machine load hits every contender
alike; the median of ``--rounds`` is reported):

* a training step (forward + backward) at the training length ``L`` with ``rope`` (the
  peer) and ``clex`` (which integrates its ODE up to the drawn factor ``t`` each step);
* an inference forward at ``4L`` with ``rope`` (peer), ``rope-pi``, ``rope-ntk`` and ``clex``
  (ODE integrated to ``t = 4`` on every call; nothing cached).

    python benchmarks/bench_rope_scaling.py [--length 64] [--d-model 64] [--rounds 7]

Single thread by default (``--threads``); timings on a shared machine are noisy, quote the
ratios with that caveat.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from mantissa.models import Transformer, TransformerConfig


def _model(pe: str, args: argparse.Namespace) -> Transformer:
    torch.manual_seed(0)
    return Transformer(TransformerConfig(vocab_size=96, n_layer=args.n_layer, n_head=2, d_model=args.d_model,
                                         max_len=args.length, pe=pe))


def _train_step(pe: str, args: argparse.Namespace) -> Callable[[], None]:
    model = _model(pe, args).train()
    x = torch.randint(0, 96, (args.batch, args.length))

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x).logsumexp(-1).mean().backward()
    return step


def _infer(pe: str, args: argparse.Namespace) -> Callable[[], None]:
    model = _model(pe, args).eval()
    x = torch.randint(0, 96, (args.batch, 4 * args.length))

    def fwd() -> None:
        with torch.no_grad():
            model(x)
    return fwd


def _time(fn: Callable[[], None], reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def _race(contenders: dict[str, Callable[[], None]], rounds: int, reps: int) -> dict[str, float]:
    for fn in contenders.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(_time(fn, reps))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-factor", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clex = f"clex:max_factor={args.max_factor}"
    train = _race({"rope": _train_step("rope", args), "clex": _train_step(clex, args)},
                  args.rounds, args.reps)
    infer = _race({"rope": _infer("rope", args), "rope-pi": _infer("rope-pi:factor=4", args),
                   "rope-ntk": _infer("rope-ntk:factor=4", args), "clex": _infer(f"{clex},t=4", args)},
                  args.rounds, args.reps)
    print(f"L={args.length}, d_model={args.d_model}, {args.n_layer} layers, batch {args.batch}, "
          f"{args.threads} thread(s); median of {args.rounds} rounds")
    for title, res in ((f"training step at L (t drawn from 1..{args.max_factor})", train),
                       ("inference forward at 4L", infer)):
        print(title)
        for name, sec in res.items():
            print(f"  {name:10s} {1000 * sec:8.2f} ms   x{sec / res['rope']:.2f} vs rope")


if __name__ == "__main__":
    main()
