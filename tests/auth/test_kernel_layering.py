"""The permissions kernel stays a kernel: it imports only `core`; other domains reach
authentication through it, never through identity; audit and identity do not import each
other's way round (identity may record audit events; audit knows nothing of identity);
each permission is declared once, in its domain's `auth.py`."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "moneyrail"
IMPORT = re.compile(r"^\s*(?:from|import)\s+moneyrail\.(\w+)", re.M)
DECLARATION = re.compile(r'require\(scope="([^"]+)"')


def _imports(folder: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(SRC)): set(IMPORT.findall(path.read_text()))
        for path in (SRC / folder).rglob("*.py")
    }


def test_kernel_imports_only_core() -> None:
    for module, domains in _imports("auth").items():
        assert domains <= {"auth", "core"}, (module, domains)


def test_audit_does_not_import_identity() -> None:
    for module, domains in _imports("audit").items():
        assert "identity" not in domains, module


def test_authentication_comes_from_the_kernel() -> None:
    retired = re.compile(r"moneyrail\.identity\.(deps|subject|roles)\b|moneyrail\.audit\.context")
    offenders = [
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if retired.search(path.read_text())
    ]
    assert not offenders


def test_each_permission_is_declared_once_in_an_auth_module() -> None:
    declared: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        if path.parent.name == "auth":
            continue  # the kernel's own docstring shows one as an example
        for scope in DECLARATION.findall(path.read_text()):
            declared.setdefault(scope, []).append(str(path.relative_to(SRC)))
    for scope, places in declared.items():
        assert len(places) == 1 and places[0].endswith("/auth.py"), (scope, places)
