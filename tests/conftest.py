"""Shared fixtures: a private run store, cache and no progress bars in tests.

Tests whose offline data is missing (a ``DataUnavailableError``, or a ``needs_*`` marker) are
skipped with a ``missing data:`` reason. With ``MANTISSA_REQUIRE_DATA=1`` (as in CI) any such skip
fails the session, so a green run always means every test ran.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "plugins"))
os.environ["MANTISSA_PROGRESS"] = "0"

from markers import DATA_SKIP  # noqa: E402

from mantissa.errors import DataUnavailableError  # noqa: E402

_data_skips: list[str] = []


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("MANTISSA_CACHE", str(cache))
    monkeypatch.setenv("MANTISSA_RUNS", str(tmp_path_factory.mktemp("runs")))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    exc = call.excinfo
    if exc is not None and exc.errisinstance(DataUnavailableError) and report.failed:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, DATA_SKIP + str(exc.value))
    if report.skipped and isinstance(report.longrepr, tuple) and DATA_SKIP in str(report.longrepr[2]):
        _data_skips.append(f"{item.nodeid}: {report.longrepr[2]}")


def pytest_terminal_summary(terminalreporter):
    if _data_skips:
        terminalreporter.section("skipped for missing data")
        for line in _data_skips:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session):
    if _data_skips and os.environ.get("MANTISSA_REQUIRE_DATA") == "1":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
