"""The installed reference libraries lie inside the ranges pyproject.toml declares as tested.

Tests compare mantissa against the *installed* ml_dtypes, FAISS and torch; a version outside the
declared range may round differently, so the suite says so plainly instead of failing obscurely.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def declared() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {Requirement(r).name.replace("_", "-").lower(): Requirement(r) for r in reqs}


@pytest.mark.parametrize("dist", ["ml-dtypes", "faiss-cpu", "torch"])
def test_reference_library_inside_tested_range(dist):
    req = declared()[dist]
    try:
        installed = metadata.version(dist)
    except metadata.PackageNotFoundError:
        if dist == "faiss-cpu":
            pytest.skip("faiss-cpu is not installed (the [bench] extra)")
        raise
    version = Version(Version(installed).base_version)
    assert req.specifier.contains(version, prereleases=True), (
        f"installed {dist} {installed} lies outside the tested range '{req.specifier}' of pyproject.toml; "
        f"install the tested set with `make install` (pip install -c constraints.txt)")


def test_constraints_pin_every_declared_dependency():
    pins = {}
    for line in (PYPROJECT.parent / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.replace("_", "-").lower()] = Version(version)
    for name, req in declared().items():
        assert name in pins, f"constraints.txt has no pin for {name}"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's '{req.specifier}'"
