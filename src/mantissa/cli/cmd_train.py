"""``mantissa train TASK``: train a small transformer on a task (resumable, DDP-ready).

    mantissa train add --format reverse --pe nope --set model.n_layer=4 --out runs/train/add
    mantissa train add --format reverse --pe nope --set model.n_layer=4 --out runs/train/add --resume
    torchrun --nproc_per_node 2 -m mantissa.cli train add --steps 500 --out runs/train/ddp

Without ``--out`` every run gets a fresh ``runs/train/<timestamp>`` folder. An OUT that
holds a checkpoint is refused unless ``--resume`` (same seed and configs, else a
one-line diff) or ``--force`` (start over) is given (:mod:`mantissa.train.resume_check`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import click

from mantissa.cli._types import COUNT, SEED
from mantissa.config import apply_overrides, config_fields
from mantissa.errors import ConfigError
from mantissa.io import write_json

#: keys whose ``--set`` value the command or the pipeline replaces, and by what
_DERIVED = {
    "data.task": "the TASK argument sets it",
    "model.vocab_size": "set from the tokenizer",
    "model.digit_tokens": "set from the tokenizer",
    "model.max_len": "raised to fit the longest example",
    "train.seed": "replaced by --seed",
}


def base_config() -> Any:
    """The ``LabConfig`` that ``train`` starts from, before TASK and the options."""
    from mantissa.train.pipeline import LabConfig

    return apply_overrides(LabConfig(), {"train.ckpt_every": 100})


def set_keys_help() -> list[tuple[str, str]]:
    """``(key, "type, default value")`` rows for every ``--set`` key, read from the config dataclasses."""
    rows = []
    for key, type_name, default in config_fields(base_config()):
        note = f"; {_DERIVED[key]}" if key in _DERIVED else ""
        rows.append((key, f"{type_name}, default {default!r}{note}"))
    return rows


def _out_dir(out: str | None, *, resume: bool, force: bool, cfg: Any, seed: int) -> Path:
    """OUT checked against its checkpoint, or a fresh ``runs/train/<timestamp>`` folder."""
    from mantissa.fresh_dir import fresh_dir, timestamp
    from mantissa.train.resume_check import check_train_out, requested

    if out is not None:
        ckpt = Path(out) / "last.ckpt"
        if resume and not (ckpt.exists() or ckpt.is_symlink()):
            raise ConfigError(f"--resume: no checkpoint at {ckpt}; drop --resume to start a new run")
        check_train_out(Path(out), resume=resume, force=force, cfg=cfg, seed=seed,
                        defaults=requested(base_config(), seed))
        return Path(out)
    if os.environ.get("WORLD_SIZE", "1").strip() not in ("", "0", "1"):
        raise ConfigError("give --out when training with several processes: they must share one folder")
    if resume:
        raise ConfigError("--resume needs --out: the folder of the run to continue")
    return fresh_dir(Path("runs") / "train" / timestamp())


class _TrainCommand(click.Command):
    """``train`` with the ``--set`` keys listed after the options (built only when help is shown)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Keys for --set KEY=VALUE (type, default)"):
            formatter.write_dl(set_keys_help())
        super().format_epilog(ctx, formatter)


@click.command("train", cls=_TrainCommand)
@click.argument("task")
@click.option("--format", "fmt", default=None, help="Data format of arithmetic tasks (plain, reverse, ...).")
@click.option("--pe", default=None, help="Positional encoding (ape, nope, rope, alibi, t5, abacus, ...).")
@click.option("--train-lengths", default=None, help="Training lengths, e.g. 1-8.")
@click.option("--test-lengths", default=None, help="Evaluation lengths, e.g. 1-12.")
@click.option("--steps", type=COUNT, default=None, help="Optimizer steps.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="data.*, model.* or train.* override (repeatable), e.g. model.n_layer=4; "
                   "keys listed below.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for last.ckpt and eval.json (default: a new runs/train/<timestamp>).")
@click.option("--resume", is_flag=True,
              help="Continue from OUT/last.ckpt, bit for bit (refused if the seed or a config differs).")
@click.option("--force", is_flag=True, help="Start over, replacing the checkpoint in OUT.")
@click.option("--seed", type=SEED, default=0, show_default=True)
def command(task: str, fmt: str | None, pe: str | None, train_lengths: str | None, test_lengths: str | None,
            steps: int | None, overrides: tuple[str, ...], out: str | None, resume: bool, force: bool,
            seed: int) -> None:
    """Train a transformer on TASK, checkpointing to OUT; prints accuracy per length."""
    from mantissa.probe.length_gen import accuracy_by
    from mantissa.train.ddp import init_from_env, is_main, shutdown
    from mantissa.train.pipeline import fit_task

    cfg = apply_overrides(base_config(), {"data.task": task})
    quick = {"data.format": fmt, "model.pe": pe, "data.train_lengths": train_lengths,
             "data.test_lengths": test_lengths, "train.steps": steps}
    cfg = apply_overrides(cfg, {k: v for k, v in quick.items() if v is not None})
    cfg = apply_overrides(cfg, list(overrides))
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model))  # re-validate names
    out = str(_out_dir(out, resume=resume, force=force, cfg=cfg, seed=seed))
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
