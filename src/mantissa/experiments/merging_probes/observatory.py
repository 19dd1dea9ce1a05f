"""Observatory (paper #9): the eight properties of table embeddings, measured for
the packaged MiniLM on real tables (scikit-learn datasets), with joins, functional
dependencies and perturbations derived from them.

Wires :mod:`mantissa.probe.observatory` (the measures) and
:mod:`mantissa.probe.observatory_tables` (the tables they are measured on).

Gate: the column embeddings tell columns apart (a column under row permutations
stays closer to itself than two different columns of one table are to each other),
so the order and FD measures are on a meaningful scale. Claims (the paper's
findings for BERT-like LMs): column-order MCV above row-order MCV; column cosine
rises with value overlap (join relationship, Spearman > 0); functional dependencies
are rarely reflected (FD translation dispersion not clearly below the shuffled
control: ratio > ``min_fd_ratio``). That all eight measures are computed is a unit
test, not a check.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from mantissa.data import load_minilm
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.probe import observatory as obs
from mantissa.probe.observatory import TableEncoder
from mantissa.probe.observatory_tables import (
    dataset_rows,
    entity_tables,
    fd_table,
    join_pairs,
    make_table,
    perturb_table,
)
from mantissa.runtime import threads

CLASSIFICATION = ("iris", "wine", "breast_cancer")
PRIMARY = ("row_mcv", "col_mcv", "join_spearman", "fd_ratio", "sample_fidelity_cos", "entity_cos",
           "perturbation_cos", "context_cos")


Config = card_config(__name__)  # the card's [config]: observatory.toml


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return sum(xs) / len(xs) if xs else float("nan")


@register
class Observatory(Experiment):
    id = "observatory"
    # margins fixed before the run: MCV ratio strictly above 1; join Spearman strictly above 0; an FD
    # counts as "not reflected" when its translations are at most 20 % less dispersed than the control

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        enc = TableEncoder(load_minilm())
        per_ds: dict[str, dict[str, float]] = {}
        with threads(1):
            for name in cfg.datasets.split(","):
                per_ds[name] = self._measure(enc, name, cfg, torch.Generator().manual_seed(seed))
        keys = sorted({k for d in per_ds.values() for k in d})
        m = {k: _mean([d[k] for d in per_ds.values() if k in d]) for k in keys}
        m["col_over_row_mcv"] = m["col_mcv"] / m["row_mcv"]
        m["column_identity_margin"] = m["row_cos"] - m["between_col_cos"]
        m["n_measures"] = float(sum(not math.isnan(m.get(k, math.nan)) for k in PRIMARY))
        table = [[n, *(f"{d.get(k, math.nan):.5g}" for k in keys)] for n, d in per_ds.items()]
        table.append(["mean", *(f"{m.get(k, math.nan):.5g}" for k in keys)])
        return Result(m, tables={"observatory.csv": (["dataset", *keys], table)},
                      figures={"observatory.png": obs.plot_summary(per_ds, m)})

    def _measure(self, enc: TableEncoder, name: str, cfg: Config, gen: torch.Generator) -> dict[str, float]:
        header, rows = dataset_rows(name)
        order = torch.randperm(len(rows), generator=gen).tolist()
        tables = [make_table(name, header, rows, order[t * cfg.n_rows:(t + 1) * cfg.n_rows], cfg.n_cols)
                  for t in range(cfg.n_tables)]
        sizes = dict(n_rows=cfg.n_rows, n_cols=cfg.n_cols)
        out: dict[str, list[float]] = {}

        def add(key: str, value: float) -> None:
            out.setdefault(key, []).append(value)

        for table in tables:
            r = obs.order_insignificance(enc, table, "rows", cfg.n_perm, gen)
            c = obs.order_insignificance(enc, table, "columns", cfg.n_perm, gen)
            for key, value in (("row_mcv", r["mcv"]), ("row_cos", r["cos"]), ("col_mcv", c["mcv"]),
                               ("col_cos", c["cos"])):
                add(key, value)
            add("between_col_cos", obs.mean_pairwise_cosine(enc.encode([table])[0].columns))
            add("sample_fidelity_cos",
                obs.sample_fidelity(enc, table, cfg.sample_fraction, cfg.n_samples, gen))
            add("perturbation_cos",
                obs.perturbation_robustness(enc, table, perturb_table(table, cfg.noise, gen)))
            ctx = obs.heterogeneous_context(enc, table)
            add("context_cos_numeric", _mean(ctx[:-1]))
            if name in CLASSIFICATION:
                add("context_cos_text", ctx[-1])
            add("context_cos", _mean(ctx))
        # join relationship: column j of a table against a second table sharing a fraction of its rows
        join = obs.join_relationship(enc, join_pairs(name, header, rows, order, n_tables=cfg.n_tables,
                                                     gen=gen, **sizes))
        add("join_spearman", join["spearman"])
        add("join_mean_cos", join["mean_cos"])
        if name in CLASSIFICATION:
            # FD: class -> class code (a derived column); entity: one class name across tables
            fd_t = fd_table(name, header, rows, order, **sizes)
            fd = obs.functional_dependency(enc, fd_t, fd_t.n_cols - 2, fd_t.n_cols - 1, gen)
            entity, ent_tables = entity_tables(name, header, rows, order, n_tables=cfg.n_tables, gen=gen,
                                               **sizes)
            ent = obs.entity_stability(enc, ent_tables, entity)
            for key, value in (("fd_ratio", fd["ratio"]), ("fd_dispersion", fd["fd_dispersion"]),
                               ("fd_control_dispersion", fd["control_dispersion"]),
                               ("entity_mcv", ent["mcv"]), ("entity_cos", ent["cos"])):
                add(key, value)
        return {k: _mean(v) for k, v in out.items()}
