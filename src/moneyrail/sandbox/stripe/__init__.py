"""The Stripe sandbox, mounted at `/stripe` by `sandbox.app.create_sandbox_app`.

`routes` holds the sandbox's state and core endpoints, the other parts (`billing`, `hooks`, `refunds`, `wire`) build on it and
`app` assembles them; nothing imports back up.
"""

from __future__ import annotations

from moneyrail.sandbox.stripe.app import create_app
from moneyrail.sandbox.stripe.wire import parse_params

__all__ = ["create_app", "parse_params"]
