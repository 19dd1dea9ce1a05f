"""mantissa's compressed embedding index against FAISS and sentence-transformers, same run.

Data: MiniLM embeddings of 20,000 WordNet glosses (documents) and 1,000 held-out
glosses (queries), cached through ``embed_corpus``. Ground truth: exact float
top-10. For every method: bytes per vector, recall@10, queries/s (batch of all
queries, median of ``--rounds``, interleaved so load hits everyone alike) and,
where a peer does the same job, the ratio ours/peer.

Peers: FAISS ``IndexFlatIP``, ``IndexBinaryFlat`` (on sentence-transformers'
``ubinary`` codes) and ``IndexPQ``; sentence-transformers' ``quantize_embeddings``
int8 (calibrated on the documents, int8 query × int8 documents).

    python benchmarks/bench_index.py [--docs 20000] [--queries 1000] [--rounds 3] [--bebr-steps 300]
                                     [--threads 2] [--npy DIR]

``--npy DIR`` reads ``DIR/docs.npy`` and ``DIR/queries.npy`` (the same embeddings
exported, for a machine without WordNet).

Timings on a shared machine are noisy: quote ratios with that caveat.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mantissa.embed.index import Index
from mantissa.embed.recall import exact_topk, gloss_benchmark, recall_at_k


def timed(fn, rounds: int) -> tuple[object, float]:
    times, out = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bebr-steps", type=int, default=300)
    ap.add_argument("--pq-iters", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--npy", default=None)
    args = ap.parse_args()
    import faiss
    from sentence_transformers.quantization import quantize_embeddings

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    if args.npy:
        d = torch.from_numpy(np.load(f"{args.npy}/docs.npy"))[: args.docs]
        q = torch.from_numpy(np.load(f"{args.npy}/queries.npy"))[: args.queries]
    else:
        data = gloss_benchmark(args.docs, args.queries)
        d, q = data.docs, data.queries
    k = 10
    dn, qn = d.numpy(), q.numpy()
    truth = exact_topk(d, q, k)
    rows: list[dict] = []

    def add(method: str, who: str, bpv: float, ids, secs: float, peer: str | None = None) -> None:
        ids = torch.as_tensor(np.asarray(ids)).long()
        rows.append({"method": method, "who": who, "bytes": bpv, "recall": recall_at_k(ids, truth, k),
                     "qps": len(q) / secs, "peer": peer})
        print(f"  {method:40s} {who:40s} {bpv:6g} B  recall {rows[-1]['recall']:.3f}  "
              f"{rows[-1]['qps']:.0f} q/s", flush=True)

    # --- peers ---------------------------------------------------------------------
    flat = faiss.IndexFlatIP(d.shape[1])
    flat.add(dn)
    (_, ids), s = timed(lambda: flat.search(qn, k), args.rounds)
    add("float32 exact", "faiss IndexFlatIP", 1536, ids, s)
    st_d = quantize_embeddings(dn, precision="int8", calibration_embeddings=dn)
    st_q = quantize_embeddings(qn, precision="int8", calibration_embeddings=dn)
    ids, s = timed(lambda: torch.topk(torch.from_numpy(st_q.astype(np.float32) @ st_d.astype(np.float32).T),
                                      k).indices, args.rounds)
    add("int8", "sentence-transformers", 384, ids, s)
    ub_d = quantize_embeddings(dn, precision="ubinary")
    ub_q = quantize_embeddings(qn, precision="ubinary")
    fb = faiss.IndexBinaryFlat(d.shape[1])
    fb.add(ub_d)
    (_, ids), s = timed(lambda: fb.search(ub_q, k), args.rounds)
    add("sign binary (Hamming)", "faiss IndexBinaryFlat", 48, ids, s)
    t0 = time.perf_counter()
    fpq = faiss.IndexPQ(d.shape[1], 48, 8, faiss.METRIC_INNER_PRODUCT)
    fpq.train(dn)
    fpq.add(dn)
    pq_train = time.perf_counter() - t0
    (_, ids), s = timed(lambda: fpq.search(qn, k), args.rounds)
    add("pq 48x8", "faiss IndexPQ", 48, ids, s)

    # --- ours ----------------------------------------------------------------------
    ours = [("float32", "float32 exact", "faiss IndexFlatIP"), ("int8", "int8", "sentence-transformers"),
            ("int8:query=float", "int8 (float query)", "sentence-transformers"), ("int4", "int4", None),
            ("binary", "sign binary (Hamming)", "faiss IndexBinaryFlat"),
            ("binary:kernel=popcount", "sign binary (popcount kernel)", "faiss IndexBinaryFlat"),
            ("binary+rescore:4", "binary + rescore 4k (float32)", None),
            ("binary:query=float", "binary, float query", None),
            (f"pq:48x8,iters={args.pq_iters}", "pq 48x8", "faiss IndexPQ"),
            ("matryoshka:192", "truncation to 192 dims", None),
            ("ivf:128,nprobe=16+int8", "ivf 128/16 + int8", None),
            ("bebr:3,steps=0", "residual sign 4 bit (untrained bebr:3)", None),
            (f"bebr:0,steps={args.bebr_steps}", "bebr:0 (1 bit, trained)", "faiss IndexBinaryFlat"),
            (f"bebr:3,steps={args.bebr_steps}", "bebr:3 (4 bit, trained, SDC)", "faiss IndexFlatIP")]
    for spec, method, peer in ours:
        t0 = time.perf_counter()
        idx = Index.build(spec, d)
        build = time.perf_counter() - t0
        (_, ids), s = timed(lambda idx=idx: idx.search(q, k), args.rounds)
        add(method, f"mantissa {spec}", idx.bytes_per_vector, ids, s, peer)
        rows[-1]["build_s"] = build
    bebr1 = idx.compressor.prefix(1)  # the last index built is the trained bebr:3
    codes = bebr1.encode(d)
    ids, s = timed(lambda: torch.topk(bebr1.score(q, codes), k).indices, args.rounds)
    add("bebr:3 first plane (1 bit)", "mantissa bebr:3,planes=1", 48, ids, s, "faiss IndexBinaryFlat")

    peers = {r["who"]: r for r in rows if not r["who"].startswith("mantissa")}
    print(f"\n{len(d)} MiniLM gloss embeddings, {len(q)} held-out queries, recall@{k} vs exact float search; "
          f"torch threads {torch.get_num_threads()}, faiss threads {faiss.omp_get_max_threads()}; "
          f"faiss PQ train {pq_train:.1f}s\n")
    print("| method | implementation | bytes/vector | recall@10 | queries/s | vs peer (recall Δ, speed ×) |")
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        vs = ""
        if r["peer"] in peers:
            p = peers[r["peer"]]
            vs = f"{p['who']}: {r['recall'] - p['recall']:+.3f}, {r['qps'] / p['qps']:.2f}×"
        print(f"| {r['method']} | {r['who']} | {r['bytes']:g} | {r['recall']:.3f} | {r['qps']:.0f} | {vs} |")


if __name__ == "__main__":
    main()
