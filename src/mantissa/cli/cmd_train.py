"""``mantissa train TASK``: train a small transformer on a task (resumable, DDP-ready).

    mantissa train add --format reverse --pe nope --set model.n_layer=4 --out runs/train/add
    torchrun --nproc_per_node 2 -m mantissa.cli train add --steps 500 --out runs/train/ddp
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from mantissa.config import apply_overrides
from mantissa.io import write_json


@click.command("train")
@click.argument("task")
@click.option("--format", "fmt", default=None, help="Data format of arithmetic tasks (plain, reverse, ...).")
@click.option("--pe", default=None, help="Positional encoding (ape, nope, rope, alibi, t5, abacus, ...).")
@click.option("--train-lengths", default=None, help="Training lengths, e.g. 1-8.")
@click.option("--test-lengths", default=None, help="Evaluation lengths, e.g. 1-12.")
@click.option("--steps", type=int, default=None, help="Optimizer steps.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="data.*, model.* or train.* override (repeatable), e.g. model.n_layer=4.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/train", show_default=True,
              help="Folder for last.ckpt and eval.json.")
@click.option("--resume", is_flag=True, help="Continue from OUT/last.ckpt, bit for bit.")
@click.option("--seed", type=int, default=0, show_default=True)
def command(task: str, fmt: str | None, pe: str | None, train_lengths: str | None, test_lengths: str | None,
            steps: int | None, overrides: tuple[str, ...], out: str, resume: bool, seed: int) -> None:
    """Train a transformer on TASK, checkpointing to OUT; prints accuracy per length."""
    from mantissa.probe.length_gen import accuracy_by
    from mantissa.train.ddp import init_from_env, is_main, shutdown
    from mantissa.train.pipeline import LabConfig, fit_task

    cfg = LabConfig()
    cfg = apply_overrides(cfg, {"data.task": task, "train.ckpt_every": 100})
    quick = {"data.format": fmt, "model.pe": pe, "data.train_lengths": train_lengths,
             "data.test_lengths": test_lengths, "train.steps": steps}
    cfg = apply_overrides(cfg, {k: v for k, v in quick.items() if v is not None})
    cfg = apply_overrides(cfg, list(overrides))
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model))  # re-validate names
    rank, world = init_from_env()
    try:
        run = fit_task(cfg, seed, ckpt_dir=out, resume=resume)
        if is_main():
            correct, _ = run.exact(run.split.test)
            acc = accuracy_by(run.split.test, correct)
            table = {"x".join(map(str, k)): v for k, v in acc.items()}
            write_json(Path(out) / "eval.json", {"accuracy_by_length": table, "world_size": world,
                                                  "final_loss": run.trainer.final("loss"),
                                                  "steps": run.trainer.step})
            click.echo(f"trained {run.trainer.step} steps on {world} process(es); loss "
                       f"{run.trainer.final('loss'):.4f}; checkpoint {Path(out) / 'last.ckpt'}")
            for k, v in table.items():
                click.echo(f"  length {k:>7}: {100 * v:5.1f} % exact")
    finally:
        shutdown()
