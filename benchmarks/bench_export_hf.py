"""Fidelity and size of ``mantissa quantize --export hf|torchao`` on the packaged MiniLM (CPU).

For each recipe, the model is quantized through the CLI with the default ``mantissa``
export and with each of ``--exports`` (``hf``; ``torchao`` for the recipes it takes). Each
exported folder is loaded by its native library
(``transformers``' forward + mean pooling for the packaged model; ``SentenceTransformer``
for MiniLM's own sentence-transformers folder) and compared with mantissa's quantized model
(``load_quantized(...).encode``) on ``--texts`` WordNet glosses::

    python benchmarks/bench_export_hf.py [--texts 200] [--recipes int8 int8:act_bits=0 w4-int]
        [--exports hf torchao] [--out /tmp/export-hf]
"""

from __future__ import annotations

import argparse
import shutil
import time
import warnings
from pathlib import Path

import torch
from click.testing import CliRunner


def _cli(*args: object) -> None:
    from mantissa.cli.cmd_quantize import command

    res = CliRunner().invoke(command, [str(a) for a in args])
    if res.exit_code:
        raise SystemExit(f"mantissa quantize {' '.join(map(str, args))} failed: {res.exception}")


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*.safetensors")) / 1e6


def _pooled(folder: Path, texts: list[str]) -> torch.Tensor:
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), 64):
            b = tok(texts[i:i + 64], padding=True, truncation=True, max_length=256, return_tensors="pt")
            mask = b["attention_mask"].unsqueeze(-1).float()
            mean = (model(**b).last_hidden_state * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(mean, dim=-1))
    return torch.cat(out)


def _native(folder: Path, texts: list[str], st: bool) -> torch.Tensor:
    if not st:
        return _pooled(folder, texts)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_tensor=True)


def main() -> None:
    from mantissa.data.minilm import minilm_path
    from mantissa.quant.evaluate import evaluation_corpus
    from mantissa.quant.saving import load_quantized, size_on_disk

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--recipes", nargs="+", default=["int8", "int8:act_bits=0", "w4-int"])
    ap.add_argument("--exports", nargs="+", default=["hf", "torchao"], choices=["hf", "torchao"])
    ap.add_argument("--out", type=Path, default=Path("/tmp/export-hf"))
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    texts = evaluation_corpus(a.texts)
    shutil.rmtree(a.out, ignore_errors=True)
    fp32 = _pooled(minilm_path(), texts)
    cos = torch.nn.functional.cosine_similarity
    print(f"float MiniLM: {_megabytes(minilm_path()):.1f} MB; {len(texts)} texts")
    for source, label in ((None, "packaged MiniLM"), (minilm_path(), "MiniLM sentence-transformers folder")):
        for rec in a.recipes:
            t0, tag = time.time(), f"{'st' if source else 'hf'}-{rec.replace(':', '_')}"
            model_arg = [source] if source else []
            _cli(*model_arg, "--recipe", rec, "--out", a.out / f"{tag}-m")
            ours = load_quantized(a.out / f"{tag}-m").encode(texts)
            size_m = size_on_disk(a.out / f"{tag}-m") / 1e6
            print(f"{label:36s} {rec:16s} mantissa vs float {cos(ours, fp32, dim=-1).mean():.4f}, "
                  f"mantissa folder {size_m:.1f} MB", flush=True)
            for export in a.exports:
                out = a.out / f"{tag}-{export}"
                _cli(*model_arg, "--recipe", rec, "--out", out, "--export", export)
                native = _native(out, texts, source is not None).float()
                c = cos(ours, native, dim=-1)
                print(f"{'':36s} {rec:16s} --export {export:8s} vs mantissa: mean {c.mean():.6f} "
                      f"min {c.min():.6f}, vs float {cos(native, fp32, dim=-1).mean():.4f} | "
                      f"model.safetensors {_megabytes(out):.1f} MB "
                      f"({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
