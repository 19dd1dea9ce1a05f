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


def test_off_a_terminal_long_work_prints_a_line_every_interval(monkeypatch, capsys):
    monkeypatch.setenv("MANTISSA_PROGRESS", "log")
    monkeypatch.setenv("MANTISSA_PROGRESS_EVERY", "0")
    with prog.progress("building", total=4) as bar:
        bar.advance(1, loss=0.5)
        bar.advance(1)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("building: 1/4 (25%), ") and "loss=0.5" in lines[0]
    assert "2/4 (50%)" in lines[1] and "left" in lines[1]
    monkeypatch.setenv("MANTISSA_PROGRESS_EVERY", "3600")
    with prog.progress("quick", total=None) as bar:
        bar.advance(5)
    assert capsys.readouterr().err == ""  # short work prints nothing


def test_log_lines_only_off_a_terminal(monkeypatch):
    monkeypatch.delenv("MANTISSA_PROGRESS")
    monkeypatch.setattr(prog.sys.stderr, "isatty", lambda: False)
    assert prog.logging_lines() and not prog.enabled()
    monkeypatch.setattr(prog.sys.stderr, "isatty", lambda: True)
    assert prog.enabled() and not prog.logging_lines()
