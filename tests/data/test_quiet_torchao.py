"""With torchao installed, transformers imports it on every model load; mantissa's model loads
keep its import-time log lines (CUDA libraries it cannot load, torch's enum notices) off stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("torchao")
pytest.importorskip("transformers")

import tiny_hf  # noqa: E402

LOAD = ("import sys; from mantissa.quant.folders import load_folder; load_folder(sys.argv[1]); "
        "print('torchao' in sys.modules)")


def test_loading_a_model_folder_prints_no_torchao_import_noise(tmp_path):
    folder = tiny_hf.bert_folder(tmp_path / "bert")
    run = subprocess.run([sys.executable, "-c", LOAD, str(folder)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "MANTISSA_PROGRESS": "0"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"  # the load imported torchao
    assert "Failed to load" not in run.stderr and "_pytree" not in run.stderr, run.stderr
