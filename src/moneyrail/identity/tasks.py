"""Identity's outbox handlers, registered by importing the sub-domains that have them."""

from __future__ import annotations

from moneyrail.identity.sessions import tasks as sessions_tasks

__all__ = ["sessions_tasks"]
