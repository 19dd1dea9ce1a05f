"""mantissa.progress: a bar opened inside another joins the same live display."""

from __future__ import annotations

from mantissa import progress as prog


def test_nested_bars_share_one_display(monkeypatch):
    monkeypatch.setenv("MANTISSA_PROGRESS", "1")
    with prog.progress("outer", total=2) as outer:
        live = prog._live
        assert live is not None
        with prog.progress("inner", total=3) as inner:
            assert prog._live is live and len(live.tasks) == 2
            inner.advance(3)
        assert len(live.tasks) == 1
        outer.advance(1, step="x")
        assert live.tasks[0].completed == 1
    assert prog._live is None


def test_disabled_bars_do_nothing(monkeypatch):
    monkeypatch.setenv("MANTISSA_PROGRESS", "0")
    with prog.progress("quiet", total=1) as bar:
        bar.advance(1)
    assert prog._live is None
