"""mantissa's index against FAISS, spec by spec, in the same run.

Data: MiniLM embeddings of 20,000 WordNet glosses (documents) and 1,000 held-out
glosses (queries), cached through ``embed_corpus``. Ground truth: exact float
top-10 by inner product. For every spec: bytes per vector, build time, recall@10
and queries/s (the whole query batch, median of ``--rounds``, mantissa and its
FAISS peer interleaved so load hits both alike), and the ratios
mantissa/FAISS for speed and build time.

Peers (all inner product; FAISS trains its own ranges/codebooks/centroids):
``IndexFlatIP``; ``IndexScalarQuantizer`` SQ8 / fp16; ``IndexPQ``; ``IndexBinaryFlat`` on
sentence-transformers' ``ubinary`` codes (their quantization counted in its build time;
its queries come pre-quantized, mantissa's as floats); FAISS's ITQ (``ITQ384,LSH``: its
rotation, then sign bits searched by Hamming, float queries); ``IndexIVFFlat`` / ``IndexIVFScalarQuantizer``
/ ``IndexIVFPQ`` (no residual, as mantissa's ivf); ``IndexHNSWFlat``, ``IndexHNSWSQ``,
``IndexBinaryHNSW`` with the same M, efConstruction and efSearch; and usearch's HNSW
(pinned in the ``bench`` extra; f32 and i8 under inner product, b1 under Hamming on the
ubinary codes) with the same three settings, skipped with a printed line when usearch is
not installed.

    python benchmarks/bench_index.py [--docs 20000] [--queries 1000] [--rounds 3] [--threads 2]
                                     [--bebr-steps 300] [--no-bebr] [--only TEXT] [--npy DIR]

``--npy DIR`` reads ``DIR/docs.npy`` and ``DIR/queries.npy`` (the same embeddings
exported, for a machine without WordNet). Timings on a shared machine are noisy:
quote ratios with that caveat.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mantissa.index.index import Index
from mantissa.index.recall import exact_topk, gloss_benchmark, recall_at_k


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def peers(faiss: Any, d: int) -> dict[str, Callable[[], Any]]:
    """FAISS indexes, untrained, by the name used in PAIRS."""
    ip = faiss.METRIC_INNER_PRODUCT
    sq8 = faiss.ScalarQuantizer.QT_8bit

    def ivf(kind: str, nlist: int, nprobe: int) -> Callable[[], Any]:
        def make() -> Any:
            q = faiss.IndexFlatIP(d)
            if kind == "flat":
                out = faiss.IndexIVFFlat(q, d, nlist, ip)
            elif kind == "sq8":
                out = faiss.IndexIVFScalarQuantizer(q, d, nlist, sq8, ip, False)
            else:
                out = faiss.IndexIVFPQ(q, d, nlist, 48, 8, ip)
                out.by_residual = False
            out.nprobe = nprobe
            return out
        return make

    def hnsw(make: Callable[[], Any], ef: int = 64, efc: int = 40) -> Callable[[], Any]:
        def build() -> Any:
            out = make()
            out.hnsw.efConstruction, out.hnsw.efSearch = efc, ef
            return out
        return build

    return {
        "IndexFlatIP": lambda: faiss.IndexFlatIP(d),
        "IndexScalarQuantizer SQ8": lambda: faiss.IndexScalarQuantizer(d, sq8, ip),
        "IndexScalarQuantizer fp16": lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, ip),
        "IndexPQ 48x8": lambda: faiss.IndexPQ(d, 48, 8, ip),
        "IndexBinaryFlat": lambda: faiss.IndexBinaryFlat(d),
        "ITQ,LSH": lambda: faiss.index_factory(d, f"ITQ{d},LSH"),  # FAISS's ITQ: float queries
        "IndexIVFFlat 128/16": ivf("flat", 128, 16),
        "IndexIVFScalarQuantizer SQ8 128/16": ivf("sq8", 128, 16),
        "IndexIVFPQ 64/8 48x8": ivf("pq", 64, 8),
        "IndexHNSWFlat 32": hnsw(lambda: faiss.IndexHNSWFlat(d, 32, ip)),
        "IndexHNSWSQ SQ8 32": hnsw(lambda: faiss.IndexHNSWSQ(d, sq8, 32, ip)),
        "IndexBinaryHNSW 32": hnsw(lambda: faiss.IndexBinaryHNSW(d, 32)),
    }


class USearchHNSW:
    """usearch's HNSW behind the calls the bench makes of a FAISS index (``is_trained``,
    ``train``, ``add``, ``search``), with the same M (connectivity), efConstruction
    (expansion_add) and efSearch (expansion_search) as the FAISS HNSW peers. ``b1`` takes
    sentence-transformers' ubinary codes, as ``IndexBinaryHNSW`` does."""

    is_trained = True

    def __init__(self, d: int, dtype: str, threads: int, m: int = 32, ef: int = 64, efc: int = 40) -> None:
        from usearch.index import Index as UIndex

        self.binary, self.threads = dtype == "b1", threads
        self.index = UIndex(ndim=d, metric="hamming" if self.binary else "ip", dtype=dtype,
                            connectivity=m, expansion_add=efc, expansion_search=ef)

    def train(self, x: np.ndarray) -> None:
        pass

    def add(self, x: np.ndarray) -> None:
        self.index.add(np.arange(len(x)), x, threads=self.threads)

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        found = self.index.search(q, k, threads=self.threads)
        return found.distances, found.keys.astype(np.int64)


def usearch_peers(d: int, threads: int) -> dict[str, Callable[[], Any]]:
    """usearch HNSW peers by name; none (and a printed line) when usearch is not installed."""
    try:
        import usearch  # noqa: F401
    except ImportError:
        print("usearch is not installed (pip install '.[bench]'): no usearch peers")
        return {}
    return {f"usearch HNSW {dt} 32": (lambda dt=dt: USearchHNSW(d, dt, threads))
            for dt in ("f32", "i8", "b1")}


PAIRS = [  # (mantissa spec, FAISS peer or None)
    ("float32", "IndexFlatIP"),
    ("float16", "IndexScalarQuantizer fp16"),
    ("int8", "IndexScalarQuantizer SQ8"),
    ("int8:query=float", "IndexScalarQuantizer SQ8"),
    ("int4", None),
    ("binary", "IndexBinaryFlat"),
    ("binary+rescore:4", None),
    ("itq", "ITQ,LSH"),
    ("pq:48x8", "IndexPQ 48x8"),
    ("bebr:1,init=itq,dims=192,centre=no,quant=grid", "IndexPQ 48x8"),  # 48 B: 2 bits x 192 axes
    ("bebr:1,init=itq,dims=192,centre=no,quant=grid,query=float", "IndexPQ 48x8"),
    ("bebr:3,init=itq,centre=no,quant=grid", None),
    ("matryoshka:192", None),
    ("ivf:128,nprobe=16+float32", "IndexIVFFlat 128/16"),
    ("ivf:128,nprobe=16+int8:query=float", "IndexIVFScalarQuantizer SQ8 128/16"),
    ("ivf:64,nprobe=8+pq:48x8", "IndexIVFPQ 64/8 48x8"),
    ("hnsw:32,ef=64,efc=40+float32", "IndexHNSWFlat 32"),
    ("hnsw:32,ef=64,efc=40+int8", "IndexHNSWSQ SQ8 32"),
    ("hnsw:32,ef=64,efc=40+binary", "IndexBinaryHNSW 32"),
    ("hnsw:32,ef=64,efc=40+float32", "usearch HNSW f32 32"),
    ("hnsw:32,ef=64,efc=40+int8", "usearch HNSW i8 32"),
    ("hnsw:32,ef=64,efc=40+binary", "usearch HNSW b1 32"),
]


class Bench:
    def __init__(self, d: torch.Tensor, q: torch.Tensor, k: int, rounds: int) -> None:
        from sentence_transformers.util.quantization import quantize_embeddings

        self.d, self.q, self.k, self.rounds = d, q, k, rounds
        self.truth = exact_topk(d, q, k)
        self.ub = (quantize_embeddings(d.numpy(), precision="ubinary"),
                   quantize_embeddings(q.numpy(), precision="ubinary"))
        self.rows: list[dict[str, Any]] = []

    def build_peer(self, make: Callable[[], Any]) -> tuple[Any, float, Any]:
        """A FAISS peer trained and filled (binary peers: the ubinary quantization counts as build)."""
        from sentence_transformers.util.quantization import quantize_embeddings

        index = make()
        binary = getattr(index, "binary", "Binary" in type(index).__name__)

        def build() -> Any:
            docs = quantize_embeddings(self.d.numpy(), precision="ubinary") if binary else self.d.numpy()
            if not index.is_trained:
                index.train(docs)
            index.add(docs)
            return index
        _, secs = timed(build)
        return index, secs, (self.ub[1] if binary else self.q.numpy())

    def run(self, spec: str, peer: str | None, make: Callable[[], Any] | None) -> None:
        ours, build = timed(lambda: Index.build(spec, self.d))
        theirs = self.build_peer(make) if make else None
        t_ours, t_peer, ids_ours, ids_peer = [], [], None, None
        for _ in range(self.rounds):
            (_, ids_ours), s = timed(lambda: ours.search(self.q, self.k))
            t_ours.append(s)
            if theirs:
                (_, ids_peer), s = timed(lambda: theirs[0].search(theirs[2], self.k))
                t_peer.append(s)
        row = {"spec": spec, "bytes": ours.bytes_per_vector, "build": build, "peer": peer,
               "recall": recall_at_k(ids_ours, self.truth, self.k),
               "qps": len(self.q) / statistics.median(t_ours)}
        if theirs:
            peer_ids = torch.from_numpy(np.asarray(ids_peer)).long()
            row.update(peer_build=theirs[1], peer_qps=len(self.q) / statistics.median(t_peer),
                       peer_recall=recall_at_k(peer_ids, self.truth, self.k))
        self.rows.append(row)
        print(_line(row), flush=True)


def _line(r: dict[str, Any]) -> str:
    ours = f"| `{r['spec']}` | {r['bytes']:g} | {r['build']:.2f} | {r['recall']:.3f} | {r['qps']:,.0f} |"
    if "peer_qps" not in r:
        return ours + " | | | | | |"
    build = r["build"] / max(r["peer_build"], 1e-9)
    return ours + (f" {r['peer']} | {r['peer_build']:.2f} | {r['peer_recall']:.3f} | {r['peer_qps']:,.0f} | "
                   f"**{r['qps'] / r['peer_qps']:.2f}×** speed, {build:.2f}× build time, "
                   f"recall {r['recall'] - r['peer_recall']:+.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bebr-steps", type=int, default=300)
    ap.add_argument("--no-bebr", action="store_true", help="skip the (slow) trained BEBR specs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--npy", default=None)
    ap.add_argument("--only", default=None, help="run only the specs containing this text")
    args = ap.parse_args()
    import faiss

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    if args.npy:
        d = torch.from_numpy(np.load(f"{args.npy}/docs.npy"))[: args.docs]
        q = torch.from_numpy(np.load(f"{args.npy}/queries.npy"))[: args.queries]
    else:
        data = gloss_benchmark(args.docs, args.queries)
        d, q = data.docs, data.queries
    bench = Bench(d, q, 10, args.rounds)
    made = peers(faiss, d.shape[1]) | usearch_peers(d.shape[1], args.threads)
    print(f"{len(d)} MiniLM gloss embeddings, {len(q)} held-out queries, recall@10 vs exact float search; "
          f"torch threads {torch.get_num_threads()}, faiss threads {faiss.omp_get_max_threads()}\n")
    print("| mantissa spec | B/vector | build s | recall@10 | queries/s | FAISS peer | build s | recall@10 "
          "| queries/s | mantissa / FAISS |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    pairs = list(PAIRS)
    if not args.no_bebr:
        pairs += [("bebr:3,steps=0", None), (f"bebr:0,steps={args.bebr_steps}", "IndexBinaryFlat"),
                  (f"bebr:3,steps={args.bebr_steps}", None)]
    for spec, peer in pairs:
        if (args.only and args.only not in spec) or (peer and peer not in made):
            continue
        bench.run(spec, peer, made[peer] if peer else None)


if __name__ == "__main__":
    main()
