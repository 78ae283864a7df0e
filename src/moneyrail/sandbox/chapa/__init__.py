"""The Chapa sandbox, mounted at `/chapa` by `sandbox.app.create_sandbox_app`.

`app` holds the whole simulator.
"""

from __future__ import annotations

from moneyrail.sandbox.chapa.app import create_app

__all__ = ["create_app"]
