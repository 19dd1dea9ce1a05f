"""Quantize / encode / decode throughput of mantissa's formats against ml_dtypes, torch and memcpy.

On ``--n`` float32 elements (8M by default) and for float8_e4m3fn, float8_e5m2,
float6_e2m3fn, float4_e2m1fn and fp:e3m2 (any ExMy), it times in one process:

* ``ours quantize``   — ``fmt.quantize(x)``, the default path (fp32 → format → fp32);
* ``ours encode``     — ``fmt.encode(x)`` (codes), and ``ours decode`` (codes → fp32);
* ``eager quantize``  — the torch-op path the fused kernel replaced (``fast.quantize_rne``);
* ``ml_dtypes round trip`` — ``x.astype(ml_dtypes.<fmt>).astype(float32)`` (the quantize peer),
  ``ml_dtypes astype`` (the encode peer) and ``ml_dtypes decode`` (codes to float32);
* ``torch round trip`` / ``torch cast`` / ``torch decode`` — ``x.to(torch.float8_*)`` and back
  (fp8 only);

plus int8 and MX (mxfp8_e4m3, mxfp4) quantize and encode against their eager paths, and a memory copy
into a preallocated tensor (``out.copy_(x)``: read + write, nothing allocated in the timed
region) as the bandwidth reference. ``kernel into buffer`` times the quantize kernel alone,
writing into a preallocated tensor: the gap to ``ours quantize`` is the cost of a fresh output
tensor (page faults), which ``clone`` shows for a plain copy. Contenders alternate repeat by
repeat and the best repeat is kept. Ratios are the result; absolute numbers on a shared
machine are noisy. Finally, the first ``quantize`` call in a fresh process is timed (the
kernels load from the cache that ``make install`` fills).

    python benchmarks/bench_formats.py [--n 8388608] [--repeats 7] [--threads 2] [--compile]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import time

import ml_dtypes
import numpy as np
import torch

from mantissa import formats
from mantissa.formats import fast, native

FLOATS = ("float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn", "fp:e3m2")
NATIVE = {"float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2}
FIRST_CALL = """
import time, torch
from mantissa import formats
x = torch.randn(1 << 20)
t = time.perf_counter(); formats.get("float8_e4m3fn").quantize(x); first = time.perf_counter() - t
t = time.perf_counter(); formats.get("float8_e4m3fn").quantize(x); print(first, time.perf_counter() - t)
"""


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
    fmt = formats.get(name)
    codes = fmt.encode(x)
    fns = {"ours quantize": lambda: fmt.quantize(x), "ours encode": lambda: fmt.encode(x),
           "ours decode": lambda: fmt.decode(codes), "eager quantize": lambda: fast.quantize_rne(fmt, x)}
    if native.lib() is not None:  # the kernel alone, writing into a preallocated tensor (no page faults)
        buf, params = torch.empty_like(x), ctypes.byref(native.float_params(fmt))
        fns["kernel into buffer"] = lambda: native.lib().mt_quantize_f32(
            x.data_ptr(), buf.data_ptr(), x.numel(), params, torch.get_num_threads())
    peer = getattr(ml_dtypes, name, ml_dtypes.float6_e3m2fn)  # an ExMy ml_dtypes lacks: its nearest
    peer_codes = xn.astype(peer)
    fns["ml_dtypes round trip"] = lambda: xn.astype(peer).astype(np.float32)
    fns["ml_dtypes astype"] = lambda: xn.astype(peer)
    fns["ml_dtypes decode"] = lambda: peer_codes.astype(np.float32)
    if name in NATIVE:
        torch_codes = x.to(NATIVE[name])
        fns["torch round trip"] = lambda: x.to(NATIVE[name]).float()
        fns["torch cast"] = lambda: x.to(NATIVE[name])
        fns["torch decode"] = lambda: torch_codes.float()
    if compile_:
        enc, qua = fast.compiled_encode(fmt), fast.compiled_quantize(fmt)
        fns["compiled encode"] = lambda: enc(x)
        fns["compiled quantize"] = lambda: qua(x)
    return fns


def ratios(k: str, t: dict[str, float], copy: float) -> str:
    """Against the peer doing the same job: round trip (quantize), cast (encode) or decode."""
    job = "encode" if "encode" in k else "decode" if "decode" in k else "quantize"
    peer = {"encode": "ml_dtypes astype", "decode": "ml_dtypes decode"}.get(job, "ml_dtypes round trip")
    out = f"{t[peer] / t[k]:6.2f}x ml_dtypes"
    torch_peer = {"encode": "torch cast", "decode": "torch decode"}.get(job, "torch round trip")
    if torch_peer in t:
        out += f", {t[torch_peer] / t[k]:5.2f}x torch"
    return out + f", {copy / t[k]:5.2f}x memcpy"


def report(title: str, t: dict[str, float], n: int, copy: float) -> None:
    print(title)
    for k, v in t.items():
        ours = k.startswith(("ours", "eager", "compiled", "kernel"))
        extra = "  = " + ratios(k, t, copy) if ours else ""
        print(f"  {k:24s} {n / v / 1e6:9,.0f} M elem/s{extra}")


def eager(fn):
    """``fn`` with the fused kernels switched off (the torch-op paths)."""
    def run():
        applies = native.applies
        native.applies = lambda x: False
        try:
            return fn()
        finally:
            native.applies = applies
    return run


def first_call() -> tuple[float, float]:
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    cmd = [sys.executable, "-c", FIRST_CALL]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    first, second = map(float, out.stdout.split())
    return first, second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1 << 23)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd kernels")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(args.n, generator=torch.Generator().manual_seed(0)) * 3
    xn, buf = x.numpy(), torch.empty_like(x)
    t = timeit({"copy": lambda: buf.copy_(x), "clone": lambda: x.clone()}, args.repeats)
    copy = t["copy"]
    print(f"{args.n} float32 elements, {args.threads} thread(s); kernels: "
          f"{'native (fused)' if native.lib() is not None else 'eager (no compiler)'}; memory copy into a "
          f"preallocated tensor: {args.n / copy / 1e6:,.0f} M elem/s ({8 * args.n / copy / 1e9:.1f} GB/s "
          f"read+write); into a fresh tensor (clone): {args.n / t['clone'] / 1e6:,.0f} M elem/s\n")
    for name in FLOATS:
        report(name, timeit(contenders(name, x, xn, args.compile), args.repeats), args.n, copy)
    for name in ("int8", "mxfp8_e4m3", "mxfp4"):
        fmt = formats.get(name)
        t = timeit({"ours quantize": lambda f=fmt: f.quantize(x), "ours encode": lambda f=fmt: f.encode(x),
                    "eager quantize": eager(lambda f=fmt: f.quantize(x))}, args.repeats)
        print(name)
        for k, v in t.items():
            print(f"  {k:24s} {args.n / v / 1e6:9,.0f} M elem/s  = {copy / v:5.2f}x memcpy, "
                  f"{t['eager quantize'] / v:5.2f}x eager")
    first, second = first_call()
    print(f"\nfirst quantize call in a fresh process (1M elements): {first * 1e3:.1f} ms "
          f"(second call {second * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
