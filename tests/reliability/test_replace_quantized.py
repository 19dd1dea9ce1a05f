"""``quantize --out DIR`` and ``save_quantized`` replace only a saved quantized model.

A folder with an unrelated ``manifest.json``, a user's project, or a saved model the
user added files to is refused with one ``error:`` line and survives byte for byte.
The model is a tiny BERT made with transformers' ``BertConfig``, never the packaged MiniLM.
"""

from __future__ import annotations

import json

import pytest
from reliability_helpers import assert_one_error_line, snapshot, user_folder

from mantissa.errors import OverwriteRefusedError
from mantissa.quant.api import quantize
from mantissa.quant.saving import load_quantized, read_manifest, save_quantized

transformers = pytest.importorskip("transformers")

from tiny_models import tiny_bert  # noqa: E402


def quantized(spec: str = "int8"):
    model = tiny_bert()
    quantize(model, spec)
    return model


@pytest.fixture
def model_dir(tmp_path):
    """A Hugging Face model folder (config, weights, a 50-word BERT tokenizer)."""
    root = tmp_path / "tiny-bert"
    tiny_bert().save_pretrained(root)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(45)]
    (root / "vocab.txt").write_text("\n".join(words) + "\n")
    transformers.BertTokenizer(str(root / "vocab.txt")).save_pretrained(root)
    return root


def project(path):
    """A code project whose manifest.json has nothing to do with mantissa."""
    (path / "src").mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"name": "app", "version": "1.0"}))
    (path / "src" / "app.py").write_text("print('hello')\n")
    (path / "notes.txt").write_text("todo\n")
    return path


@pytest.mark.parametrize("make", [project, user_folder])
def test_cli_refuses_a_foreign_folder_before_any_work(cli, tmp_path, make):
    target = make(tmp_path / "target")
    before = snapshot(target)
    # no MODEL_DIR: the packaged MiniLM would be loaded, but the refusal comes first
    code, _, err = cli("quantize", "--recipe", "int8", "--out", target)
    assert_one_error_line(code, err, "not a mantissa quantize output")
    assert snapshot(target) == before


def test_cli_saves_replaces_and_refuses_added_files(cli, tmp_path, model_dir):
    out = tmp_path / "q"
    code, _, err = cli("quantize", model_dir, "--recipe", "int8", "--out", out)
    assert code == 0, err
    code, _, err = cli("quantize", model_dir, "--recipe", "fp8", "--out", out)
    assert code == 0, err
    assert read_manifest(out)["recipe"] == "fp8"
    (out / "my-eval.csv").write_text("a,b\n")
    (out / "tokenizer" / "my-vocab-notes.txt").write_text("mine")
    before = snapshot(out)
    code, _, err = cli("quantize", model_dir, "--recipe", "int8", "--out", out)
    assert_one_error_line(code, err, "my-eval.csv", "tokenizer/my-vocab-notes.txt")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q", "tiny-bert"]


def test_api_refuses_an_unrelated_manifest(tmp_path):
    target = project(tmp_path / "proj")
    before = snapshot(target)
    with pytest.raises(OverwriteRefusedError, match="src/app.py"):
        save_quantized(quantized(), target)
    assert snapshot(target) == before


def test_api_refuses_a_saved_model_with_an_added_file(tmp_path):
    path = save_quantized(quantized(), tmp_path / "q")
    (path / "results.json").write_text("{}")
    before = snapshot(path)
    with pytest.raises(OverwriteRefusedError, match="results.json"):
        save_quantized(quantized("fp8"), path)
    assert snapshot(path) == before
    assert read_manifest(path)["recipe"] == "int8"
    load_quantized(path)


def test_api_uses_an_empty_folder_and_replaces_its_own_model(tmp_path):
    (tmp_path / "q").mkdir()
    save_quantized(quantized(), tmp_path / "q")
    save_quantized(quantized("fp8"), tmp_path / "q")
    assert read_manifest(tmp_path / "q")["recipe"] == "fp8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q"]
