#!/usr/bin/env python3
"""Developer entry point that needs nothing but Python >= 3.11.

    python3 dev.py run    # virtualenv + install + server on an embedded PostgreSQL
    python3 dev.py test   # virtualenv + dev install + the whole test suite
    python3 dev.py lint   # ruff check, ruff format --check, mypy, import contracts
    python3 dev.py contract  # Schemathesis against the live server (the API contract)
    python3 dev.py lock   # re-resolve the pinned versions in constraints.txt

Installs take their versions from `constraints.txt`, the versions the test suite passed
with; CI and the Docker image install from the same file.

Extra arguments go to the underlying command (`python3 dev.py test -k ledger`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ROOT / "constraints.txt"
VENV = Path(os.environ.get("MONEYRAIL_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _python() -> str:
    return str(BIN / "python")


def _ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit("moneyrail needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pinned = CONSTRAINTS.read_bytes() if CONSTRAINTS.exists() else b""
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + pinned + extras.encode() + str(ROOT).encode()
    ).hexdigest()
    stamp = VENV / ".moneyrail-installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"installing moneyrail{extras} into {VENV}", flush=True)
    pip = [_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)  # noqa: S603
    constraints = ["-c", str(CONSTRAINTS)] if CONSTRAINTS.exists() else []
    subprocess.run([*pip, *constraints, "-e", f"{ROOT}{extras}"], check=True)  # noqa: S603
    stamp.write_text(digest)


def _lock() -> None:
    """Resolve every dependency afresh in a scratch virtualenv and pin what it installed."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        env_dir = Path(scratch) / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        python = str(env_dir / ("Scripts" if os.name == "nt" else "bin") / "python")
        pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)  # noqa: S603
        subprocess.run([*pip, "install", f"{ROOT}[dev,embedded,tracing]"], check=True)  # noqa: S603
        frozen = subprocess.run(  # noqa: S603
            [*pip, "freeze", "--exclude", "moneyrail", "--exclude", "pip"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    header = (
        "# The versions moneyrail is tested with: `python3 dev.py lock` re-resolves them.\n"
        "# dev.py, CI and the Docker image install with `-c constraints.txt`.\n"
    )
    CONSTRAINTS.write_text(header + frozen)
    print(f"pinned {frozen.count(chr(10))} packages in {CONSTRAINTS.name}")


def _exec(args: list[str]) -> None:
    os.chdir(ROOT)
    completed = subprocess.run(args, check=False)  # noqa: S603
    sys.exit(completed.returncode)


def main() -> None:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("help", [])
    if command == "run":
        _ensure_env("[embedded]")
        _exec([str(BIN / "moneyrail"), "serve", *rest])
    elif command == "test":
        _ensure_env("[dev,embedded,tracing]")
        workers = os.environ.get("MONEYRAIL_TEST_WORKERS", "2")
        _exec([_python(), "-m", "pytest", "-n", workers, "--dist", "loadfile", *rest])
    elif command == "contract":
        _ensure_env("[dev,embedded,tracing]")
        _exec([_python(), str(ROOT / ".ci" / "contract.py"), *rest])
    elif command == "lock":
        _lock()
    elif command == "lint":
        _ensure_env("[dev,embedded,tracing]")
        os.chdir(ROOT)
        paths = [p for p in ("src", "tests", "bench", "migrations", "dev.py") if Path(p).exists()]
        steps = [
            [_python(), "-m", "ruff", "check", *paths],
            [_python(), "-m", "ruff", "format", "--check", *paths],
            [_python(), "-m", "mypy", "src"],
            [str(BIN / "lint-imports")],
        ]
        failed = [s for s in steps if subprocess.run(s, check=False).returncode != 0]  # noqa: S603
        sys.exit(1 if failed else 0)
    else:
        print(__doc__)
        sys.exit(0 if command in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main()
