"""`mantissa quantize` (click, in process) on a tiny BERT folder and on bad input."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from mantissa.cli.cmd_quantize import command
from mantissa.data import minilm_available, wordnet_available
from mantissa.quant.saving import load_quantized, read_manifest


def run(*args):
    return CliRunner().invoke(command, list(args), catch_exceptions=True)


def test_list_names_every_recipe():
    out = run("--list")
    assert out.exit_code == 0
    for name in ("int8", "fp8", "w4-int", "w4a4-fp", "int8-outlier", "nupes4", "bcq3", "lmul"):
        assert name in out.output


def test_bad_input_is_a_mantissa_error(tmp_path):
    from mantissa.errors import ConfigError, UnknownNameError

    out = tmp_path / "o"
    assert isinstance(run(str(tmp_path), "--recipe", "int8", "--out", str(out)).exception, ConfigError)
    assert isinstance(run("--recipe", "int9", "--out", str(tmp_path / "o")).exception, UnknownNameError)
    assert isinstance(run("--recipe", "int8").exception, ConfigError)
    assert isinstance(run("--compare", "--recipe", "int8").exception, ConfigError)


@pytest.mark.real
@pytest.mark.skipif(not (minilm_available() and wordnet_available()),
                    reason="missing data: needs [real] and wordnet-base")
def test_quantize_tiny_model_folder_with_eval(tmp_path):
    import transformers

    from mantissa.data.minilm import minilm_path

    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=64)
    model_dir = tmp_path / "tiny"
    transformers.BertModel(cfg).save_pretrained(model_dir)
    transformers.AutoTokenizer.from_pretrained(str(minilm_path())).save_pretrained(model_dir)
    out = run(str(model_dir), "--recipe", "w4-int:group=16", "--out", str(tmp_path / "q"), "--eval",
              "--texts", "40")
    assert out.exit_code == 0, (out.output, out.exception)
    assert "saved w4-int:group=16" in out.output and "w4-int" in out.output.split("saved")[-1]
    assert read_manifest(tmp_path / "q")["recipe"] == "w4-int:group=16"
    loaded = load_quantized(tmp_path / "q")
    assert loaded.encode(["a small test"]).shape == (1, 32)


def test_compare_defaults_cover_every_recipe():
    from mantissa.cli.cmd_quantize import DEFAULT_COMPARE
    from mantissa.quant import RECIPES

    assert sorted(DEFAULT_COMPARE) == sorted(name for name, _ in RECIPES.items())
