"""Fixtures for the connector tests: every connector talks to the in-process sandboxes."""

from __future__ import annotations

import httpx
import pytest

from moneyrail.sandbox.app import create_sandbox_app


@pytest.fixture
def transport() -> httpx.ASGITransport:
    """A fresh sandbox app per test, reached in process."""
    return httpx.ASGITransport(app=create_sandbox_app(open_hooks=True))
