"""Imports only point downwards through the layers (see docs/architecture.md).

A utility module (errors, registry, io, ...) imports no layer at all.
"""

import ast
from pathlib import Path

import mantissa

ROOT = Path(mantissa.__file__).parent
UTILITIES = {"errors", "registry", "config", "io", "progress", "runtime", "plot", "data", "__init__",
             "swap", "ownership", "fresh_dir", "stats"}
RANK = {"formats": 0, "arith": 1, "nn": 2, "tasks": 2, "models": 2, "catalogue": 4, "index": 3,
        "quant": 3, "train": 3, "embed": 3, "probe": 3, "compress": 3, "merge": 3, "tables": 3.5,
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


# --------------------------------------------------------------------------- experiments are wiring
#: experiments that still import a shared suite or another experiment, and those that still
#: hold their own optimizer loop. The list may only shrink: a new entry fails, and so does an
#: entry that no longer offends (remove it).
KNOWN_IMPORTS: dict[str, set[str]] = {}
KNOWN_LOOPS: set[str] = set()


def _experiment_modules():
    for path in sorted((ROOT / "experiments").glob("*/*.py")):
        if not path.stem.startswith("_"):
            yield path


def test_experiments_import_no_other_experiment():
    found = {}
    for path in _experiment_modules():
        for module, _ in _imports(path):
            parts = module.split(".")
            if parts[:2] == ["mantissa", "experiments"] and len(parts) > 2:
                found.setdefault(path.stem, set()).add(parts[-1])
    new = {k: v - KNOWN_IMPORTS.get(k, set()) for k, v in found.items() if v - KNOWN_IMPORTS.get(k, set())}
    assert not new, f"experiments import other experiments or shared suites (use a part instead): {new}"
    stale = {k: v - found.get(k, set()) for k, v in KNOWN_IMPORTS.items() if v - found.get(k, set())}
    assert not stale, f"no longer offending, remove from KNOWN_IMPORTS: {stale}"


def test_experiments_hold_no_training_loop():
    found = {path.stem for path in _experiment_modules() if ".backward(" in path.read_text()}
    new = found - KNOWN_LOOPS
    assert not new, f"train through mantissa.train (Trainer or a step function): {new}"
    assert not KNOWN_LOOPS - found, f"no longer offending, remove from KNOWN_LOOPS: {KNOWN_LOOPS - found}"


#: experiment modules still over :data:`MAX_LINES` lines, with their length today: they may only
#: shrink, and an entry that fits (or no longer exists) fails until it is removed
MAX_LINES = 150
KNOWN_LONG: dict[str, int] = {}


def test_experiment_modules_are_short():
    lengths = {p.stem: len(p.read_text().splitlines()) for p in _experiment_modules()}
    grown = {k: n for k, n in lengths.items() if n > KNOWN_LONG.get(k, MAX_LINES)}
    assert not grown, f"experiment modules over {MAX_LINES} lines (or longer than listed): {grown}"
    stale = {k: lengths.get(k) for k in KNOWN_LONG if lengths.get(k, 0) <= MAX_LINES}
    assert not stale, f"now short enough, remove from KNOWN_LONG: {stale}"
