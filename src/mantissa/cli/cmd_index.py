"""``mantissa index build|search|eval``: the compressed embedding store."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click
import torch
from rich.table import Table

from mantissa.cli._tables import print_table
from mantissa.cli._types import COUNT, SEED
from mantissa.data.minilm import NAME as MINILM  # the encoder of text inputs and --query
from mantissa.errors import ConfigError, ShapeError


@click.group("index")
def command() -> None:
    """Compressed embedding indexes: build, search, evaluate (see docs/index.md)."""


@command.command("build")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="EMB.npy | EMB.safetensors | TEXTS.txt (one text a line, embedded with MiniLM)")
@click.option("--spec", default="int8", show_default=True, help="index spec, e.g. 'bebr:3+rescore:4'")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="index folder to create")
@click.option("--key", default=None, help="tensor name inside a .safetensors input")
@click.option("--fit-size", type=COUNT, default=100_000,
              show_default=True, help="vectors used to train the compressor")
@click.option("--chunk", type=COUNT, default=16_384,
              show_default=True, help="vectors encoded per chunk (bounds memory)")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--force", is_flag=True,
              help="replace an existing index (only an index holding nothing but its own files)")
@click.option("--encoder", default=None,
              help=f"model that made the input vectors, recorded in the index (texts: {MINILM})")
@click.option("--executor", type=click.Choice(["local", "process", "ray"]), default=None,
              help="encode --shards shards in parallel tasks: in this process, a process pool, or Ray "
                   "(the [cluster] extra); the result equals a one-process build (docs/cluster.md)")
@click.option("--shards", type=COUNT, default=None,
              help="shards (segments) encoded in parallel (default with --executor: --workers, else 2)")
@click.option("--workers", type=COUNT, default=None, help="processes, or CPUs of a local Ray")
@click.option("--address", default=None, help="Ray cluster to join (--executor ray), e.g. auto")
def build(input_path: str, spec: str, out: str, key: str | None, fit_size: int, chunk: int, seed: int,
          force: bool, encoder: str | None, executor: str | None, shards: int | None, workers: int | None,
          address: str | None) -> None:
    """Build an index folder from vectors or texts, streaming in chunks (or encoded in parallel
    shards with --executor)."""
    from mantissa.index.index_file import build_index, check_index_out
    from mantissa.index.inputs import iter_vectors, read_texts

    if executor is None and (shards or workers or address):
        raise ConfigError("--shards, --workers and --address build in parallel: give --executor too")
    if address and executor != "ray":
        raise ConfigError("--address names a Ray cluster: use it with --executor ray")
    if executor == "ray":
        from mantissa.index.sharded import require_ray

        require_ray()
    check_index_out(out, force)  # before the input is read: refuse early, touch nothing
    texts = read_texts(input_path) if Path(input_path).suffix.lower() in (".txt", ".text", ".lines") else None
    if texts is not None and encoder not in (None, MINILM):
        raise ConfigError(f"--encoder {encoder}: texts are embedded with {MINILM}; "
                          "give vectors to index another encoder's embeddings")
    encoder = MINILM if texts is not None else encoder
    if executor is not None:
        from mantissa.index.sharded import build_sharded

        idx = build_sharded(out, spec, input_path, shards=shards or workers or 2, executor=executor,
                            workers=workers, address=address, key=key, fit_size=fit_size, chunk_size=chunk,
                            seed=seed, overwrite=force, encoder=encoder)
        click.echo(f"{out}: {len(idx.segments)} shard(s) encoded by the {executor} executor")
    else:
        idx = build_index(out, spec, iter_vectors(input_path, chunk, key), fit_size=fit_size,
                          chunk_size=chunk, seed=seed, overwrite=force, texts=texts, encoder=encoder)
    click.echo(f"{out}: {idx.count} vectors, dim {idx.dim}, spec {idx.spec}, "
               f"{idx.bytes_per_vector:g} B/vector in memory, "
               f"{idx.disk_bytes_per_vector:g} B/vector on disk, "
               f"{idx.aux_bytes} B auxiliary")


@command.command("search")
@click.argument("index_path", type=click.Path(file_okay=False))
@click.option("--query", "queries", multiple=True, help="query text (embedded with MiniLM); repeatable")
@click.option("--query-file", type=click.Path(dir_okay=False), help="query vectors (.npy/.safetensors/.txt)")
@click.option("-k", "k", type=COUNT, default=10, show_default=True)
@click.option("--no-verify", is_flag=True, help="skip checksum verification when opening")
def search(index_path: str, queries: tuple[str, ...], query_file: str | None, k: int,
           no_verify: bool) -> None:
    """Top-k ids (and texts, for an index built from texts) of each query."""
    from mantissa.index.index_file import open_index, stored_texts
    from mantissa.index.inputs import read_vectors

    if not queries and not query_file:
        raise ShapeError("give --query TEXT or --query-file Q.npy")
    idx = open_index(index_path, verify=not no_verify)
    labels: list[str] = []
    vecs = []
    if queries:
        from mantissa.data import load_minilm

        _check_text_queries(index_path, idx.encoder)
        vecs.append(load_minilm().encode(list(queries)))
        labels += list(queries)
    if query_file:
        qv = read_vectors(query_file)
        vecs.append(qv)
        labels += [f"{query_file}[{i}]" for i in range(len(qv))]
    scores, ids = idx.search(torch.cat(vecs), k)
    texts = stored_texts(index_path)
    for label, srow, irow in zip(labels, scores.tolist(), ids.tolist()):
        click.echo(f"query: {label}")
        for rank, (s, i) in enumerate(zip(srow, irow), 1):
            if i < 0:
                continue
            text = f"  {texts[i]}" if texts and i < len(texts) else ""
            click.echo(f"  {rank:>3}  id={i:<8} score={s:.4f}{text}")


def _check_text_queries(path: str, encoder: dict | None) -> None:
    """Text queries are embedded with MiniLM: refuse an index of any other vectors."""
    if encoder is None:
        raise ConfigError(f"{path} records no encoder, so --query text cannot be embedded to match it; "
                          "give --query-file vectors (or build with --encoder NAME)")
    if encoder["name"] != MINILM:
        raise ConfigError(f"{path} holds {encoder['name']} vectors; --query text is embedded with {MINILM} "
                          "only: give --query-file vectors made by the same encoder")


@command.command("eval")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="document vectors or texts (.npy/.safetensors/.txt)")
@click.option("--spec", "specs", multiple=True, required=True, help="index spec; repeat to compare several")
@click.option("--queries", "query_path", type=click.Path(dir_okay=False), default=None,
              help="query vectors; default: hold out --holdout rows of the input")
@click.option("--holdout", type=COUNT, default=1000,
              show_default=True, help="rows held out as queries (no --queries)")
@click.option("-k", "k", type=COUNT, default=10, show_default=True)
@click.option("--key", default=None, help="tensor name inside a .safetensors input")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="folder for index_eval.csv and recall_vs_bytes.png")
@click.option("--seed", type=SEED, default=0, show_default=True)
def evaluate_cmd(input_path: str, specs: tuple[str, ...], query_path: str | None, holdout: int, k: int,
                 key: str | None, out_dir: str | None, seed: int) -> None:
    """Recall@k against exact float search, queries/s and bytes/vector of each spec."""
    from mantissa.index.index import IndexSpec
    from mantissa.index.inputs import read_vectors
    from mantissa.index.recall import evaluate, exact_topk

    for s in specs:
        IndexSpec.parse(s)  # fail fast on a bad spec, before any work
    docs = read_vectors(input_path, key=key)
    if query_path:
        queries = read_vectors(query_path)
    else:
        if not 0 < holdout < len(docs):
            raise ShapeError(f"--holdout {holdout} must be between 1 and {len(docs) - 1} "
                             f"for {len(docs)} rows")
        perm = torch.randperm(len(docs), generator=torch.Generator().manual_seed(seed))
        queries, docs = docs[perm[:holdout]], docs[perm[holdout:]]
    if queries.shape[1] != docs.shape[1]:
        raise ShapeError(f"queries have dimension {queries.shape[1]}, documents {docs.shape[1]}")
    truth = exact_topk(docs, queries, k)
    rows = [{"spec": s, **evaluate(s, docs, queries, k, truth, seed)} for s in specs]
    table = Table(title=f"{len(docs)} documents, {len(queries)} queries, recall@{k} vs exact float search")
    for col in ("spec", f"recall@{k}", "queries/s", "B/vector", "B/vector disk", "aux B", "build s"):
        table.add_column(col, justify="left" if col == "spec" else "right")
    for r in rows:
        table.add_row(r["spec"], f"{r['recall']:.3f}", f"{r['qps']:.0f}", f"{r['bytes_per_vector']:g}",
                      f"{r['disk_bytes_per_vector']:g}", f"{r['aux_bytes']:.0f}", f"{r['build_s']:.1f}")
    print_table(table)
    if out_dir:
        _write_outputs(Path(out_dir), rows, k)


def _write_outputs(out: Path, rows: list[dict], k: int) -> None:
    from mantissa.io import atomic_write
    from mantissa.plot import figure, save

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_write(out / "index_eval.csv", buf.getvalue())
    fig, ax = figure()
    for r in rows:
        ax.scatter(r["bytes_per_vector"], r["recall"])
        ax.annotate(r["spec"], (r["bytes_per_vector"], r["recall"]), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("bytes per vector (searched)")
    ax.set_ylabel(f"recall@{k}")
    save(fig, out / "recall_vs_bytes.png")
    click.echo(f"wrote {out / 'index_eval.csv'} and {out / 'recall_vs_bytes.png'}")
