"""mantissa.swap: the atomic exchange, the two-rename fallback and its recovery, stale PID folders."""

from __future__ import annotations

import os

import pytest
import torch
from reliability_helpers import dead_pid, hidden_entries, snapshot

from mantissa import swap
from mantissa.index.index_file import build_index, open_index
from mantissa.swap import MARKER, building_dir, clean_stale, exchange, recover, swap_into_place


def _folder(path, text):
    path.mkdir()
    (path / "f.txt").write_text(text)
    return path


def test_exchange_swaps_two_folders_atomically(tmp_path):
    a, b = _folder(tmp_path / "a", "A"), _folder(tmp_path / "b", "B")
    if not exchange(a, b):
        pytest.skip("no renameat2(RENAME_EXCHANGE) on this system")
    assert (a / "f.txt").read_text() == "B" and (b / "f.txt").read_text() == "A"


@pytest.mark.parametrize("atomic", [True, False])
def test_swap_replaces_and_leaves_nothing(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(swap, "exchange", lambda a, b: False)
    final = _folder(tmp_path / "out", "old")
    tmp = building_dir(final)
    assert tmp.name.startswith(f".out.building-{os.getpid()}-") and (tmp / MARKER).is_file()
    (tmp / "f.txt").write_text("new")
    swap_into_place(tmp, final)
    assert snapshot(final) == {"f.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_death_between_the_two_renames_is_recovered_on_open(tmp_path):
    """The fallback's window: the old copy renamed away, the new one not yet in place."""
    idx = tmp_path / "idx"
    build_index(idx, "int8", [torch.randn(40, 8)])
    (idx / MARKER).write_text("1\n")
    old = tmp_path / f".idx.old-{dead_pid()}-0123abcd"
    os.rename(idx, old)
    assert not idx.exists()
    assert open_index(idx).count == 40  # the next open puts the old copy back
    assert not (idx / MARKER).exists() and hidden_entries(tmp_path) == []


def test_recover_leaves_a_live_process_alone(tmp_path):
    _folder(tmp_path / f".idx.old-{os.getpid()}-0123abcd", "x")
    (tmp_path / f".idx.old-{os.getpid()}-0123abcd" / MARKER).write_text("")
    assert not recover(tmp_path / "idx")
    assert clean_stale(tmp_path) == []


def test_clean_stale_removes_dead_owners_only_and_never_lookalikes(tmp_path):
    gone, alive = dead_pid(), os.getpid()
    for name in (f".idx.building-{gone}-abcdefgh", f".q.building-{gone}-zz_12345",
                 f".idx.building-{alive}-abcdefgh"):
        _folder(tmp_path / name, "partial")
        (tmp_path / name / MARKER).write_text("")
    # a user's folders that look alike: no marker, or not our name pattern
    _folder(tmp_path / f".notes.old-{gone}-abcdefgh", "mine")
    _folder(tmp_path / f".bashrc.old-{gone}", "mine")
    (tmp_path / f".thesis.building-{gone}-abcdefgh").write_text("a file")
    removed = clean_stale(tmp_path)
    assert sorted(p.name for p in removed) == sorted([f".idx.building-{gone}-abcdefgh",
                                                      f".q.building-{gone}-zz_12345"])
    kept = [f".idx.building-{alive}-abcdefgh", f".notes.old-{gone}-abcdefgh", f".bashrc.old-{gone}",
            f".thesis.building-{gone}-abcdefgh"]
    assert hidden_entries(tmp_path) == sorted(kept)


def test_next_build_cleans_stale_folders_and_recovers(tmp_path):
    x = torch.randn(40, 8)
    build_index(tmp_path / "a", "int8", [x])
    stale = _folder(tmp_path / f".a.building-{dead_pid()}-abcdefgh", "half an index")
    (stale / MARKER).write_text("")
    build_index(tmp_path / "b", "int8", [x])
    assert hidden_entries(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_marker_left_in_an_index_is_its_own(tmp_path):
    """Killed after marking the old copy but before the exchange: the index is still ours."""
    idx = tmp_path / "idx"
    build_index(idx, "int8", [torch.randn(40, 8)])
    (idx / MARKER).write_text("1\n")
    assert open_index(idx).count == 40
    assert build_index(idx, "binary", [torch.randn(30, 8)], overwrite=True).count == 30


def test_an_empty_unmarked_temporary_of_a_dead_process_is_removed(tmp_path):
    from mantissa import swap

    dead = tmp_path / ".idx.building-999999999-abcd1234"
    dead.mkdir()
    kept = tmp_path / ".idx.building-999999999-efgh5678"
    kept.mkdir()
    (kept / "user.txt").write_text("not empty: kept")
    swap.clean_stale(tmp_path)
    assert not dead.exists() and (kept / "user.txt").exists()
