"""`import mantissa as mt` offers the public face, loaded on first use."""

import subprocess
import sys

import pytest

import mantissa as mt


def test_face_names_resolve():
    from mantissa.catalogue.runner import run_experiment
    from mantissa.data.minilm import load_minilm
    from mantissa.index.index import Index
    from mantissa.quant.api import quantize

    assert mt.formats.get("float8_e4m3fn").info.max == 448.0
    assert (mt.quantize, mt.Index, mt.run_experiment, mt.load_minilm) == (
        quantize, Index, run_experiment, load_minilm)
    assert set(mt.__all__) <= set(dir(mt))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mt.nonsense  # noqa: B018


def test_import_stays_light():
    code = "import sys, mantissa; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
