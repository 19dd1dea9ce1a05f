"""``mantissa merge BASE FT1 FT2 ... --method SPEC --out DIR``: merge state dicts."""

from __future__ import annotations

import click

from mantissa.errors import ConfigError
from mantissa.merge import MERGE_METHODS, build_merge
from mantissa.merge.files import load_state_dict, probe_objective, save_merged


@click.command("merge")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("finetuned", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--method", default="task-arithmetic:scale=0.3", show_default=True,
              help=f"merge method spec; one of: {', '.join(MERGE_METHODS.list())}")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="folder for merged.safetensors and merge.json")
@click.option("--model", "model_ref", default=None,
              help="for learned methods: 'package.module:factory' building the nn.Module")
@click.option("--probe", "probe_path", default=None, type=click.Path(dir_okay=False),
              help="for learned methods: safetensors/pt file with probe tensors x and y")
def command(base: str, finetuned: tuple[str, ...], method: str, out_dir: str,
            model_ref: str | None, probe_path: str | None) -> None:
    """Merge fine-tuned state dicts of one architecture into BASE's (task vectors)."""
    merger = build_merge(method)
    if bool(model_ref) != bool(probe_path):
        raise ConfigError("--model and --probe go together (a model to run and data to score it)")
    base_sd = load_state_dict(base)
    fts = [load_state_dict(p) for p in finetuned]
    objective = probe_objective(model_ref, probe_path, base_sd) if model_ref and probe_path else None
    result = merger.merge(base_sd, fts, objective)
    info = {"method": method, "base": base, "finetuned": list(finetuned),
            **{k: v for k, v in result.info.items() if k != "loss_curve"}}
    path = save_merged(out_dir, result.state, info)
    click.echo(f"merged {len(fts)} model(s) with {method} -> {path}")
