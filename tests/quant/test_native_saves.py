"""A model quantized in place, then saved by its own library (``save_pretrained`` /
``SentenceTransformer.save``), reloads with the dequantized weights under the original keys
(mantissa.quant.layers: the quantized layers' state_dict); and ``save_quantized`` /
``load_quantized`` round-trip a SentenceTransformer and a GPT-2 with its tied head."""

from __future__ import annotations

import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")
st_lib = pytest.importorskip("sentence_transformers")

import tiny_hf  # noqa: E402

from mantissa.quant import load_quantized, quantize, save_quantized  # noqa: E402
from mantissa.quant.encoders import HFEncoder, STEncoder  # noqa: E402
from mantissa.quant.folders import load_folder  # noqa: E402


def cos(a, b):
    return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1)


def quiet_quantize(model, spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize(model, spec)


def test_sentence_transformer_quantized_in_place_then_st_save(tmp_path):
    st = st_lib.SentenceTransformer(str(tiny_hf.st_folder(tmp_path / "st")), device="cpu")
    original = st.encode(tiny_hf.TEXTS, convert_to_tensor=True)
    assert quiet_quantize(st, "w4-int") is st
    quantized = st.encode(tiny_hf.TEXTS, convert_to_tensor=True)
    st.save(str(tmp_path / "saved"))
    again = st_lib.SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    got = again.encode(tiny_hf.TEXTS, convert_to_tensor=True)
    assert cos(got, quantized).min() >= 0.9999  # w4-int is weight-only: the same model
    assert not torch.allclose(got, original)  # and not the float model either


def test_save_quantized_sentence_transformer_roundtrip(tmp_path):
    st = st_lib.SentenceTransformer(str(tiny_hf.st_folder(tmp_path / "st")), device="cpu")
    quiet_quantize(st, "int8")
    want = st.encode(tiny_hf.TEXTS, convert_to_tensor=True)
    save_quantized(st, tmp_path / "q")
    loaded = load_quantized(tmp_path / "q")
    assert isinstance(loaded, STEncoder)
    assert cos(loaded.encode(tiny_hf.TEXTS), want).min() >= 0.99999


def test_gpt2_conv1d_quantized_in_place_then_save_pretrained(tmp_path):
    folder = tiny_hf.gpt2_folder(tmp_path / "gpt2")
    enc = load_folder(folder)
    assert isinstance(enc, HFEncoder) and type(enc.model).__name__ == "GPT2LMHeadModel"
    with pytest.warns(UserWarning, match=r"lm_head \(Linear, weight tied to transformer.wte.weight\)"):
        quantize(enc, "w4-int")
    batch = enc.tokenize(tiny_hf.TEXTS)
    with torch.no_grad():
        want = enc.model(**batch).logits
    enc.model.save_pretrained(tmp_path / "saved")
    again = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "saved")).eval()
    with torch.no_grad():
        got = again(**batch).logits
    assert torch.allclose(got, want, atol=1e-4)
    save_quantized(enc, tmp_path / "q")  # the tied head is stored once and tied again on load
    loaded = load_quantized(tmp_path / "q")
    with torch.no_grad():
        assert torch.equal(loaded.model(**batch).logits, want)
    assert loaded.model.lm_head.weight is loaded.model.transformer.wte.weight


def test_bert_state_dict_has_the_original_keys(tmp_path):
    enc = load_folder(tiny_hf.bert_folder(tmp_path / "bert"))
    keys = set(enc.model.state_dict())
    quiet_quantize(enc, "int8")
    sd = enc.model.state_dict()
    assert set(sd) == keys
    q = enc.model.encoder.layer[0].attention.self.query
    assert torch.equal(sd["encoder.layer.0.attention.self.query.weight"], q.dequantized_weight())


def test_sentence_transformer_dense_module_is_named(tmp_path):
    from sentence_transformers import models

    st = st_lib.SentenceTransformer(str(tiny_hf.st_folder(tmp_path / "st")), device="cpu")
    st.append(models.Dense(tiny_hf.HIDDEN, 8))
    with pytest.warns(UserWarning, match=r"sentence-transformers module 3 \(Dense\)"):
        quantize(st, "int8")
    assert st.encode(tiny_hf.TEXTS, convert_to_tensor=True).shape == (len(tiny_hf.TEXTS), 8)
