"""HMAC helpers the providers' webhook schemes share.

Verifiers accept any of several secrets (a rotation keeps the old and new one valid for a
while), compare in constant time, every pair whichever matches, and raise
`InvalidWebhookSignature` on any mismatch. The signing halves are what our sandboxes use to
sign the webhooks they send.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from moneyrail.connectors.base import InvalidWebhookSignature
from moneyrail.core import limits


def hmac_hex(key: str, message: bytes, algorithm: str = "sha256") -> str:
    """Hex HMAC of `message` keyed with `key` as UTF-8 bytes."""
    return hmac.new(key.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def hmac_sha256_hex(key: str, message: bytes) -> str:
    return hmac_hex(key, message)


def usable_secrets(
    secrets: Sequence[str], *, missing: str = "no webhook secret is configured for this provider"
) -> list[str]:
    """The non-empty secrets, at most `limits.webhook_secrets_max` of them.

    Raises: InvalidWebhookSignature(`missing`) when there is none.
    """
    usable = [s for s in secrets if s][: limits.webhook_secrets_max]
    if not usable:
        raise InvalidWebhookSignature(missing)
    return usable


def any_matches(expected: Iterable[str], provided: Iterable[str]) -> bool:
    """Whether any expected value equals any provided one. Every pair is compared, so the
    time taken does not depend on which one matched."""
    matched = False
    provided_list = [p.encode() for p in provided]
    for candidate in expected:
        for given in provided_list:
            matched |= hmac.compare_digest(candidate.encode(), given)
    return matched
