"""save_quantized / load_quantized: packed storage, manifest, checksums (mantissa.quant.saving)."""

from __future__ import annotations

import json

import pytest
import torch

from mantissa.errors import ConfigError, CorruptFileError, OverwriteRefusedError
from mantissa.quant.api import quantize
from mantissa.quant.recipes import parse_recipe
from mantissa.quant.saving import load_quantized, read_manifest, save_quantized, size_on_disk

transformers = pytest.importorskip("transformers")

from tiny_models import tiny_bert  # noqa: E402


@pytest.fixture
def ids():
    return {"input_ids": torch.randint(0, 50, (3, 7)), "attention_mask": torch.ones(3, 7, dtype=torch.long)}


@pytest.mark.parametrize("spec", ["int8", "fp8", "w4-int:group=16", "w4a4-fp", "int-only"])
def test_roundtrip_identical_outputs(tmp_path, ids, spec):
    m = tiny_bert()
    quantize(m, spec, calibration=[ids])
    with torch.no_grad():
        ref = m(**ids).last_hidden_state
    save_quantized(m, tmp_path / "q")
    again = load_quantized(tmp_path / "q")
    with torch.no_grad():
        got = again(**ids).last_hidden_state
    assert torch.equal(ref, got)
    man = read_manifest(tmp_path / "q")
    tables = 3 if parse_recipe(spec).embeddings else 0  # word, position and token-type embeddings
    assert man["recipe"] == spec and man["version"] == 2 and len(man["layers"]) == 13 + tables


def test_size_is_compressed(tmp_path):
    sizes = {}
    for spec in ("int8", "w4-int:group=16"):
        m = tiny_bert()
        quantize(m, spec, include=["encoder.*"])
        sizes[spec] = size_on_disk(save_quantized(m, tmp_path / spec.replace(":", "_")))
    assert sizes["w4-int:group=16"] < sizes["int8"]


def test_refuses_damaged_or_foreign(tmp_path):
    m = tiny_bert()
    quantize(m, "int8")
    path = save_quantized(m, tmp_path / "q")
    weights = path / "weights.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="checksum"):
        load_quantized(path)
    weights.write_bytes(bytes(raw[: len(raw) // 2]))
    with pytest.raises(CorruptFileError):
        load_quantized(path)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CorruptFileError, match="not a mantissa-quantized-model"):
        load_quantized(tmp_path / "foreign")
    with pytest.raises(CorruptFileError, match="no such folder"):
        load_quantized(tmp_path / "missing")


def test_save_refuses_unquantized_and_foreign_target(tmp_path):
    with pytest.raises(ConfigError, match="not quantized"):
        save_quantized(tiny_bert(), tmp_path / "x")
    m = tiny_bert()
    quantize(m, "int8")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(OverwriteRefusedError, match="notes.txt"):
        save_quantized(m, tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_interrupted_save_leaves_nothing(tmp_path, monkeypatch):
    m = tiny_bert()
    quantize(m, "int8")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("mantissa.quant.saving.write_json", boom)
    with pytest.raises(KeyboardInterrupt):
        save_quantized(m, tmp_path / "q")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_previous(tmp_path, ids):
    m = tiny_bert()
    quantize(m, "int8")
    save_quantized(m, tmp_path / "q")
    m2 = tiny_bert()
    quantize(m2, "fp8")
    save_quantized(m2, tmp_path / "q")
    assert read_manifest(tmp_path / "q")["recipe"] == "fp8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q"]


@pytest.mark.parametrize("spec", ["int8-outlier", "nupes4", "bcq3:group=16", "bcq2:group=16,lut=false",
                                  "lmul:mantissa_bits=3"])
def test_roundtrip_arith_recipes(tmp_path, ids, spec):
    m = tiny_bert()
    with torch.no_grad():
        fp = m(**ids).last_hidden_state
    quantize(m, spec)
    with torch.no_grad():
        ref = m(**ids).last_hidden_state
    again = load_quantized(save_quantized(m, tmp_path / "q"))
    with torch.no_grad():
        got = again(**ids).last_hidden_state
    assert torch.equal(ref, got)
    cos = torch.nn.functional.cosine_similarity(ref.flatten(), fp.flatten(), dim=0)
    assert cos > (0.9 if spec.startswith("bcq2") else 0.97)


@pytest.mark.parametrize("m", [1, 4, 7])
def test_lmul_weights_pack_to_9_plus_m_bits(m):
    from mantissa.quant.layers import LMulLinear, QuantLinear, bits_per_weight

    torch.manual_seed(m)
    w = torch.randn(6, 16)
    w[0, :3] = 0.0
    layer = LMulLinear.from_float(w, None, m)
    again = QuantLinear.from_state(*layer.state())
    assert torch.equal(again.dequantized_weight(), layer.dequantized_weight())
    assert bits_per_weight(torch.nn.Sequential(layer)) == pytest.approx(9 + m, abs=0.01)
