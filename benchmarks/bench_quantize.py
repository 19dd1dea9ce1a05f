"""Our recipes against torchao and bitsandbytes on the packaged MiniLM (CPU): latency and fidelity.

Same model, same texts, one process, contenders interleaved round by round (load on a
shared machine hits all alike); each round also times the float model. ``ratio`` is the
median over rounds of a contender's time / the float model's time in that round; ``min
ratio`` the ratio of the fastest rounds (the least disturbed by other work on the machine):

* ``fp32``                — the original model (the peer of every ratio);
* ``ours int8``           — ``quantize(model, "int8")``: W8A8 per channel / per token on ``torch._int_mm``;
* ``ours fp8``            — ``quantize(model, "fp8")``: e4m3 weights and per-token activations;
* ``ours w4-int``         — ``quantize(model, "w4-int")``: int4 weight-only, group 128;
* ``ours w4a8``           — ``"w4-int:act_bits=8"``: int4 weights (group 128) and int8 activations
  per token, one ``torch._int_mm`` per group; ``ours w4a8 channel``: ``group=0`` (one scale a row);
* ``ours int8-outlier``   — ``quantize(model, "int8-outlier")`` (LLM.int8, threshold 6.0);
* ``torchao int8 dyn``    — ``quantize_(model, Int8DynamicActivationInt8WeightConfig())``;
* ``torchao int8 wo``     — ``quantize_(model, Int8WeightOnlyConfig())``;
* ``torchao int4 wo``     — ``quantize_(model, IntxWeightOnlyConfig(torch.int4, PerGroup(128)))``
  (its CPU layout: int4 values unpacked to int8, dequantized per call);
* ``bnb Linear8bitLt``    — every Linear swapped for ``bnb.nn.Linear8bitLt(threshold=6.0)``
  (skipped with its error where bitsandbytes does not run on this CPU).

Fidelity: mean cosine of the sentence embeddings with the fp32 model's, on ``--texts``
WordNet glosses. Latency: one forward pass of the transformer on a batch of 32 glosses::

    python benchmarks/bench_quantize.py [--texts 256] [--rounds 15] [--threads 2] [--only 'ours int8' ...]
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch


def _torchao(config: Callable[[], Any]) -> Callable[[Any], Any]:
    def apply(model: Any) -> Any:
        import torchao.quantization as tq

        tq.quantize_(model.model, config())
        return model
    return apply


def _int4_config() -> Any:
    import torchao.quantization as tq

    return tq.IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=tq.PerGroup(128))


def _bnb(model: Any) -> Any:
    import bitsandbytes as bnb

    for name, mod in list(model.model.named_modules()):
        if type(mod) is torch.nn.Linear:
            new = bnb.nn.Linear8bitLt(mod.in_features, mod.out_features, mod.bias is not None,
                                      has_fp16_weights=False, threshold=6.0)
            new.weight = bnb.nn.Int8Params(mod.weight.data.clone(), requires_grad=False,
                                           has_fp16_weights=False)
            if mod.bias is not None:
                new.bias = torch.nn.Parameter(mod.bias.data.clone(), requires_grad=False)
            new = new.to("cpu")  # quantizes the weight
            parent, _, child = name.rpartition(".")
            setattr(model.model.get_submodule(parent) if parent else model.model, child, new)
    return model


def _ours(spec: str) -> Callable[[Any], Any]:
    def apply(model: Any) -> Any:
        from mantissa.quant import quantize

        return quantize(model, spec)
    return apply


def _contenders() -> dict[str, Callable[[Any], Any]]:
    import torchao.quantization as tq

    return {
        "fp32": lambda m: m,
        "ours int8": _ours("int8"),
        "ours fp8": _ours("fp8"),
        "ours w4-int": _ours("w4-int"),
        "ours w4a8": _ours("w4-int:act_bits=8"),
        "ours w4a8 channel": _ours("w4-int:group=0,act_bits=8"),
        "ours int8-outlier": _ours("int8-outlier"),
        "torchao int8 dyn": _torchao(tq.Int8DynamicActivationInt8WeightConfig),
        "torchao int8 wo": _torchao(tq.Int8WeightOnlyConfig),
        "torchao int4 wo": _torchao(_int4_config),
        "bnb Linear8bitLt": _bnb,
    }


def _build(base: Any, only: list[str] | None) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for name, make in _contenders().items():
        if only and name != "fp32" and name not in only:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                models[name] = make(copy.deepcopy(base))
            models[name].name = f"bench-{name}"
        except Exception as exc:  # a peer that does not install or run on this CPU
            print(f"{name:<20} skipped: {type(exc).__name__}: {str(exc)[:160]}")
    return models


@torch.no_grad()
def _time(models: dict[str, Any], batch: dict[str, torch.Tensor], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {n: [] for n in models}
    for m in models.values():
        m.model(**batch)  # warm-up (caches, first-call paths)
    for r in range(rounds):
        order = list(models) if r % 2 == 0 else list(models)[::-1]
        for n in order:
            t0 = time.perf_counter()
            models[n].model(**batch)
            times[n].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", nargs="+", default=None, help="contenders to run (fp32 always runs)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--peers", default=None, help="a folder holding torchao / bitsandbytes (pip --target), "
                                                  "when they are not installed (the bench extra has them)")
    args = ap.parse_args()
    if args.peers:
        sys.path.insert(0, args.peers)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # peers' notices; bitsandbytes logs its float16 cast on every call
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    from mantissa.data import load_minilm
    from mantissa.quant.evaluate import evaluation_corpus

    texts = evaluation_corpus(args.texts)
    base = load_minilm()
    ref = base.encode(texts)
    models = _build(base, args.only)
    batch = base.tokenize(texts[:32])
    times = _time(models, batch, args.rounds)
    fp32 = times["fp32"]
    load = os.getloadavg()[0]
    print(f"{'contender':<20} {'mean cos':>9} {'median ms':>10} {'min ms':>8} {'ratio':>7} {'min ratio':>9}"
          f"   (batch of 32 x "
          f"{batch['input_ids'].shape[1]} tokens, {torch.get_num_threads()} threads, {args.rounds} rounds, "
          f"{os.cpu_count()} cores, load average {load:.1f})")
    for n, m in models.items():
        cos = float((m.encode(texts) * ref).sum(1).mean())
        ratio = statistics.median(t / f for t, f in zip(times[n], fp32))
        print(f"{n:<20} {cos:9.5f} {1000 * statistics.median(times[n]):10.1f} {1000 * min(times[n]):8.1f} "
              f"{ratio:6.2f}x {min(times[n]) / min(fp32):8.2f}x")


if __name__ == "__main__":
    main()
