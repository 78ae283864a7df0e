"""The Razorpay sandbox, mounted at `/razorpay` by `sandbox.app.create_sandbox_app`.

`routes` holds the sandbox's state and core endpoints, the other parts (`hooks`, `subscriptions`) build on it and
`app` assembles them; nothing imports back up.
"""

from __future__ import annotations

from moneyrail.sandbox.razorpay.app import create_app

__all__ = ["create_app"]
