"""Speed of mantissa.arith's matmuls against fp32 ``torch.matmul`` (and bitsandbytes' int8).

At a transformer-sized shape (tokens × d_model @ d_model × d_ff, default 128 × 384 @ 384 × 1536,
MiniLM's FFN) this times, in one process and interleaved round by round (so machine load
hits every contender alike; the median of ``--rounds`` is reported):

* ``fp32``            — ``x @ W.T`` (the peer every ratio is against);
* ``int8 _int_mm``    — :func:`mantissa.arith.int8_matmul` on pre-quantized int8 operands;
* ``LLM.int8 (ours)`` — :func:`mantissa.arith.int8_matmul_with_outliers` end to end
  (outlier search, quantization, int8 matmul, fp32 outlier part);
* ``bitsandbytes``    — ``bnb.matmul`` with ``threshold=6.0`` on the same inputs, when it
  installs and runs on this CPU (its output is compared with ours);
* ``L-Mul``           — :func:`mantissa.arith.lmul_matmul`: its exact sum-of-matmuls form
  (``2^m + 3`` fp32 GEMMs) and the element-wise integer emulation (``decompose=False``, it
  materialises every product; timed on a slice and scaled up). On hardware L-Mul is one
  integer adder per product; neither is that;
* ``LUT``             — :func:`mantissa.arith.lut_matmul` of a 3-bit BCQ weight (tables of
  256 sums per 8 inputs, ``embedding_bag`` query-adds; emulated, so it trails fp32 GEMM);
* ``shift``           — :func:`mantissa.arith.shift_matmul` (ldexp + add, emulated).

    python benchmarks/bench_arith.py [--tokens 128] [--d-in 384] [--d-out 1536] [--rounds 5]

Single thread by default (``--threads``) to be comparable on a shared machine; timings
there are noisy, quote the ratios with that caveat.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mantissa.arith import (
    bcq_quantize,
    int8_matmul,
    int8_matmul_with_outliers,
    lmul_matmul,
    lut_matmul,
    quantize_absmax,
    shift_matmul,
    shift_quantize,
)


def _bnb(x: torch.Tensor, w: torch.Tensor):
    """bitsandbytes' LLM.int8 matmul on CPU, or None if it does not run here."""
    try:
        import bitsandbytes as bnb

        state = bnb.MatmulLtState()
        state.threshold = 6.0
        state.has_fp16_weights = True
        xh, wh = x.half(), w.half()
        bnb.matmul(xh, wh, state=state)  # warm-up / capability check
        return lambda: bnb.matmul(xh, wh, state=state)
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        print(f"bitsandbytes: not run ({type(exc).__name__}: {str(exc)[:120]})")
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--d-in", type=int, default=384)
    ap.add_argument("--d-out", type=int, default=1536)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.tokens, args.d_in)
    x[:, :2] *= 10  # two outlier feature columns, as LLM.int8 expects
    w = torch.randn(args.d_out, args.d_in) * 0.05
    xq, _ = quantize_absmax(x, 1)
    wq, _ = quantize_absmax(w, 1)
    wqt = wq.t().contiguous()
    bcq = bcq_quantize(w, 3, 128, iters=5)
    sign, exp = shift_quantize(w)
    lm_rows = max(1, args.tokens // 32)  # L-Mul emulation is slow: time a slice, scale up
    contenders = {
        "fp32": lambda: x @ w.t(),
        "int8 _int_mm": lambda: int8_matmul(xq, wqt),
        "LLM.int8 (ours)": lambda: int8_matmul_with_outliers(x, w, 6.0),
        "L-Mul m=3 (sum of GEMMs)": lambda: lmul_matmul(x, w.t(), 3),
        f"L-Mul m=3 elementwise (x{args.tokens // lm_rows})":
            lambda: lmul_matmul(x[:lm_rows], w.t(), 3, decompose=False),
        "LUT 3-bit BCQ": lambda: lut_matmul(x, bcq),
        "shift (pow2 W)": lambda: shift_matmul(x, sign, exp),
    }
    scale = {f"L-Mul m=3 elementwise (x{args.tokens // lm_rows})": args.tokens / lm_rows}
    bnb = _bnb(x, w)
    if bnb is not None:
        contenders["bitsandbytes int8"] = bnb
        ours = int8_matmul_with_outliers(x.half().float(), w.half().float(), 6.0)[0]
        theirs = bnb().float()
        print(f"bitsandbytes vs ours: max |diff| / max |y| = "
              f"{float((ours - theirs).abs().max() / ours.abs().max()):.2e}")
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():
        fn()  # warm-up
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * scale.get(name, 1.0))
    base = statistics.median(times["fp32"])
    print(f"shape: ({args.tokens} x {args.d_in}) @ ({args.d_in} x {args.d_out}), "
          f"{args.threads} thread(s), median of {args.rounds} rounds")
    print(f"{'contender':<24}{'ms':>12}{'time / fp32':>14}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<24}{med * 1e3:>12.3f}{med / base:>14.3g}")


if __name__ == "__main__":
    main()
