"""Our int8 recipes against torchao and bitsandbytes on the packaged MiniLM (CPU).

Same model, same texts, same metrics, one process, contenders interleaved round
by round (machine load hits all alike; medians reported):

* ``fp32``                 — the original model (latency peer of every ratio);
* ``ours int8``            — ``quantize(model, "int8")`` (W8A8, per-channel / per-token);
* ``ours int8-outlier``    — ``quantize(model, "int8-outlier")`` (LLM.int8, threshold 6.0);
* ``torchao int8 dyn``     — ``quantize_(model, Int8DynamicActivationInt8WeightConfig())``;
* ``torchao int8 wo``      — ``quantize_(model, Int8WeightOnlyConfig())``;
* ``bnb Linear8bitLt``     — every Linear swapped for ``bnb.nn.Linear8bitLt(threshold=6.0)``.

Fidelity: mean cosine of the sentence embeddings with the fp32 model's, on
``--texts`` WordNet glosses. Latency: one forward pass on a batch of 32.

torchao and bitsandbytes are not part of mantissa's environment (transformers
imports torchao whenever it is installed, which slows every model load and
prints CUDA-library warnings); install them aside and point ``--peers`` there::

    pip install --no-deps --target /tmp/peers torchao bitsandbytes
    python benchmarks/bench_quantize.py --peers /tmp/peers [--texts 256] [--rounds 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch


def _torchao(config_name: str) -> Callable[[Any], Any]:
    def apply(model: Any) -> Any:
        import torchao.quantization as tq

        tq.quantize_(model.model, getattr(tq, config_name)())
        return model
    return apply


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


CONTENDERS: dict[str, Callable[[Any], Any]] = {
    "fp32": lambda m: m,
    "ours int8": _ours("int8"),
    "ours int8-outlier": _ours("int8-outlier"),
    "torchao int8 dyn": _torchao("Int8DynamicActivationInt8WeightConfig"),
    "torchao int8 wo": _torchao("Int8WeightOnlyConfig"),
    "bnb Linear8bitLt": _bnb,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--peers", default=None, help="folder holding torchao / bitsandbytes (pip --target)")
    args = ap.parse_args()
    if args.peers:
        sys.path.insert(0, args.peers)
    from mantissa.data import load_minilm
    from mantissa.quant.evaluate import evaluation_corpus

    texts = evaluation_corpus(args.texts)
    base = load_minilm()
    ref = base.encode(texts)
    models: dict[str, Any] = {}
    for name, make in CONTENDERS.items():
        try:
            models[name] = make(copy.deepcopy(base))
            models[name].name = f"bench-{name}"
        except Exception as exc:  # a peer that does not install or run on this CPU
            print(f"{name:<20} skipped: {type(exc).__name__}: {str(exc)[:120]}")
    batch = base.tokenize(texts[:32])
    times: dict[str, list[float]] = {n: [] for n in models}
    with torch.no_grad():
        for m in models.values():
            m.model(**batch)  # warm-up
        for _ in range(args.rounds):
            for n, m in models.items():
                t0 = time.perf_counter()
                m.model(**batch)
                times[n].append(time.perf_counter() - t0)
    base_ms = 1000 * statistics.median(times["fp32"])
    print(f"{'contender':<20} {'mean cos':>9} {'latency ms':>11} {'vs fp32':>8}   (batch of 32, "
          f"{torch.get_num_threads()} threads, median of {args.rounds})")
    for n, m in models.items():
        cos = float((m.encode(texts) * ref).sum(1).mean())
        ms = 1000 * statistics.median(times[n])
        print(f"{n:<20} {cos:9.5f} {ms:11.1f} {ms / base_ms:7.2f}x")


if __name__ == "__main__":
    main()
