from __future__ import annotations

import base64
import os

import pytest

from moneyrail.core.crypto import DecryptionError, KeyRing, parse_key_ring


def _ring(*ids: str) -> KeyRing:
    return parse_key_ring(",".join(f"{i}:{base64.b64encode(os.urandom(32)).decode()}" for i in ids))


def test_round_trip_and_binding() -> None:
    ring = _ring("a")
    token = ring.encrypt_text("sk_test_123", aad="ten_1|stripe|row1")
    assert "sk_test_123" not in token
    assert ring.decrypt_text(token, aad="ten_1|stripe|row1") == "sk_test_123"
    with pytest.raises(DecryptionError):
        ring.decrypt_text(token, aad="ten_2|stripe|row1")
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(DecryptionError):
        ring.decrypt_text(tampered, aad="ten_1|stripe|row1")


def test_rotation_keeps_old_keys_readable() -> None:
    old = _ring("old")
    token = old.encrypt_text("secret", aad="x")
    rotated = KeyRing(current_id="new", keys={**_ring("new").keys, **old.keys})
    assert rotated.decrypt_text(token, aad="x") == "secret"
    assert KeyRing.key_id_of(rotated.encrypt_text("secret", aad="x")) == "new"
    with pytest.raises(DecryptionError):
        _ring("other").decrypt_text(token, aad="x")


def test_bad_key_spec() -> None:
    with pytest.raises(ValueError, match="base64"):
        parse_key_ring("a:c2hvcnQ=")
