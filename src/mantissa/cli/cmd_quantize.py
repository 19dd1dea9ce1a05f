"""``mantissa quantize``: quantize a pretrained encoder, save it, report its fidelity.

    mantissa quantize [MODEL_DIR] --recipe SPEC --out DIR [--export mantissa|hf|torchao] [--eval]
    mantissa quantize --compare [SPEC ...] [--out DIR]      # all recipes when none are named
    mantissa quantize --list
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from mantissa.cli._tables import print_table
from mantissa.cli._types import COUNT
from mantissa.errors import ConfigError

#: recipes of ``--compare`` when none are named: every registered recipe at its defaults
#: ``--export`` formats
EXPORTS = ("mantissa", "hf", "torchao")

DEFAULT_COMPARE = ("int8", "int8-outlier", "fp8", "w4-int", "nupes4", "bcq3", "bcq2",
                   "w4a4-int", "w4a4-fp", "lmul", "int-only")


def load_model(model_dir: str | None) -> Any:
    """The packaged MiniLM (no path), or a Hugging Face / sentence-transformers model folder
    (:func:`mantissa.quant.folders.load_folder`)."""
    from mantissa.data import load_minilm
    from mantissa.quant.folders import load_folder

    return load_folder(model_dir) if model_dir else load_minilm()


#: report columns: two-line headers keep the table within 80 columns for the default recipes
_COLUMNS = ("recipe", "bits/w", "size\nMB", "cosine", "min\ncos", "recall\n@10", "syn gap\nquant / orig",
            "latency\nms", "texts")


def _report_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for c in _COLUMNS:
        table.add_column(c, justify="left" if c == "recipe" else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["recipe"], f"{r['bits_per_weight']:.2f}", f"{r['size_mb']:.1f}",
                      f"{r['mean_cosine']:.4f}", f"{r['min_cosine']:.3f}", f"{r['recall_at_10']:.3f}",
                      f"{r['synonym_gap']:.3f} / {r['synonym_gap_original']:.3f}", f"{r['latency_ms']:.0f}",
                      str(r["n_texts"]))
    return table


def _plot(rows: list[dict[str, Any]], path: Path, model_name: str) -> None:
    from mantissa import plot

    fig, ax = plot.figure()
    for key, marker in (("mean_cosine", "o"), ("recall_at_10", "s")):
        ax.scatter([r["bits_per_weight"] for r in rows], [r[key] for r in rows], marker=marker,
                   label=key.replace("_", " "))
    for r in rows:
        ax.annotate(r["recipe"], (r["bits_per_weight"], r["mean_cosine"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("bits per weight (quantized layers, codes + scales)")
    ax.set_ylabel("fidelity to the FP32 model")
    ax.set_title(f"{model_name}: fidelity vs bits per weight")
    ax.legend()
    plot.save(fig, path)


def _slug(name: str) -> str:
    """``name`` as a file-name part: letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


def _compare(specs: tuple[str, ...], model_dir: str | None, out: Path, n_texts: int, n_calib: int,
             n_pairs: int = 300) -> None:
    from mantissa.io import write_csv
    from mantissa.quant import parse_recipe
    from mantissa.quant.compare import compare_recipes

    recipes = [parse_recipe(s) for s in (specs or DEFAULT_COMPARE)]  # fail fast on bad names
    con = Console(stderr=True)
    base = load_model(model_dir)
    rows = []
    stem = f"compare-{_slug(base.name)}"
    table, figure = out / f"{stem}.csv", out / f"{stem}.png"
    for res in compare_recipes(base, [(rec.spec(), rec) for rec in recipes], n_texts=n_texts,
                               n_pairs=n_pairs, calibration=n_calib):
        report = res.report
        rows.append(report.as_dict())
        con.print(f"  {res.recipe:<24} cosine {report.mean_cosine:.4f}  recall@10 {report.recall_at_10:.3f}"
                  f"  ({res.seconds:.0f}s)")
        out.mkdir(parents=True, exist_ok=True)  # after every recipe: an interrupted compare keeps its rows
        keys = list(rows[0])
        write_csv(table, keys, [[r[k] for k in keys] for r in rows])
        _plot(rows, figure, base.name)
    print_table(_report_table(rows, f"{base.name}: {len(rows)} recipes (original latency "
                                    f"{rows[0]['latency_ms_original']:.0f} ms / batch of 32)"))
    click.echo(f"table: {table}  plot: {figure}")


_EXPORT_NOTES = {"mantissa": "", "hf": " (Hugging Face folder)",
                 "torchao": " (Hugging Face folder, torchao tensors)"}


def _export(model: Any, out: str, export: str) -> Path:
    """Save the quantized ``model`` to ``out`` in the ``export`` format (:data:`EXPORTS`)."""
    from mantissa.quant import save_quantized
    from mantissa.quant.export_hf import export_hf
    from mantissa.quant.export_torchao import export_torchao

    return {"mantissa": save_quantized, "hf": export_hf, "torchao": export_torchao}[export](model, out)


@click.command("quantize")
@click.argument("args", nargs=-1)
@click.option("--recipe", "-r", default=None, help="Recipe spec, e.g. int8, fp8, 'w4-int:group=128'.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output folder (the quantized model; with --compare: table and plot). An existing "
                   "folder is replaced only when it is a saved model holding nothing but its own files.")
@click.option("--export", "export", type=click.Choice(EXPORTS), default="mantissa", show_default=True,
              help="mantissa: packed codes + scales with a checksummed manifest (load_quantized); "
                   "hf: a standard Hugging Face / sentence-transformers folder with the dequantized "
                   "weights (AutoModel.from_pretrained / SentenceTransformer load it); torchao: the same "
                   "folder with torchao tensors holding our codes and scales (int8, int8:act_bits=0, "
                   "w4-int; needs torchao).")
@click.option("--eval", "do_eval", is_flag=True, help="Report fidelity against the original model.")
@click.option("--compare", is_flag=True, help="Compare recipes (ARGS are specs; none = all).")
@click.option("--model", "model_opt", default=None,
              help="Model folder for --compare (default: packaged MiniLM).")
@click.option("--calibration", "n_calib", type=COUNT, default=64, show_default=True,
              help="Calibration texts for recipes that need them.")
@click.option("--texts", "n_texts", type=COUNT, default=400, show_default=True, help="Evaluation texts.")
@click.option("--pairs", "n_pairs", type=COUNT, default=300, show_default=True,
              help="WordNet synonym / random pairs for the similarity score.")
@click.option("--include", multiple=True, help="Glob of layer names to quantize (repeatable).")
@click.option("--exclude", multiple=True, help="Glob of layer names to leave alone (repeatable).")
@click.option("--list", "list_recipes", is_flag=True, help="List the recipes and their keys.")
def command(args: tuple[str, ...], recipe: str | None, out: str | None, export: str, do_eval: bool,
            compare: bool,
            model_opt: str | None, n_calib: int, n_texts: int, n_pairs: int, include: tuple[str, ...],
            exclude: tuple[str, ...], list_recipes: bool) -> None:
    """Quantize MODEL_DIR (a Hugging Face or sentence-transformers folder; default: the packaged
    MiniLM) with a recipe, or --compare recipes."""
    if list_recipes:
        from mantissa.quant.recipes import describe_recipes

        for name, keys, summary in describe_recipes():
            click.echo(f"{name:<14} {summary}" + (f"  [{keys}]" if keys else ""))
        return
    if compare:
        if recipe:
            raise ConfigError("with --compare, name the recipes as arguments, not --recipe")
        _compare(args, model_opt, Path(out or "runs/quantize-compare"), n_texts, n_calib, n_pairs)
        return
    if len(args) > 1:
        raise ConfigError(f"give at most one MODEL_DIR, got {len(args)}: {' '.join(args)}")
    if not recipe or not out:
        raise ConfigError("quantize needs --recipe SPEC and --out DIR (see `mantissa quantize --list`)")
    from mantissa.quant import evaluate, parse_recipe, quantize
    from mantissa.quant.evaluate import calibration_corpus, evaluation_corpus
    from mantissa.quant.saving import check_model_out

    rec = parse_recipe(recipe)
    if export == "torchao":
        from mantissa.quant.export_torchao import check_recipe

        check_recipe(rec)  # before any work: torchao installed, and a layout for the recipe
    check_model_out(out)  # before any work: refuse a folder that is not a saved model of ours
    model = load_model(args[0] if args else None)
    if export == "torchao":
        from mantissa.quant.export_torchao import check_model

        check_model(model, include or ("*",), exclude)
    original = copy.deepcopy(model) if do_eval else None
    calib = calibration_corpus(n_calib, set(evaluation_corpus(n_texts))) if rec.needs_calibration else None
    quantize(model, rec, calibration=calib, include=include or ("*",), exclude=exclude)
    path = _export(model, out, export)
    click.echo(f"saved {rec.spec()} model to {path}" + _EXPORT_NOTES[export])
    if do_eval:
        report = evaluate(model, original, n_texts=n_texts, n_pairs=n_pairs)
        print_table(_report_table([report.as_dict()], f"{model.name}"))
