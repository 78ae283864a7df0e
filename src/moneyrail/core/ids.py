"""Prefixed, time-sortable identifiers: `acct_01JD3Z…` (ULID layout, Crockford base32)."""

from __future__ import annotations

import base64
import re
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_BODY_LENGTH = 26
_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,11}$")
_ID_PATTERN = re.compile(r"^([a-z][a-z0-9]{1,11})_([0-9A-HJKMNP-TV-Z]{26})$")


# RFC 4648 base32 digits to Crockford's: the standard encoder does the 5-bit grouping in C.
_FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def _encode(value: int, length: int) -> str:
    """`value` as `length` Crockford base32 digits (most significant first)."""
    width = -(-length * 5 // 40) * 5  # whole 40-bit groups, in bytes
    digits = base64.b32encode(value.to_bytes(width, "big")).decode("ascii")
    return digits[len(digits) - length :].translate(_FROM_RFC4648)


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id: 48 bits of milliseconds then 80 random bits, so ids sort by creation time."""
    if not _PREFIX_PATTERN.match(prefix):
        raise ValueError(f"invalid id prefix {prefix!r}")
    timestamp = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    value = (timestamp << 80) | secrets.randbits(80)
    return f"{prefix}_{_encode(value, _ID_BODY_LENGTH)}"


def has_prefix(value: str, prefix: str) -> bool:
    match = _ID_PATTERN.match(value)
    return match is not None and match.group(1) == prefix


def timestamp_ms(value: str) -> int:
    """The creation time in milliseconds encoded in an id."""
    match = _ID_PATTERN.match(value)
    if match is None:
        raise ValueError(f"not a moneyrail id: {value!r}")
    number = 0
    for char in match.group(2):
        number = number * 32 + _ALPHABET.index(char)
    return number >> 80
