"""Shared fixtures: a private run store, cache and no progress bars in tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "plugins"))
os.environ["MANTISSA_PROGRESS"] = "0"


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("MANTISSA_CACHE", str(cache))
    monkeypatch.setenv("MANTISSA_RUNS", str(tmp_path_factory.mktemp("runs")))

