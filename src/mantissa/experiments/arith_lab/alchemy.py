"""Alchemy (paper #21): symbolic mutation grows a corpus of true statements many
times over, and the grown corpus helps a prover on held-out statements.

Here the statements are 12 seed identities (trigonometric, hyperbolic, exp/log,
algebraic); :func:`mantissa.tasks.alchemy.mutate_corpus` rewrites them with the
known identities (``rw``), instantiates variables (``inst``) and combines them
(``combine``) until the corpus is ``growth`` times the seeds. Every mutant is
then checked independently of how it was made: both sides evaluated at random
points with mpmath (precision raised to survive cancellation), and SymPy's
``simplify`` on a sample.

Downstream (the paper trains an LLM prover on the mutants; here the "prover" is
a fixed rewriting search, :func:`mantissa.tasks.alchemy.prove_by_rewriting`,
whose lemma library is either the seed corpus or the grown corpus): held-out
identities are mutants generated independently (another random stream), minus
any already in the grown corpus; the score is the fraction proved. ``seeds``
repetitions draw new corpora and held-out sets; the claim judges the paired
gain (grown minus seed library), mean − 2·SE above 2.5 points (the paper's
smaller gain, +2.5 on miniF2F; +5 on LeanDojo). Gate: the numeric check rejects
the held-out identities made false (right side + 1), so "verified" means
something. That the corpus reaches its size target is the generator's own
target: a unit test, not a check.
"""

from __future__ import annotations

import collections
import csv
import io
import random
from pathlib import Path

from mantissa import plot
from mantissa.experiments import Experiment, Result, card_config, register, seed_metrics
from mantissa.io import atomic_write
from mantissa.progress import track
from mantissa.tasks.alchemy import (
    Identity,
    mutate_corpus,
    prove_by_rewriting,
    seed_corpus,
    verify_numeric,
    verify_symbolic,
)

Config = card_config(__name__)  # the card's [config]: alchemy.toml


@register
class Alchemy(Experiment):
    id = "alchemy"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        seeds = seed_corpus()
        reps = [self._repetition(cfg, seeds, s, first=s == seed) for s in range(seed, seed + cfg.seeds)]
        corpus, numeric, symbolic, ops = reps[0]["artifacts"]
        mutants = sum(r["mutants"] for r in reps)
        metrics = {
            "seeds": float(len(seeds)),
            "corpus": float(len(corpus)),
            "growth": len(corpus) / len(seeds),
            "mutants": float(mutants),
            "verified_fraction": sum(r["verified"] for r in reps) / max(1, mutants),
            "rejected_fraction": sum(r["rejected"] for r in reps) / max(1, sum(r["held_out"] for r in reps)),
            "symbolic_checked": float(len(symbolic)),
            "symbolic_proved_fraction": sum(symbolic.values()) / max(1, len(symbolic)),
            "held_out": float(sum(r["held_out"] for r in reps)),
            **{f"mutants_{op}": float(n) for op, n in sorted(ops.items())},
        }
        for lib in ("seed", "grown"):
            for kind in ("proved", "instance"):
                metrics[f"{kind}_{lib}"] = sum(r[f"{kind}_{lib}"] for r in reps) / len(reps)
        metrics.update(seed_metrics("proved_gain", [r["proved_grown"] - r["proved_seed"] for r in reps]))
        return Result(metrics, self._artifacts(corpus, len(seeds), numeric, symbolic, ops, out_dir))

    def _repetition(self, cfg: Config, seeds: list[Identity], seed: int, first: bool) -> dict:
        corpus = mutate_corpus(seeds, cfg.growth * len(seeds), seed=seed, max_ops=cfg.max_ops)
        mutants = corpus[len(seeds):]
        numeric = [verify_numeric(m, points=cfg.points, seed=seed + i)
                   for i, m in enumerate(track(mutants, "numeric checks"))]
        symbolic = {}
        if first:
            sample = random.Random(seed).sample(range(len(mutants)), min(cfg.symbolic_sample, len(mutants)))
            symbolic = {i: verify_symbolic(mutants[i]) for i in track(sample, "sympy.simplify")}
        held = self._held_out(cfg, seeds, {c.key for c in corpus}, seed)
        false = [Identity(h.lhs, h.rhs + 1, "falsified") for h in held]
        out = {"mutants": len(mutants), "verified": sum(numeric), "held_out": len(held),
               "rejected": sum(not verify_numeric(f, points=cfg.points, seed=seed + i)
                               for i, f in enumerate(false))}
        for lib, lemmas in (("seed", seeds), ("grown", corpus)):
            proved = [prove_by_rewriting(h, lemmas, cfg.prover_depth) for h in track(held, f"prover ({lib})")]
            instance = [prove_by_rewriting(h, lemmas, 0) for h in held]  # lemma instances only
            out[f"proved_{lib}"] = 100.0 * sum(proved) / max(1, len(held))
            out[f"instance_{lib}"] = 100.0 * sum(instance) / max(1, len(held))
        ops = collections.Counter(m.origin.split("[")[0] for m in mutants)
        out["artifacts"] = (corpus, numeric, symbolic, ops)
        return out

    @staticmethod
    def _held_out(cfg: Config, seeds: list[Identity], known: set[str], seed: int) -> list[Identity]:
        """Mutants from an independent random stream, none of them in the grown corpus."""
        size = len(seeds) + cfg.held_out
        while True:
            other = mutate_corpus(seeds, size, seed=seed + 100_003, max_ops=cfg.max_ops)
            held = [c for c in other[len(seeds):] if c.key not in known]
            if len(held) >= cfg.held_out or len(other) < size:
                return held[: cfg.held_out]
            size += cfg.held_out - len(held)

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
