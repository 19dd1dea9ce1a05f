"""``python -m mantissa`` runs the ``mantissa`` command."""

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_python_dash_m_mantissa_help():
    env = {**os.environ, "PYTHONPATH": str(SRC), "MANTISSA_PROGRESS": "0"}
    out = subprocess.run([sys.executable, "-m", "mantissa", "--help"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Usage: mantissa" in out.stdout
    assert "quantize" in out.stdout and "train" in out.stdout
