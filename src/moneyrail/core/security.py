"""Password hashing (argon2id), one-time codes, opaque tokens and constant-time helpers.

Argon2 is slow on purpose; `hash_password` and `verify_password` run it in a worker thread so
the event loop keeps serving. Cheaper parameters are used only when ENVIRONMENT=test.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from moneyrail.core import limits

# RFC 9106's second recommended option (64 MiB, 3 passes) for production and development.
_PRODUCTION_HASHER = PasswordHasher(
    time_cost=3, memory_cost=65_536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)
# Tests hash hundreds of passwords; the format and algorithm stay the same.
_TEST_HASHER = PasswordHasher(
    time_cost=1, memory_cost=1_024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)
_hasher = _PRODUCTION_HASHER
# A real hash of a random password, verified when the account does not exist so that both
# answers take the same time.
_dummy_hashes: dict[int, str] = {}

OTP_DIGITS = 6
TOKEN_ALPHABET = string.ascii_letters + string.digits


def use_test_parameters(enabled: bool) -> None:
    """Switch to the cheap argon2 parameters (ENVIRONMENT=test only)."""
    global _hasher
    _hasher = _TEST_HASHER if enabled else _PRODUCTION_HASHER


def _hash_sync(password: str) -> str:
    return _hasher.hash(password)


def _verify_sync(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hash_sync, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Check a password; with no stored hash, burn the same time and answer False."""
    if stored is None:
        key = id(_hasher)
        if key not in _dummy_hashes:
            _dummy_hashes[key] = await hash_password(secrets.token_urlsafe(16))
        await anyio.to_thread.run_sync(_verify_sync, _dummy_hashes[key], password)
        return False
    return await anyio.to_thread.run_sync(_verify_sync, stored, password)


def password_needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def generate_otp() -> str:
    """Six digits from the operating system's CSPRNG, leading zeros kept."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def keyed_digest(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 over the parts (unit-separated): for low-entropy values such as OTPs,
    so a copy of the table cannot be brute-forced without the server's key."""
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def generate_token(prefix: str, *, length: int = limits.opaque_token_random_length) -> str:
    """An opaque high-entropy token (refresh tokens, client secrets)."""
    body = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))
    return f"{prefix}{body}"


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy token: enough to store it, since it cannot be guessed."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
