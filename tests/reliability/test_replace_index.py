"""``index build --out DIR [--force]`` and ``build_index(overwrite=...)`` replace only an index.

A folder that is not an index, or an index the user added files to, is refused with one
``error:`` line naming the foreign files, and survives byte for byte.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from reliability_helpers import assert_one_error_line, snapshot, user_folder, vectors

from mantissa.errors import MantissaError, OverwriteRefusedError
from mantissa.index.index_file import build_index, open_index


@pytest.fixture
def good(tmp_path):
    return vectors(tmp_path / "good.npy")


def _build(cli, good, out, *extra):
    return cli("index", "build", "--input", good, "--out", out, "--chunk", "100", *extra)


@pytest.mark.parametrize("force", [True, False])
def test_user_folder_survives_index_build(cli, tmp_path, good, force):
    user = user_folder(tmp_path / "userdir")
    before = snapshot(user)
    code, _, err = _build(cli, good, user, *(["--force"] if force else []))
    assert_one_error_line(code, err, "thesis.txt", "sub/notes.md", "not a mantissa index")
    assert snapshot(user) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npy", "userdir"]


def test_index_with_an_added_file_is_refused(cli, tmp_path, good):
    out = tmp_path / "idx"
    assert _build(cli, good, out)[0] == 0
    (out / "my-notes.txt").write_text("mine")
    (out / "extra").mkdir()
    before = snapshot(out)
    code, _, err = _build(cli, good, out, "--force", "--spec", "binary")
    assert_one_error_line(code, err, "my-notes.txt", "extra/", "2 files")
    assert snapshot(out) == before
    assert str(open_index(out).spec) == "int8"


def test_force_replaces_an_index_and_leaves_nothing_else(cli, tmp_path, good):
    out = tmp_path / "idx"
    assert _build(cli, good, out)[0] == 0
    code, _, err = _build(cli, good, out)
    assert_one_error_line(code, err, "--force")
    code, _, err = _build(cli, good, out, "--force", "--spec", "binary")
    assert code == 0, err
    assert str(open_index(out).spec) == "binary"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npy", "idx"]


def test_texts_are_part_of_the_index_and_replaced_with_it(tmp_path):
    """texts.txt is written before the swap: an index and its texts change together."""
    out = tmp_path / "tidx"
    build_index(out, "int8", [torch.randn(3, 8)], texts=["a", "b", "c"])
    build_index(out, "int8", [torch.randn(2, 8)], texts=["d", "e"], overwrite=True)
    assert (out / "texts.txt").read_text() == "d\ne\n"
    assert open_index(out).count == 2


def test_empty_folder_may_be_used(cli, tmp_path, good):
    (tmp_path / "empty").mkdir()
    code, _, err = _build(cli, good, tmp_path / "empty")
    assert code == 0, err
    assert open_index(tmp_path / "empty").count == 300


def test_a_manifest_that_names_no_segments_is_not_an_index(cli, tmp_path, good):
    out = tmp_path / "odd"
    out.mkdir()
    (out / "index.json").write_text(json.dumps({"magic": "mantissa-index", "segments": 5}))
    before = snapshot(out)
    code, _, err = _build(cli, good, out, "--force")
    assert_one_error_line(code, err, "index.json")
    assert snapshot(out) == before


def test_symlink_and_file_destinations_are_refused(cli, tmp_path, good):
    user = user_folder(tmp_path / "real")
    os.symlink(user, tmp_path / "link")
    before = snapshot(user)
    code, _, err = _build(cli, good, tmp_path / "link", "--force")
    assert_one_error_line(code, err, "symbolic link")
    assert snapshot(user) == before and (tmp_path / "link").is_symlink()


def test_python_api_refuses_the_same_way(tmp_path):
    user = user_folder(tmp_path / "userdir")
    before = snapshot(user)
    x = torch.randn(50, 8)
    with pytest.raises(OverwriteRefusedError, match="thesis.txt") as info:
        build_index(user, "int8", [x], overwrite=True)
    assert isinstance(info.value, MantissaError) and isinstance(info.value, FileExistsError)
    assert snapshot(user) == before
    build_index(tmp_path / "idx", "int8", [x])
    with pytest.raises(FileExistsError, match="overwrite|--force"):
        build_index(tmp_path / "idx", "int8", [x])
    assert build_index(tmp_path / "idx", "binary", [x], overwrite=True).count == 50
