"""A real text corpus from the Python standard library's docstrings.

Parsed from the stdlib source files with :mod:`ast` (no module is imported, so
nothing runs): every public function, method and class with a docstring, with
its qualified name and signature. Deterministic for a given Python version.
"""

from __future__ import annotations

import ast
import functools
import sysconfig
from dataclasses import dataclass
from pathlib import Path

_SKIP_DIRS = {"test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "ensurepip",
              "tkinter", "__pycache__", "venv", "pydoc_data"}


@dataclass(frozen=True)
class Docstring:
    """``name`` (``module.Class.method``), ``signature`` (``name(args)``), ``doc``."""

    name: str
    signature: str
    doc: str


def _signature(node: ast.AST, name: str) -> str:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return f"{name}({ast.unparse(node.args)})"
    return name


def _walk(tree: ast.Module, module: str) -> list[Docstring]:
    out = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name.startswith("_"):
                continue
            qual = f"{prefix}.{node.name}"
            doc = ast.get_docstring(node)
            if doc and len(doc.split()) >= 3:
                out.append(Docstring(qual, _signature(node, node.name), doc.strip()))
            if isinstance(node, ast.ClassDef):
                visit(node.body, qual)

    visit(tree.body, module)
    return out


@functools.cache
def _corpus() -> tuple[Docstring, ...]:
    root = Path(sysconfig.get_paths()["stdlib"])
    items: list[Docstring] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        private = any(p.startswith("_") and p != "__init__.py" for p in rel.parts)
        if private or _SKIP_DIRS.intersection(rel.parts):
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        items.extend(_walk(tree, module))
    return tuple(items)


def load_stdlib_docstrings(limit: int | None = None) -> list[Docstring]:
    """Documented public functions, methods and classes of the stdlib (sorted by module)."""
    items = list(_corpus())
    return items[:limit] if limit is not None else items
