"""Loading a transformers model prints no tqdm bar ("Loading weights") while mantissa's bars are off."""

import pytest
from markers import needs_minilm

from mantissa.data import load_minilm
from mantissa.data.minilm import quiet_transformers

transformers = pytest.importorskip("transformers")
hf_logging = transformers.utils.logging


def loading_bar(n: int) -> int:
    return sum(hf_logging.tqdm(range(n), desc="Loading weights"))


def test_quiet_transformers_hides_bars_and_restores_the_hook(capfd, monkeypatch):
    monkeypatch.setenv("MANTISSA_PROGRESS", "0")

    def own_hook(factory, args, kwargs):
        return factory(*args, **kwargs)

    previous = hf_logging.set_tqdm_hook(own_hook)
    try:
        with quiet_transformers(transformers):
            assert loading_bar(5) == 10
        assert hf_logging.set_tqdm_hook(previous) is own_hook
    finally:
        hf_logging.set_tqdm_hook(previous)
    assert "Loading weights" not in capfd.readouterr().err


@pytest.mark.skipif(not hf_logging.is_progress_bar_enabled(), reason="transformers' bars are disabled")
def test_quiet_transformers_keeps_bars_when_progress_is_forced(capfd, monkeypatch):
    monkeypatch.setenv("MANTISSA_PROGRESS", "1")
    with quiet_transformers(transformers):
        loading_bar(3)
    assert "Loading weights" in capfd.readouterr().err


@pytest.mark.real
@needs_minilm
def test_load_minilm_prints_no_loading_bar(capfd, monkeypatch):
    monkeypatch.setenv("MANTISSA_PROGRESS", "0")
    load_minilm()
    out, err = capfd.readouterr()
    assert "Loading weights" not in out + err
