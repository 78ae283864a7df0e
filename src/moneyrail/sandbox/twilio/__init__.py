"""The Twilio sandbox, mounted at `/twilio` by `sandbox.app.create_sandbox_app`.

`app` holds the whole simulator.
"""

from __future__ import annotations

from moneyrail.sandbox.twilio.app import create_app

__all__ = ["create_app"]
