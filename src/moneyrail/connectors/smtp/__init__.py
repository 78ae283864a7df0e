"""E-mail over SMTP.

The package's parts: `client`; each imports the shared
base (`connectors.base`, `connectors.http`, …) and the parts before it, never this module.
"""

from __future__ import annotations

from moneyrail.connectors.smtp.client import SmtpConfig, build_message, send_email

__all__ = [
    "SmtpConfig",
    "build_message",
    "send_email",
]
