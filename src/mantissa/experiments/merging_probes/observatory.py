"""Observatory (paper #9): the eight properties of table embeddings, measured for
the packaged MiniLM on real tables (scikit-learn datasets), with joins, functional
dependencies and perturbations derived from them.

Wires :mod:`mantissa.probe.observatory`.

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

from mantissa.data import load_minilm, load_sklearn
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import atomic_write
from mantissa.plot import figure, save
from mantissa.probe import observatory as obs
from mantissa.probe.observatory import Table, TableEncoder
from mantissa.runtime import threads

CLASSIFICATION = ("iris", "wine", "breast_cancer")
PRIMARY = ("row_mcv", "col_mcv", "join_spearman", "fd_ratio", "sample_fidelity_cos", "entity_cos",
           "perturbation_cos", "context_cos")


Config = card_config(__name__)  # the card's [config]: observatory.toml


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def dataset_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """All rows of a scikit-learn dataset as text: features (3 s.f.) + target."""
    ds = load_sklearn(name)
    header = [f.replace("_", " ") for f in ds.feature_names]
    if ds.task == "classification":
        header.append("class")
        targets = [ds.target_names[int(t)].replace("_", " ") for t in ds.y]
    else:
        header.append("target")
        targets = [_fmt(float(t)) for t in ds.y]
    rows = [[_fmt(float(v)) for v in x] + [t] for x, t in zip(ds.X.tolist(), targets, strict=True)]
    return header, rows


def make_table(name: str, header, rows, idx, n_cols: int) -> Table:
    cols = list(range(min(n_cols, len(header) - 1))) + [len(header) - 1]
    return Table.of([header[j] for j in cols], [[rows[i][j] for j in cols] for i in idx], name)


def _perturb(table: Table, noise: float, gen: torch.Generator) -> Table:
    def jitter(cell: str) -> str:
        try:
            v = float(cell)
        except ValueError:
            return cell
        return _fmt(v * (1 + noise * float(torch.randn(1, generator=gen))))

    return Table.of(table.header, [[jitter(c) for c in row] for row in table.rows], table.name)


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
        return Result(m, self._artifacts(per_ds, m, out_dir))

    def _measure(self, enc: TableEncoder, name: str, cfg: Config, gen: torch.Generator) -> dict[str, float]:
        header, rows = dataset_rows(name)
        order = torch.randperm(len(rows), generator=gen).tolist()
        tables = [make_table(name, header, rows, order[t * cfg.n_rows:(t + 1) * cfg.n_rows], cfg.n_cols)
                  for t in range(cfg.n_tables)]
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
            add("perturbation_cos", obs.perturbation_robustness(enc, table, _perturb(table, cfg.noise, gen)))
            ctx = obs.heterogeneous_context(enc, table)
            add("context_cos_numeric", _mean(ctx[:-1]))
            if name in CLASSIFICATION:
                add("context_cos_text", ctx[-1])
            add("context_cos", _mean(ctx))
        join = obs.join_relationship(enc, self._join_pairs(name, header, rows, order, cfg, gen))
        add("join_spearman", join["spearman"])
        add("join_mean_cos", join["mean_cos"])
        if name in CLASSIFICATION:
            for key, value in self._fd_and_entity(enc, name, header, rows, order, cfg, gen).items():
                add(key, value)
        return {k: _mean(v) for k, v in out.items()}

    @staticmethod
    def _join_pairs(name, header, rows, order, cfg: Config, gen) -> list[tuple[Table, int, Table, int]]:
        """Column j of a table against column j of a second table sharing a fraction f of its rows."""
        n = cfg.n_rows
        base_idx, pool = order[:n], order[n * cfg.n_tables:]
        left = make_table(name, header, rows, base_idx, cfg.n_cols)
        pairs = []
        for f in (0.0, 0.25, 0.5, 0.75, 1.0):
            k = int(round(f * n))
            idx = base_idx[:k] + pool[: n - k]
            idx = [idx[i] for i in torch.randperm(len(idx), generator=gen).tolist()]
            right = make_table(name, header, rows, idx, cfg.n_cols)
            pairs += [(left, j, right, j) for j in range(min(3, left.n_cols - 1))]
        return pairs

    @staticmethod
    def _fd_and_entity(enc, name, header, rows, order, cfg: Config, gen) -> dict[str, float]:
        """FD: class -> class code (a derived column); entity: one class name across tables."""
        classes = sorted({r[-1] for r in rows})
        code = {c: f"code {chr(65 + i)}" for i, c in enumerate(classes)}
        # rows from at most two classes so that classes repeat inside a small table
        pick = [i for i in order if rows[i][-1] in classes[:2]][: cfg.n_rows]
        base = make_table(name, header, rows, pick, cfg.n_cols)
        fd_table = Table.of([*base.header, "class code"], [[*r, code[r[-1]]] for r in base.rows], name)
        fd = obs.functional_dependency(enc, fd_table, fd_table.n_cols - 2, fd_table.n_cols - 1, gen)
        entity = classes[0]
        with_entity = [i for i in order if rows[i][-1] == entity]
        others = [i for i in order if rows[i][-1] != entity]
        tables = []
        for t in range(max(2, cfg.n_tables)):
            idx = [with_entity[t]] + others[t * (cfg.n_rows - 1):(t + 1) * (cfg.n_rows - 1)]
            idx = [idx[i] for i in torch.randperm(len(idx), generator=gen).tolist()]
            tables.append(make_table(name, header, rows, idx, cfg.n_cols))
        ent = obs.entity_stability(enc, tables, entity)
        return {"fd_ratio": fd["ratio"], "fd_dispersion": fd["fd_dispersion"],
                "fd_control_dispersion": fd["control_dispersion"], "entity_mcv": ent["mcv"],
                "entity_cos": ent["cos"]}

    @staticmethod
    def _artifacts(per_ds: dict[str, dict[str, float]], m: dict[str, float], out_dir: Path) -> list[str]:
        keys = sorted({k for d in per_ds.values() for k in d})
        lines = ["dataset," + ",".join(keys)]
        lines += [f"{n}," + ",".join(f"{d.get(k, math.nan):.5g}" for k in keys) for n, d in per_ds.items()]
        lines.append("mean," + ",".join(f"{m.get(k, math.nan):.5g}" for k in keys))
        atomic_write(out_dir / "observatory.csv", "\n".join(lines) + "\n")
        fig, axes = figure(1, 2, figsize=(11, 3.8))
        names = list(per_ds)
        xs = range(len(names))
        axes[0].bar([x - 0.2 for x in xs], [per_ds[n]["row_mcv"] for n in names], 0.4,
                    label="row permutations")
        axes[0].bar([x + 0.2 for x in xs], [per_ds[n]["col_mcv"] for n in names], 0.4,
                    label="column permutations")
        axes[0].set_xticks(list(xs), names)
        axes[0].set_ylabel("MCV of column embeddings (lower = insignificant)")
        axes[0].legend()
        cos_keys = ["row_cos", "col_cos", "sample_fidelity_cos", "entity_cos", "perturbation_cos",
                    "context_cos"]
        axes[1].barh(cos_keys, [m.get(k, math.nan) for k in cos_keys])
        axes[1].set_xlim(0, 1)
        axes[1].set_xlabel("mean cosine similarity (MiniLM)")
        save(fig, out_dir / "observatory.png")
        return ["observatory.csv", "observatory.png"]
