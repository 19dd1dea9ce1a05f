"""Alchemy (paper #21): symbolic mutation grows a corpus of true statements many
times over. Here the statements are 12 seed identities (trigonometric,
hyperbolic, exp/log, algebraic); :func:`mantissa.tasks.alchemy.mutate_corpus`
rewrites them with the known identities (``rw``), instantiates variables
(``inst``) and combines them (``combine``). Every mutant is then checked
independently of how it was made: both sides evaluated at random points with
mpmath (precision raised to survive cancellation), and SymPy's ``simplify`` on
a sample. (The paper's downstream step, training a prover on the mutants, is
out of scope.)
"""

from __future__ import annotations

import collections
import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

from mantissa import plot
from mantissa.experiments import Experiment, Result, register
from mantissa.io import atomic_write
from mantissa.progress import track
from mantissa.tasks.alchemy import mutate_corpus, seed_corpus, verify_numeric, verify_symbolic


@dataclass
class Config:
    growth: int = 15  # target corpus size = growth x seeds
    points: int = 5  # random points per numeric check
    symbolic_sample: int = 30  # mutants also given to sympy.simplify
    max_ops: int = 12


@register
class Alchemy(Experiment):
    id = "alchemy"
    title = "Alchemy: Amplifying Theorem-Proving Capability through Symbolic Mutation"
    paper = "#21"
    claim = ("Rewriting known statements with known identities (symbolic mutation) multiplies a corpus "
             "of true statements, every mutant remaining provably true.")
    paper_figure = "Mathlib theorems 110k -> 6M (about 50x) by rw/apply mutations"
    thresholds = {"min_growth": 10.0, "min_verified_fraction": 1.0}
    parts = ("tasks.alchemy:rw", "tasks.alchemy:inst", "tasks.alchemy:combine")
    Config = Config
    scales = {"smoke": {"growth": 2, "symbolic_sample": 2, "points": 2},
              "full": {"growth": 50, "symbolic_sample": 200}}

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        seeds = seed_corpus()
        corpus = mutate_corpus(seeds, cfg.growth * len(seeds), seed=seed, max_ops=cfg.max_ops)
        mutants = corpus[len(seeds):]
        numeric = [verify_numeric(m, points=cfg.points, seed=seed + i)
                   for i, m in enumerate(track(mutants, "numeric checks"))]
        sample = random.Random(seed).sample(range(len(mutants)), min(cfg.symbolic_sample, len(mutants)))
        symbolic = {i: verify_symbolic(mutants[i]) for i in track(sample, "sympy.simplify")}
        ops = collections.Counter(m.origin.split("[")[0] for m in mutants)
        metrics = {
            "seeds": float(len(seeds)),
            "corpus": float(len(corpus)),
            "growth": len(corpus) / len(seeds),
            "mutants": float(len(mutants)),
            "verified_fraction": sum(numeric) / max(1, len(mutants)),
            "symbolic_checked": float(len(symbolic)),
            "symbolic_proved_fraction": sum(symbolic.values()) / max(1, len(symbolic)),
            **{f"mutants_{op}": float(n) for op, n in sorted(ops.items())},
        }
        return Result(metrics, self._artifacts(corpus, len(seeds), numeric, symbolic, ops, out_dir))

    def _artifacts(self, corpus, n_seeds, numeric, symbolic, ops, out_dir: Path) -> list[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["identity", "origin", "numeric_ok", "sympy_simplify_ok"])
        for i, ident in enumerate(corpus):
            k = i - n_seeds
            num = "" if k < 0 else int(numeric[k])
            sym = "" if k not in symbolic else int(symbolic[k])
            w.writerow([str(ident), ident.origin, num, sym])
        atomic_write(out_dir / "corpus.csv", buf.getvalue().encode())
        fig, ax = plot.figure()
        names = sorted(ops)
        ax.bar(names, [ops[n] for n in names])
        ax.set_ylabel("mutants")
        ax.set_title(f"{len(corpus)} identities from {n_seeds} seeds")
        plot.save(fig, out_dir / "mutations.png")
        return ["corpus.csv", "mutations.png"]

    def checks(self, metrics):
        return [
            self.check("corpus size / seed identities", metrics, "growth", ">=", "min_growth"),
            self.check("fraction of mutants that pass the independent numeric check", metrics,
                       "verified_fraction", ">=", "min_verified_fraction"),
        ]
