"""`mantissa quantize MODEL --export hf` on Hugging Face and sentence-transformers folders.

Tiny models made offline from configs (random weights): a BERT, a DistilBERT, a GPT-2 and a
sentence-transformers folder (CLS pooling + Normalize) around the BERT. Each is quantized
through the CLI twice — the default ``mantissa`` export and ``--export hf`` — and the ``hf``
folder, loaded by its native library, must match mantissa's own quantized model (loaded
with ``load_quantized``): cosine >= 0.9999 on real text (GPT-2: next-token logits). ``int8``
also rounds activations, which a standard folder cannot carry: the export says so (on the
packaged MiniLM its cosine to mantissa's W8A8 model is 0.9976; weight-only recipes are exact).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from click.testing import CliRunner

transformers = pytest.importorskip("transformers")
st_lib = pytest.importorskip("sentence_transformers")

import tiny_hf  # noqa: E402

from mantissa.cli.cmd_quantize import command  # noqa: E402
from mantissa.quant.saving import load_quantized  # noqa: E402

MAKERS = {"bert": tiny_hf.bert_folder, "distilbert": tiny_hf.distilbert_folder,
          "gpt2": tiny_hf.gpt2_folder, "st": tiny_hf.st_folder}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {name: make(root / name) for name, make in MAKERS.items()}


def run(*args):
    out = CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=True)
    assert out.exit_code == 0, (out.output, out.exception)
    return out


def mean_pooled(folder, texts):
    """The reference: transformers' own forward, mean over the mask, L2-normalised."""
    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)


def next_token_logits(model, tok, texts):
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    last = batch["attention_mask"].sum(1) - 1
    return logits[torch.arange(len(texts)), last]


def cosines(a, b):
    return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1)


def assert_on_grid(hf, original, recipe):
    """Every exported Linear weight and token embedding table differs from the original and
    holds at most 2**bits - 1 values per row (w4-int: per group of 128)."""
    from safetensors.torch import load_file

    got, ref = load_file(str(hf / "model.safetensors")), load_file(str(original / "model.safetensors"))
    levels = 255 if recipe == "int8" else 15
    linear = [k for k in got if k.endswith(("query.weight", "q_lin.weight", "dense.weight", "c_attn.weight",
                                            "word_embeddings.weight"))]
    assert linear
    for key in linear:
        w = got[key] if got[key].shape == ref[key].shape else got[key].T
        assert not torch.equal(w, ref[key])
        rows = w.reshape(w.shape[0], -1, 128) if w.shape[-1] % 128 == 0 else w.unsqueeze(1)
        assert max(len(g.unique()) for r in rows for g in r) <= levels, key


def exported(folders, tmp_path, name, recipe):
    ours, hf = tmp_path / "ours", tmp_path / "hf"
    run(folders[name], "--recipe", recipe, "--out", ours)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run(folders[name], "--recipe", recipe, "--out", hf, "--export", "hf")
    assert "Hugging Face folder" in res.output
    said = " ".join(str(w.message) for w in caught)
    assert ("holds the quantized weights only" in said) == (recipe == "int8")  # W8A8: activations not carried
    assert (hf / "model.safetensors").is_file() and (hf / "config.json").is_file()
    return load_quantized(ours), hf


@pytest.mark.parametrize("recipe", ["int8", "w4-int"])
@pytest.mark.parametrize("name", ["bert", "distilbert"])
def test_encoder_export_loads_in_transformers(folders, tmp_path, name, recipe):
    ours, hf = exported(folders, tmp_path, name, recipe)
    got = mean_pooled(hf, tiny_hf.TEXTS)
    assert cosines(ours.encode(tiny_hf.TEXTS), got).min() >= 0.9999
    assert_on_grid(hf, folders[name], recipe)


@pytest.mark.parametrize("recipe", ["int8", "w4-int"])
def test_gpt2_export_next_token_logits(folders, tmp_path, recipe):
    ours, hf = exported(folders, tmp_path, "gpt2", recipe)
    assert type(ours.model).__name__ == "GPT2LMHeadModel"
    assert type(ours.model.transformer.h[0].attn.c_attn).__name__ != "Conv1D"  # quantized
    native = transformers.AutoModelForCausalLM.from_pretrained(str(hf)).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(hf))
    got = next_token_logits(native, tok, tiny_hf.TEXTS)
    assert cosines(next_token_logits(ours.model, ours.tokenizer, tiny_hf.TEXTS), got).min() >= 0.9999
    original = transformers.AutoModelForCausalLM.from_pretrained(str(folders["gpt2"])).eval()
    assert not torch.allclose(next_token_logits(original, tok, tiny_hf.TEXTS), got)


@pytest.mark.parametrize("recipe", ["int8", "w4-int"])
def test_sentence_transformer_export_keeps_its_pooling(folders, tmp_path, recipe):
    ours, hf = exported(folders, tmp_path, "st", recipe)
    assert {"modules.json", "1_Pooling/config.json"} <= {p.relative_to(hf).as_posix() for p in hf.rglob("*")}
    got = st_lib.SentenceTransformer(str(hf), device="cpu").encode(tiny_hf.TEXTS, convert_to_tensor=True)
    assert cosines(ours.encode(tiny_hf.TEXTS), got).min() >= 0.9999
    original = st_lib.SentenceTransformer(str(folders["st"]), device="cpu")
    ref = original.encode(tiny_hf.TEXTS, convert_to_tensor=True)  # CLS pooling
    mean = mean_pooled(folders["st"].parent / "st-bert", tiny_hf.TEXTS)
    assert cosines(ours.encode(tiny_hf.TEXTS), ref).min() > cosines(mean, ref).max()  # CLS, not mean


def test_hf_export_refuses_a_foreign_folder_and_replaces_its_own(folders, tmp_path):
    from mantissa.errors import OverwriteRefusedError

    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = CliRunner().invoke(command, [str(folders["bert"]), "--recipe", "int8", "--out", str(out),
                                       "--export", "hf"])
    assert isinstance(res.exception, OverwriteRefusedError) and (out / "notes.txt").read_text() == "mine"
    run(folders["bert"], "--recipe", "int8", "--out", tmp_path / "hf", "--export", "hf")
    run(folders["bert"], "--recipe", "w4-int", "--out", tmp_path / "hf", "--export", "hf")  # its own
    (tmp_path / "hf" / "extra.bin").write_bytes(b"x")
    res = CliRunner().invoke(command, [str(folders["bert"]), "--recipe", "int8", "--out",
                                       str(tmp_path / "hf"), "--export", "hf"])
    assert isinstance(res.exception, OverwriteRefusedError)


def test_compare_names_files_after_the_model(folders, tmp_path):
    out = run("--compare", "w4-int", "--model", folders["distilbert"], "--texts", "30", "--pairs", "10",
              "--out", tmp_path / "cmp")
    assert (tmp_path / "cmp" / "compare-distilbert.csv").is_file()
    assert (tmp_path / "cmp" / "compare-distilbert.png").is_file()
    assert "distilbert: 1 recipes" in out.output
