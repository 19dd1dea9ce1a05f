"""BEBR (#46): recurrent binarization of real MiniLM embeddings, searched by SDC.

Wires :class:`mantissa.index.compressors.BEBR` (one ``bebr:U`` network; its
``p``-plane prefixes give 1..U+1 bits per dimension) against sign binary, ITQ
(the classic learned 1-bit baseline), PQ at equal bytes and float search on
MiniLM embeddings of WordNet glosses with held-out queries; also the untrained
network (``steps=0``: plain residual sign quantization) as an ablation of the
learning.

Gate: the distillation loss fell during training (mean of the last tenth of the
curve below ``max_loss_ratio`` of the first tenth). Claims: 4-bit codes keep
recall@10 ``>= min_recall_4bit``; the trained network beats the untrained residual
sign quantizer at 4 bits (the learning pays); SDC search is faster than float
search; and 4-bit codes on BEBR's grid of odd integers, each vector's code chosen
in closed form in an ITQ basis (``quant=grid``, no training), keep recall@10
``>= min_recall_4bit`` under SDC (reported with a float query too); and learned
binary codes at sign binarization's bytes -- two bits on each of the top half of
the ITQ axes (``dims=d/2``) -- beat sign by more than ``min_gain_over_sign``. The memory
ratio (32 / 4 bits = 8x) holds by construction and is a unit
test, not a check.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.index.compressors import COMPRESSORS
from mantissa.index.recall import exact_topk, gloss_benchmark, recall_at_k

Config = card_config(__name__)  # the card's [config]: bebr.toml


def _synthetic(n: int, q: int, d: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(50, d, generator=g)
    x = centres[torch.randint(0, 50, (n + q,), generator=g)] + 0.7 * torch.randn(n + q, d, generator=g)
    x = torch.nn.functional.normalize(x, dim=1)
    return x[:n], x[n:]


def _timed_search(comp, queries: torch.Tensor, codes: torch.Tensor, k: int,
                  rounds: int = 3) -> tuple[torch.Tensor, float]:
    """Top-``k`` ids and queries/s (the median of ``rounds`` timed searches)."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ids = torch.topk(comp.score(queries, codes), k, dim=1).indices
        times.append(time.perf_counter() - t0)
    return ids, len(queries) / max(sorted(times)[rounds // 2], 1e-9)


@register
class BEBRExperiment(Experiment):
    id = "bebr"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        if cfg.synthetic:
            docs, queries = _synthetic(cfg.n_docs, cfg.n_queries, seed=seed)
        else:
            data = gloss_benchmark(cfg.n_docs, cfg.n_queries)
            docs, queries = data.docs, data.queries
        truth = exact_topk(docs, queries, cfg.k)
        float_bytes = docs.shape[1] * 4
        rows, m = [], {}

        def measure(name: str, comp, bits: float) -> float:
            comp_codes = comp.encode(docs)
            ids, qps = _timed_search(comp, queries, comp_codes, cfg.k)
            rec = recall_at_k(ids, truth, cfg.k)
            rows.append({"method": name, "bits_per_dim": bits, "bytes_per_vector": comp.bytes_per_vector,
                         "recall": rec, "queries_per_s": qps})
            return rec

        f32 = COMPRESSORS.build("float32").fit(docs)
        measure("float32", f32, 32)
        float_qps = rows[-1]["queries_per_s"]
        m["recall_sign_binary"] = measure("sign binary", COMPRESSORS.build("binary").fit(docs), 1)
        m["recall_itq"] = measure("itq (learned rotation, 1 bit)", COMPRESSORS.build("itq").fit(docs), 1)
        pq_m = docs.shape[1] // 8
        pq = COMPRESSORS.build(f"pq:{pq_m}x8,iters={cfg.pq_iters}").fit(docs)
        m["recall_pq_equal_bytes"] = measure(f"pq:{pq_m}x8 (= 1 bit/dim bytes)", pq, 1)
        u = cfg.recurrences
        untrained = COMPRESSORS.build(f"bebr:{u},steps=0,hidden={cfg.hidden},seed={seed}").fit(docs)
        for p in range(1, u + 2):
            name = f"residual sign, untrained ({p} bit)"
            m[f"recall_untrained_{p}bit"] = measure(name, untrained.prefix(p), p)
        # BEBR's code grid, each vector's code chosen in closed form; half: sign's bytes, 2 bits
        grid = COMPRESSORS.build(f"bebr:{u},quant=grid,init=itq,centre=no,seed={seed}").fit(docs)
        half = COMPRESSORS.build(f"bebr:1,quant=grid,init=itq,centre=no,dims={docs.shape[1] // 2},"
                                 f"seed={seed}").fit(docs)
        for query in ("binary", "float"):
            m[f"recall_grid_{query}_query"] = measure(f"bebr:{u} grid codes, {query} query",
                                                      grid.with_query(query), u + 1)
            m[f"recall_half_dims_{query}_query"] = measure(f"2 bits x d/2 ITQ axes, {query} query",
                                                           half.with_query(query), 1)
        m["gain_half_dims_over_sign"] = m["recall_half_dims_binary_query"] - m["recall_sign_binary"]
        t0 = time.perf_counter()
        spec = f"bebr:{u},steps={cfg.steps},hidden={cfg.hidden},seed={seed},seconds=0"  # every step
        model = COMPRESSORS.build(spec).fit(docs)
        m["train_s"] = time.perf_counter() - t0
        for p in range(1, u + 2):
            m[f"recall_bebr_{p}bit"] = measure(f"bebr:{u} planes={p}", model.prefix(p), p)
        m["sdc_qps"] = rows[-1]["queries_per_s"]
        m["float_qps"] = float_qps
        m["sdc_speedup"] = m["sdc_qps"] / float_qps
        m["recall_4bit"] = m.get("recall_bebr_4bit", m[f"recall_bebr_{u + 1}bit"])
        m["memory_ratio"] = float_bytes / model.prefix(min(4, u + 1)).bytes_per_vector
        m["index_cost_saved_pct"] = 100 * (1 - 1 / m["memory_ratio"])
        m["aux_bytes"] = float(model.aux_bytes)
        m["final_loss"] = model.loss_curve[-1] if model.loss_curve else float("nan")
        tenth = max(1, len(model.loss_curve) // 10)
        curve = model.loss_curve
        m["loss_ratio_last_over_first"] = (sum(curve[-tenth:]) / sum(curve[:tenth]) if curve
                                           else float("nan"))
        m["gain_4bit_over_untrained"] = m["recall_4bit"] - m.get(
            "recall_untrained_4bit", m[f"recall_untrained_{u + 1}bit"])
        return Result(m, tables={"bebr_recall.csv": rows}, figures=self._figures(rows, model.loss_curve))

    def _figures(self, rows: list[dict], curve: list[float]) -> dict:
        from mantissa.plot import figure

        fig, ax = figure()
        for label, key in (("bebr (trained)", "bebr:"), ("residual sign (untrained)", "residual sign")):
            pts = [(r["bits_per_dim"], r["recall"]) for r in rows if r["method"].startswith(key)]
            ax.plot(*zip(*pts), marker="o", label=label)
        for r in rows:
            if r["method"].startswith(("sign", "pq", "float", "2 bits")):
                ax.scatter(min(r["bits_per_dim"], 5), r["recall"], marker="x")
                ax.annotate(r["method"], (min(r["bits_per_dim"], 5), r["recall"]), fontsize=7)
        ax.axhline(0.95, ls=":", c="grey")
        ax.set_xlabel("bits per dimension (float32 drawn at 5)")
        ax.set_ylabel("recall@10 vs exact float search")
        ax.legend()
        loss, ax = figure()
        ax.plot(curve or [float("nan")])
        ax.set_xlabel("step")
        ax.set_ylabel("distillation loss (sum over levels)")
        return {"recall_vs_bits.png": fig, "loss.png": loss}
