"""The worker and the kernel import no domain: what the worker runs comes from the registry in
`core.jobs`, filled by each domain's `tasks.py` (loaded through `moneyrail.domains`)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

import moneyrail
from moneyrail.domains import DOMAINS

PACKAGE = Path(moneyrail.__file__).parent

# Packages that are not the kernel, the worker or the registry of domains.
NOT_KERNEL = {*DOMAINS, "auth", "connectors", "sandbox"}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    package = ".".join(("moneyrail", *path.relative_to(PACKAGE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module != "moneyrail" and not module.startswith("moneyrail."):
                continue
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                found.add(candidate if _is_module(candidate) else module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in ("import_module", "__import__"), (
                f"{path}: a dynamic import hides what it loads"
            )
    return {m for m in found if m == "moneyrail" or m.startswith("moneyrail.")}


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_imports_are_parsed() -> None:
    """The check sees imports of every form (so the tests below cannot pass vacuously)."""
    runner = imported_modules(PACKAGE / "worker" / "runner.py")
    assert "moneyrail.core.jobs" in runner and "moneyrail.worker.relay" in runner
    cli = imported_modules(PACKAGE / "worker" / "cli.py")
    assert "moneyrail.worker.runner" in cli  # imported inside a function


@pytest.mark.parametrize("path", _files("worker"), ids=lambda p: p.name)
def test_worker_imports_only_the_kernel(path: Path) -> None:
    allowed_prefixes = ("moneyrail.core.", "moneyrail.worker.")
    # `moneyrail.domains` loads the domains' tasks; `moneyrail.cli` is the command-line root
    # that mounts the `worker` command (settings checks, the embedded database URL).
    allowed = {"moneyrail.core", "moneyrail.worker", "moneyrail.domains", "moneyrail.cli"}
    for module in imported_modules(path):
        assert module in allowed or module.startswith(allowed_prefixes), (
            f"{path.relative_to(PACKAGE)} imports {module}"
        )
        assert module.split(".")[1] not in NOT_KERNEL, f"{path} imports {module}"


@pytest.mark.parametrize("path", _files("core"), ids=lambda p: p.name)
def test_core_imports_no_domain(path: Path) -> None:
    for module in imported_modules(path):
        parts = module.split(".")
        assert len(parts) == 1 or parts[1] not in NOT_KERNEL, (
            f"{path.relative_to(PACKAGE)} imports {module}"
        )
