"""The PayPal sandbox, mounted at `/paypal` by `sandbox.app.create_sandbox_app`.

`routes` holds the sandbox's state and core endpoints, the other parts (`billing`, `payments`, `webhooks`, `wire`) build on it and
`app` assembles them; nothing imports back up.
"""

from __future__ import annotations

from moneyrail.sandbox.paypal.app import create_app

__all__ = ["create_app"]
