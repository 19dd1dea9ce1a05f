"""`mantissa quantize MODEL --export torchao`: the folder reloads in transformers with torchao
tensors holding mantissa's own codes and scales.

Tiny models made offline from configs (random weights): a BERT, a DistilBERT and a
sentence-transformers folder (CLS pooling + Normalize) around the BERT; a GPT-2 (``Conv1D``
layers only) is refused. Each is quantized through the CLI twice — the
default ``mantissa`` export and ``--export torchao`` — and the torchao folder, loaded by
``transformers`` / ``sentence-transformers`` (torchao's own forward), must match mantissa's
quantized model (``load_quantized``): cosine >= 0.9999 on real text. Weight-only recipes are
exact; ``int8`` (W8A8) has torchao round the activations on its own per-token grid, which the
export says (on the packaged MiniLM its cosine to mantissa's model is 0.997, on these tiny
random models above 0.9999).
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from click.testing import CliRunner

transformers = pytest.importorskip("transformers")
st_lib = pytest.importorskip("sentence_transformers")
pytest.importorskip("torchao")

import tiny_hf  # noqa: E402

from mantissa.cli.cmd_quantize import command  # noqa: E402
from mantissa.errors import ConfigError  # noqa: E402
from mantissa.quant.saving import load_quantized  # noqa: E402

#: recipe -> the torchao tensor class of a Linear weight and of the word-embedding table
TENSORS = {"int8": ("Int8Tensor", "Int8Tensor"), "int8:act_bits=0": ("Int8Tensor", "Int8Tensor"),
           "w4-int": ("IntxUnpackedToInt8Tensor", "IntxUnpackedToInt8Tensor")}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"bert": tiny_hf.bert_folder(root / "bert"), "st": tiny_hf.st_folder(root / "st"),
            "distilbert": tiny_hf.distilbert_folder(root / "distilbert"),
            "gpt2": tiny_hf.gpt2_folder(root / "gpt2")}


#: a Linear of each architecture whose reloaded weight is checked against mantissa's codes
FIRST_LINEAR = {"bert": "encoder.layer.0.attention.self.query", "st": "encoder.layer.0.attention.self.query",
                "distilbert": "transformer.layer.0.attention.q_lin"}


def run(*args):
    out = CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=True)
    assert out.exit_code == 0, (out.output, out.exception)
    return out


def exported(folders, tmp_path, name, recipe):
    ours, tao = tmp_path / "ours", tmp_path / "tao"
    run(folders[name], "--recipe", recipe, "--out", ours)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run(folders[name], "--recipe", recipe, "--out", tao, "--export", "torchao")
    assert "torchao tensors" in res.output
    said = " ".join(str(w.message) for w in caught)
    assert ("torchao rounds the activations itself" in said) == (recipe == "int8")
    config = json.loads((tao / "config.json").read_text())["quantization_config"]
    assert config["quant_method"] == "torchao"
    return load_quantized(ours), tao


def mean_pooled(model, tok, texts):
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)


def cosines(a, b):
    return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1)


def assert_our_codes(native, ours, recipe, model):
    """The reloaded torchao tensors hold exactly mantissa's codes and scales."""
    linear, table = TENSORS[recipe]
    for name, kind in ((FIRST_LINEAR[model], linear), ("embeddings.word_embeddings", table)):
        weight, layer = native.get_submodule(name).weight, ours.model.get_submodule(name)
        assert type(weight).__name__ == kind
        assert torch.equal(weight.qdata, layer.codes)
        assert torch.equal(weight.scale.reshape(-1), layer.scales.reshape(-1))


@pytest.mark.parametrize("recipe", list(TENSORS))
@pytest.mark.parametrize("name", ["bert", "distilbert"])
def test_encoder_export_loads_in_transformers(folders, tmp_path, name, recipe):
    ours, tao = exported(folders, tmp_path, name, recipe)
    native = transformers.AutoModel.from_pretrained(str(tao)).eval()
    assert_our_codes(native, ours, recipe, name)
    tok = transformers.AutoTokenizer.from_pretrained(str(tao))
    got = mean_pooled(native, tok, tiny_hf.TEXTS)
    assert cosines(ours.encode(tiny_hf.TEXTS), got).min() >= 0.9999
    original = transformers.AutoModel.from_pretrained(str(folders[name])).eval()
    assert cosines(mean_pooled(original, tok, tiny_hf.TEXTS), got).min() < 0.99999  # quantized


@pytest.mark.parametrize("recipe", ["int8", "w4-int"])
def test_sentence_transformer_export_keeps_its_modules(folders, tmp_path, recipe):
    ours, tao = exported(folders, tmp_path, "st", recipe)
    native = st_lib.SentenceTransformer(str(tao), device="cpu")
    assert_our_codes(native[0].auto_model, ours, recipe, "st")
    got = native.encode(tiny_hf.TEXTS, convert_to_tensor=True)
    assert cosines(ours.encode(tiny_hf.TEXTS), got).min() >= 0.9999
    files = {p.relative_to(tao).as_posix() for p in tao.rglob("*")}
    assert {"modules.json", "1_Pooling/config.json"} <= files


@pytest.mark.parametrize(("name", "recipe", "said"), [
    ("bert", "fp8", "not 'fp8'"),
    ("bert", "int8:act_bits=4", "not 'int8:act_bits=4'"),
    ("gpt2", "int8", "GPT2LMHeadModel has no nn.Linear layer to quantize"),  # Conv1D only
])
def test_export_refuses_what_torchao_cannot_hold(folders, tmp_path, name, recipe, said):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = CliRunner().invoke(command, [str(folders[name]), "--recipe", recipe, "--out",
                                           str(tmp_path / "t"), "--export", "torchao"])
    assert isinstance(res.exception, ConfigError) and said in str(res.exception)
    assert not caught and not (tmp_path / "t").exists()  # refused before quantizing: no warnings


def test_export_without_torchao_is_one_error_line(folders, tmp_path, monkeypatch, capsys):
    import sys

    from mantissa.cli import main

    monkeypatch.setitem(sys.modules, "torchao.quantization", None)  # import fails as if not installed
    with pytest.raises(SystemExit) as stop:
        main(["quantize", str(folders["bert"]), "--recipe", "int8", "--out", str(tmp_path / "t"),
              "--export", "torchao"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and err[0].startswith("error: ")
    assert "mantissa[bench]" in err[0] and not (tmp_path / "t").exists()
