"""Twilio status callbacks: form POSTs signed with `X-Twilio-Signature`, the base64
HMAC-SHA1, keyed with the auth token, of the full URL followed by every POST parameter's
name and value in name order."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

SIGNATURE_HEADER = "X-Twilio-Signature"


def compute_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with its default port (as Twilio's SDKs try)."""
    parts = urlsplit(url)
    variants = [url]
    host = parts.hostname or ""
    default_port = 443 if parts.scheme == "https" else 80
    if parts.port is not None:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    else:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default_port}")))
    return variants


def verify_signature(
    *, auth_token: str, urls: list[str], params: Mapping[str, str], signature: str | None
) -> bool:
    """Whether `signature` signs `params` posted to any of `urls` (constant-time compare)."""
    if not signature or not auth_token:
        return False
    for candidate in urls:
        for url in _url_variants(candidate):
            expected = compute_signature(auth_token, url, params)
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return True
    return False
