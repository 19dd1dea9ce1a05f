"""Lossless compression with probabilistic circuits (paper #18): an HCLT learned on
binarized digits, coded with its exact conditionals by an arithmetic coder,
round-trips exactly and needs fewer bits per dimension than a fully factorized
learned entropy model coded by the same arithmetic coder.

Data: scikit-learn digits, pixels > ``threshold`` (of 0..16) set to 1; the models
are fit on the training split and the test split is compressed. The judged
baseline is the strongest fair classical one: a fully factorized model
(:class:`mantissa.compress.factorized.FactorizedBernoulli`, one learned Bernoulli
per pixel, add-1/2 estimate) coded with the same arithmetic coder; the PC must
code at least ``max_ratio_to_factorized`` below it. The standard library's zlib
(gzip's DEFLATE, level 9) and bz2 (level 9) on the same bits, each given the
better of two byte layouts (8 pixels per byte, or one byte per pixel), are
reported, not judged (the factorized model already beats them).

Gates: the PC stream round-trips exactly, and the arithmetic coder's output is
within ``max_coding_overhead_bpd`` of the model's ``-log2 p``.
"""

from __future__ import annotations

import bz2
import csv
import io
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from mantissa import plot
from mantissa.compress import HCLT, HCLTConfig, compress, decompress
from mantissa.compress.factorized import FactorizedBernoulli
from mantissa.data import load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import atomic_write

Config = card_config(__name__)  # the card's [config]: pc_compression.toml


def _binarized(cfg: Config, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    train, test = load_sklearn("digits").split(cfg.test_fraction, seed=seed)
    binar = lambda d: (cfg.threshold < d.X).to(torch.float64)  # noqa: E731
    xte = binar(test)
    return binar(train), xte[: cfg.max_test] if cfg.max_test else xte


def stdlib_bits_per_dim(x: torch.Tensor) -> dict[str, float]:
    """Best-layout zlib/bz2 sizes of the bits of ``x`` in bits per dimension."""
    bits = x.numpy().astype(np.uint8)
    layouts = {"packed": np.packbits(bits.ravel()).tobytes(), "bytes": bits.tobytes()}
    dims = bits.size
    return {name: min(8 * len(fn(raw)) for raw in layouts.values()) / dims
            for name, fn in (("gzip", lambda b: zlib.compress(b, 9)), ("bz2", lambda b: bz2.compress(b, 9)))}


@register
class PCCompression(Experiment):
    id = "pc-compression"
    # the PC's coded size must be at most 0.9 of the factorized model's: the paper's point is that
    # modelling the pixels' dependencies pays; 10 % is our margin, fixed before this baseline was run

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        xtr, xte = _binarized(cfg, seed)
        model = HCLT.fit(xtr, HCLTConfig(latent=cfg.latent, em_steps=cfg.em_steps, seed=seed))
        indep = HCLT.fit(xtr, HCLTConfig(latent=1, em_steps=2, seed=seed))
        fact = FactorizedBernoulli.fit(xtr)
        fact_data = fact.compress(xte)
        t0 = time.perf_counter()
        data = compress(model, xte)
        t1 = time.perf_counter()
        back = decompress(model, data)
        t2 = time.perf_counter()
        dims = xte.numel()
        base = stdlib_bits_per_dim(xte)
        m = {
            "roundtrip": float(torch.equal(back, xte)),
            "bpd_pc_coded": 8 * len(data) / dims,
            "bpd_pc_model": model.bits_per_dim(xte),
            "bpd_independent_model": indep.bits_per_dim(xte),
            "bpd_factorized_coded": 8 * len(fact_data) / dims,
            "bpd_factorized_model": fact.bits_per_dim(xte),
            "roundtrip_factorized": float(torch.equal(fact.decompress(fact_data), xte)),
            "bpd_gzip": base["gzip"],
            "bpd_bz2": base["bz2"],
            "n_test": float(len(xte)),
            "encode_s": t1 - t0,
            "decode_s": t2 - t1,
        }
        m["ratio_to_best_stdlib"] = m["bpd_pc_coded"] / min(base.values())
        m["ratio_to_factorized"] = m["bpd_pc_coded"] / m["bpd_factorized_coded"]
        m["coding_overhead_bpd"] = m["bpd_pc_coded"] - m["bpd_pc_model"]
        return Result(m, self._artifacts(m, out_dir))

    def _artifacts(self, m, out_dir: Path) -> list[str]:
        rows = [("HCLT + arithmetic coding", m["bpd_pc_coded"]), ("HCLT -log2 p (ideal)", m["bpd_pc_model"]),
                ("factorized + arithmetic coding", m["bpd_factorized_coded"]),
                ("factorized -log2 p (ideal)", m["bpd_factorized_model"]),
                ("independent pixels (HCLT K=1) -log2 p", m["bpd_independent_model"]),
                ("gzip (zlib -9)", m["bpd_gzip"]),
                ("bz2 -9", m["bpd_bz2"])]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["method", "bits_per_dim"])
        w.writerows((name, f"{v:.4f}") for name, v in rows)
        atomic_write(out_dir / "bits_per_dim.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        ax.barh([r[0] for r in rows][::-1], [r[1] for r in rows][::-1])
        ax.set_xlabel("bits per dimension on binarized digits (test split)")
        plot.save(fig, out_dir / "bits_per_dim.png")
        return ["bits_per_dim.csv", "bits_per_dim.png"]
