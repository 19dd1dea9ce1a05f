"""Decoding speed of HNeRV against NeRV at equal size (frames per second).

HNeRV (Chen et al. 2023) claims faster decoding than NeRV-style models because its decoder
starts from a stored tiny embedding and spends its parameters evenly across the upsampling
stages. This times the decoders only (HNeRV: ``decode`` of stored embeddings; NeRV: the
positional encoding, MLP and decoder from frame indices), untrained weights (speed does not
depend on their values), interleaved round by round; the median of ``--rounds`` is reported.

    python benchmarks/bench_hnerv.py [--size 64] [--strides 4,2,2,2] [--width 32] [--frames 128]

Single thread by default (``--threads``); on a shared machine quote ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mantissa.models.nerv import HNeRV, NeRV, match_nerv_width


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--strides", default="4,2,2,2")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--emb-dim", type=int, default=16)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    strides, hw = tuple(int(s) for s in args.strides.split(",")), (args.size, args.size)
    hnerv = HNeRV(hw, strides, args.width, args.emb_dim).eval()
    size = hnerv.stored_params(args.frames)
    nerv = NeRV(hw, strides, match_nerv_width(size, args.frames, hw, strides)).eval()
    with torch.no_grad():
        emb = hnerv.embed(torch.rand(args.frames, 1, *hw))
    idx = torch.arange(args.frames)
    runs = {
        "hnerv": lambda i: hnerv.decode(emb[i:i + args.batch]),
        "nerv": lambda i: nerv(None, idx[i:i + args.batch], args.frames),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    with torch.no_grad():
        for _ in range(args.rounds):
            for name, fn in runs.items():
                t0 = time.perf_counter()
                for i in range(0, args.frames, args.batch):
                    fn(i)
                times[name].append(time.perf_counter() - t0)
    print(f"frames {args.frames} of {args.size}x{args.size}; sizes: HNeRV {size}, NeRV "
          f"{nerv.stored_params(args.frames)} parameters; {args.threads} thread(s)")
    fps = {k: args.frames / statistics.median(v) for k, v in times.items()}
    for name, value in fps.items():
        print(f"{name:6s} {value:9.1f} frames/s")
    print(f"HNeRV / NeRV decoding speed: {fps['hnerv'] / fps['nerv']:.2f}x")


if __name__ == "__main__":
    main()
