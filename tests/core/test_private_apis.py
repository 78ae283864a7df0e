"""Only `core/fastpath.py` may reach below the public API of SQLAlchemy, asyncpg, FastAPI or
Starlette: an upgrade then breaks one module, which checks itself at import, instead of
production silently.

A private name (`_x`) that the project does not define itself, read as an attribute or
imported from one of those libraries, counts as reaching below their API.
"""

from __future__ import annotations

import ast
from pathlib import Path

from moneyrail.core import fastpath

SRC = Path(__file__).resolve().parents[2] / "src" / "moneyrail"
OWNER = SRC / "core" / "fastpath.py"
LIBRARIES = ("sqlalchemy", "asyncpg", "fastapi", "starlette")
# Public despite the underscore: the named-tuple API (also SQLAlchemy's `Row`, urllib's
# split results), documented under these names so they cannot clash with fields.
DOCUMENTED = frozenset({"_fields", "_replace", "_asdict", "_make", "_mapping"})


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined_names(trees: dict[Path, ast.AST]) -> set[str]:
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[-1])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)  # __slots__ entries, getattr names
    return {name for name in names if _private(name)}


def test_only_the_fast_path_uses_private_library_apis() -> None:
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in SRC.rglob("*.py")}
    ours = _defined_names({p: t for p, t in trees.items() if p != OWNER})
    found = []
    for path, tree in trees.items():
        if path == OWNER:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(LIBRARIES):
                found += [
                    f"{path.relative_to(SRC)}:{node.lineno} imports {node.module}.{alias.name}"
                    for alias in node.names
                    if _private(alias.name) or "._" in (node.module or "")
                ]
            elif (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and node.attr not in ours
                and node.attr not in DOCUMENTED
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} reads .{node.attr}")
    assert not found, "\n".join(found)


def test_the_fast_path_still_fits_the_installed_sqlalchemy() -> None:
    fastpath.check_compatible()
