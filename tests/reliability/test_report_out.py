"""``mantissa report --out`` replaces its own page or table, never a user's file."""

import pytest
from reliability_helpers import assert_one_error_line
from stored_run import store_run


@pytest.fixture(autouse=True)
def _plugin():
    import tiny_experiment  # noqa: F401  (registers "tiny-test")


@pytest.mark.parametrize("extra", [["--markdown"], []])
def test_report_rewrites_its_own_output_and_refuses_a_users_file(cli, tmp_path, extra):
    store_run(tmp_path, "quick", "reproduced", 1)
    out = tmp_path / "out.txt"
    for _ in range(2):  # the second write replaces mantissa's own file
        code, _, err = cli("report", "--runs", tmp_path, *extra, "--out", out)
        assert code == 0, err
    assert ("| `tiny-test` | reproduced |" in out.read_text()) == bool(extra)
    mine = tmp_path / "notes.md"
    mine.write_text("my notes\n")
    code, _, err = cli("report", "--runs", tmp_path, *extra, "--out", mine)
    assert_one_error_line(code, err, str(mine), "mantissa did not write it")
    assert mine.read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md", "out.txt", "tiny-test"]
