"""Imports only point downwards through the layers (see docs/architecture.md).

A utility module (errors, registry, io, ...) imports no layer at all.
"""

import ast
from pathlib import Path

import mantissa

ROOT = Path(mantissa.__file__).parent
UTILITIES = {"errors", "registry", "config", "io", "progress", "runtime", "plot", "data", "__init__",
             "swap", "ownership", "fresh_dir"}
RANK = {"formats": 0, "arith": 1, "nn": 2, "tasks": 2, "models": 2,
        "quant": 3, "train": 3, "embed": 3, "probe": 3, "compress": 3,
        "experiments": 4, "cli": 5}


def _layer(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def test_imports_point_downwards():
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        layer = _layer(path)
        for module, line in _imports(path):
            parts = module.split(".")
            if parts[0] != "mantissa" or len(parts) < 2:
                continue
            target = parts[1]
            if layer in UTILITIES and target in RANK:
                bad.append(f"{path.relative_to(ROOT)}:{line} utility module imports layer {module}")
            elif layer in RANK and target in RANK and RANK[target] > RANK[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{line} {layer} imports upward {module}")
    assert not bad, "\n".join(bad)


def test_every_layer_is_known():
    layers = {_layer(p) for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert layers <= set(RANK) | UTILITIES, layers - set(RANK) - UTILITIES
