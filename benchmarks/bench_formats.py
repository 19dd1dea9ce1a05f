"""Encode / quantize throughput of mantissa's formats against ml_dtypes and torch's native casts.

On ``--n`` float32 elements (16M by default) and for float8_e4m3fn, float8_e5m2,
float6_e2m3fn, float4_e2m1fn and fp:e3m2 (any ExMy), it times

* ``ml_dtypes``     — ``x.astype(ml_dtypes.<fmt>)`` (the encode peer);
* ``torch native``  — ``x.to(torch.float8_*)`` (fp8 only);
* ``ours encode``   — ``fmt.encode(x)`` (eager bit-level path), and ``compiled`` (``torch.compile``);
* ``ours quantize`` — ``fmt.quantize(x)`` (values on the grid);
* ``reference``     — the ulp-scaling reference path;

plus int8 per-channel quantization (ours vs ``torch.quantize_per_channel``) and a
plain memory copy as the physical limit. Every contender runs in the same process
with the same torch thread count, alternating repeat by repeat; the best of the
repeats is kept (on a shared, loaded machine the minimum filters out preemption).
Ratios are the result; absolute numbers on a shared machine are noisy.

    python benchmarks/bench_formats.py [--n 16777216] [--repeats 3] [--threads 1] [--compile]
"""

from __future__ import annotations

import argparse
import time

import ml_dtypes
import numpy as np
import torch

from mantissa import formats
from mantissa.formats import fast
from mantissa.quant import parse_quantizer

FLOATS = ("float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn", "fp:e3m2")
NATIVE = {"float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2}


def timeit(fns: dict, repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()  # warm up (and compile)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}


def contenders(name: str, x: torch.Tensor, xn: np.ndarray, compile_: bool) -> dict:
    fmt = formats.parse(name)
    fns = {"ours encode": lambda: fmt.encode(x), "ours quantize": lambda: fmt.quantize(x),
           "reference quantize": lambda: fmt.quantize_reference(x)}
    if hasattr(ml_dtypes, name):
        fns["ml_dtypes astype"] = lambda: xn.astype(getattr(ml_dtypes, name))
    else:  # an ExMy ml_dtypes lacks: its peer is ml_dtypes on the nearest format it has
        fns["ml_dtypes astype (float6_e3m2fn)"] = lambda: xn.astype(ml_dtypes.float6_e3m2fn)
    if name in NATIVE:
        fns["torch native cast"] = lambda: x.to(NATIVE[name])
    if compile_:
        enc, qua = fast.compiled_encode(fmt), fast.compiled_quantize(fmt)
        fns["ours encode compiled"] = lambda: enc(x)
        fns["ours quantize compiled"] = lambda: qua(x)
    return fns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1 << 24)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd kernels")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(args.n, generator=torch.Generator().manual_seed(0)) * 3
    xn = x.numpy()
    copy = timeit({"copy": lambda: x.clone()}, args.repeats)["copy"]
    print(f"{args.n} float32 elements, {args.threads} torch thread(s); memory copy: "
          f"{args.n / copy / 1e6:,.0f} M elem/s ({8 * args.n / copy / 1e9:.1f} GB/s read+write)\n")
    for name in FLOATS:
        t = timeit(contenders(name, x, xn, args.compile), args.repeats)
        peer = next(v for k, v in t.items() if k.startswith("ml_dtypes"))
        print(f"{name}")
        for k, v in t.items():
            extra = f"  = {peer / v:5.2f}x ml_dtypes"
            if name in NATIVE and k != "torch native cast":
                extra += f", {t['torch native cast'] / v:5.2f}x torch native"
            print(f"  {k:32s} {args.n / v / 1e6:9,.0f} M elem/s{extra}")
    w = x.reshape(4096, -1)
    q = parse_quantizer("int8:channel")
    scales = (w.abs().amax(1) / 127).double()
    zps = torch.zeros(w.shape[0], dtype=torch.int64)
    t = timeit({"ours int8:channel quantize": lambda: q.quantize(w),
                "torch.quantize_per_channel": lambda: torch.quantize_per_channel(w, scales, zps, 0,
                                                                                 torch.qint8)},
               args.repeats)
    print("int8 per-channel (4096 rows)")
    for k, v in t.items():
        print(f"  {k:32s} {args.n / v / 1e6:9,.0f} M elem/s  = "
              f"{t['torch.quantize_per_channel'] / v:5.2f}x torch")


if __name__ == "__main__":
    main()
