"""The Paystack sandbox, mounted at `/paystack` by `sandbox.app.create_sandbox_app`.

`routes` holds the sandbox's state and core endpoints, the other parts (`shapes`, `subscriptions`) build on it and
`app` assembles them; nothing imports back up.
"""

from __future__ import annotations

from moneyrail.sandbox.paystack.app import create_app

__all__ = ["create_app"]
