"""API key material: `mr_<env>_<lookup><secret>`, ≥ 128 bits of CSPRNG randomness.

Only a SHA-256 digest is stored; keys are high-entropy, so a slow hash adds nothing, and the
lookup part finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_RANDOM_LENGTH = 40  # 40 base62 characters ≈ 238 bits
KEY_LOOKUP_LENGTH = 12
KEY_PREFIXES = ("mr_test_", "mr_live_")
_KEY_BODY = re.compile(f"[A-Za-z0-9]{{{KEY_RANDOM_LENGTH}}}")


@dataclass(frozen=True)
class ParsedKey:
    environment: str
    lookup: str


def generate(environment: str) -> str:
    body = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_LENGTH))
    return f"mr_{environment}_{body}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key), stored_digest)


def parse(key: str) -> ParsedKey | None:
    for prefix in KEY_PREFIXES:
        if key.startswith(prefix):
            body = key[len(prefix) :]
            if _KEY_BODY.fullmatch(body):
                return ParsedKey(environment=prefix[3:7], lookup=body[:KEY_LOOKUP_LENGTH])
    return None


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIXES)
