"""Towards Revealing the Mystery behind Chain of Thought: A Theoretical
Perspective (Feng et al., 2023), paper #25.

Arithmetic expressions over Z_p (p = 11, operators + - *, fully
parenthesised) with 1..``max_ops`` operators, answered directly or with a
chain of thought that rewrites the expression one innermost operation at a
time. Same model size, same number of training steps; exact match of the
final value on held-out expressions with the most operators.
Parts: ``tasks:expr`` (direct / ``cot=true``), ``train.curriculum``.

Gate: both models know the operation table (every one-operator expression;
at quick and full scale all of them are in training): without it neither a direct answer nor a chain
of thought can be right, and the comparison says nothing. Claims: with CoT the
model solves the deepest expressions, and beats answering directly by more
than 20 points. Training phases the operator counts in, fewest first
(``curriculum``), at lr 1e-3: mixing all depths from the start at lr 3e-3
learned the rewriting format but not the mod-11 table.

Quick: 2 models × 8000 steps, about 5 minutes on 2 cores (CPU, one thread).
It does not reach the gate: the CoT model learns the table (86 %; 93 % with
d = 128), the direct one does not (40-44 % with a longer curriculum, with 3
operators, or with d = 128), and neither solves 4 operators (≈ 10 %),
so the quick verdict is ``inconclusive``. Full (``device=auto``: ≤ 6
operators, 500k samples, 2 × 20000 steps of a 3-layer d = 256 model) settles
it: about 11 ms a step on one H200, about 10 minutes in all.
"""

from __future__ import annotations

from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.probe.length_gen import accuracy_by, plot_curves
from mantissa.train.knobs import lab, pct, train
from mantissa.train.pipeline import DataConfig

Config = card_config(__name__)  # the card's [config]: cot_theory.toml


def final_value(text: str) -> str:
    return text.split("=")[-1]


@register
class CoTTheory(Experiment):
    id = "cot-theory"

    def run(self, cfg: Config, seed: int, out_dir) -> Result:
        metrics: dict[str, float] = {}
        curves, rows = {}, []
        for label, cot in (("direct", False), ("cot", True)):
            data = DataConfig(task=f"expr:p={cfg.p},cot={cot}", train_lengths=f"1-{cfg.max_ops}",
                              test_lengths=f"1-{cfg.max_ops}", n_train=cfg.n_train, n_test=cfg.n_test)
            run = train(lab(cfg, data), seed, f"expr {label}")
            table, _ = run.exact(run.task.table())
            metrics[f"{label}_table"] = pct(sum(table) / len(table))
            _, preds = run.exact(run.split.test)
            correct = [final_value(p) == final_value(e.answer) for p, e in zip(preds, run.split.test)]
            acc = accuracy_by(run.split.test, correct)
            for k, v in acc.items():
                metrics[f"{label}_ops{k[0]}"] = pct(v)
                rows.append((label, k[0], pct(v)))
            curves[label] = ([k[0] for k in acc], list(acc.values()))
        deep = cfg.max_ops
        metrics["cot_deepest"] = metrics[f"cot_ops{deep}"]
        metrics["direct_deepest"] = metrics[f"direct_ops{deep}"]
        metrics["cot_minus_direct"] = metrics["cot_deepest"] - metrics["direct_deepest"]
        metrics["min_table"] = min(metrics["cot_table"], metrics["direct_table"])
        plot_curves(curves, out_dir / "depth.png", xlabel="operators in the expression",
                    title=f"expressions mod {cfg.p}: final-answer accuracy")
        return Result(metrics, ["depth.png"],
                      tables={"accuracy.csv": (["mode", "operators", "exact_match_pct"], rows)})
