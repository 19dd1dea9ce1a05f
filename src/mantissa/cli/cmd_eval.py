"""``mantissa eval CHECKPOINT``: exact-match accuracy of a trained model per length.

    mantissa eval runs/train/add/last.ckpt --lengths 1-20 --csv acc.csv
"""

from __future__ import annotations

import click

from mantissa.cli._types import COUNT, SEED


@click.command("eval")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--lengths", default="1-12", show_default=True, help="Lengths to test, e.g. 1-20 or 3,5,8.")
@click.option("--n", "n_per", type=COUNT, default=100, show_default=True, help="Examples per length.")
@click.option("--grid", is_flag=True, help="Two-operand tasks: every (len a, len b) pair.")
@click.option("--seed", type=SEED, default=1234, show_default=True)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write a CSV table.")
def command(checkpoint: str, lengths: str, n_per: int, grid: bool, seed: int, csv_path: str | None) -> None:
    """Evaluate CHECKPOINT (written by `mantissa train`) on fresh examples."""
    from mantissa.errors import ConfigError, CorruptFileError
    from mantissa.io import write_csv
    from mantissa.models.transformer import Transformer, config_from_dict
    from mantissa.probe.length_gen import accuracy_by
    from mantissa.tasks import CharTokenizer, buckets, length_range
    from mantissa.train.checkpoint import load_checkpoint, read_checkpoint
    from mantissa.train.lm import exact_match
    from mantissa.train.pipeline import build_task, data_config_from_dict

    _, meta = read_checkpoint(checkpoint)
    if not isinstance(meta.get("model_config"), dict) or not isinstance(meta.get("data_config"), dict):
        raise CorruptFileError(f"{checkpoint}: not a `mantissa train` checkpoint (no model/data config)")
    try:
        model = Transformer(config_from_dict(meta["model_config"]))
        data = data_config_from_dict(meta["data_config"])
        task = build_task(data)
    except ConfigError as exc:
        raise CorruptFileError(f"{checkpoint}: its saved config is not valid: {exc}") from None
    load_checkpoint(checkpoint, model=model, restore_rng=False)
    keys = buckets(length_range(lengths), task.arity, square_only=not grid)
    examples = task.generate(n_per * len(keys), keys, seed=seed)
    correct, _ = exact_match(model, CharTokenizer(), examples)
    acc = accuracy_by(examples, correct)
    rows = []
    for k, v in acc.items():
        label = "x".join(map(str, k))
        rows.append((label, v, sum(1 for e in examples if e.length == k)))
        click.echo(f"length {label:>7}: {100 * v:5.1f} % exact")
    if csv_path:
        write_csv(csv_path, ["length", "exact_match", "n"], rows)
        click.echo(f"wrote {csv_path}")
