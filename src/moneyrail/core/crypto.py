"""AES-256-GCM for stored secrets, with a key ring so keys can rotate.

Ciphertexts are `v1.<key id>.<base64url(nonce ‖ ciphertext+tag)>`; the associated data binds
each value to where it belongs (tenant, provider, row), so a value copied elsewhere fails to
decrypt. Keys come from `ENCRYPTION_KEYS` (`id:base64key,…`, first is current) or are
derived from SECRET_KEY when none are configured.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from moneyrail.core.settings import Settings, get_settings

NONCE_BYTES = 12
KEY_BYTES = 32
FORMAT_VERSION = "v1"


class DecryptionError(Exception):
    """The value was altered, moved to another owner, or made with an unknown key."""


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, bytes]

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(nonce, plaintext, aad)
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT_VERSION}.{self.current_id}.{blob}"

    def decrypt(self, token: str, *, aad: bytes) -> bytes:
        try:
            version, key_id, blob = token.split(".", 2)
        except ValueError as exc:
            raise DecryptionError("malformed ciphertext") from exc
        if version != FORMAT_VERSION or key_id not in self.keys:
            raise DecryptionError(f"unknown key id {key_id!r}")
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        try:
            return AESGCM(self.keys[key_id]).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    def encrypt_text(self, plaintext: str, *, aad: str) -> str:
        return self.encrypt(plaintext.encode(), aad=aad.encode())

    def decrypt_text(self, token: str, *, aad: str) -> str:
        return self.decrypt(token, aad=aad.encode()).decode()

    @staticmethod
    def key_id_of(token: str) -> str:
        return token.split(".", 2)[1]


def parse_key_ring(spec: str) -> KeyRing:
    """`id1:base64key,id2:base64key` — the first key encrypts, all decrypt."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        if not key_id or len(key) != KEY_BYTES or "." in key_id:
            raise ValueError(f"ENCRYPTION_KEYS entry {key_id!r} must be id:base64(32 bytes)")
        keys[key_id] = key
        order.append(key_id)
    if not order:
        raise ValueError("ENCRYPTION_KEYS holds no key")
    return KeyRing(current_id=order[0], keys=keys)


def key_ring_from(settings: Settings) -> KeyRing:
    if settings.encryption_keys:
        return parse_key_ring(settings.encryption_keys)
    derived = hashlib.sha256(b"moneyrail-encryption:" + settings.secret_key.encode()).digest()
    return KeyRing(current_id="k0", keys={"k0": derived})


@lru_cache(maxsize=1)
def key_ring() -> KeyRing:
    return key_ring_from(get_settings())
