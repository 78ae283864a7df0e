"""Flutterwave's JSON: amounts are major units as JSON numbers, so bodies are written from
`Decimal` and read back into `Decimal`, never through float."""

from __future__ import annotations

import json
import re
import secrets as token
from decimal import Decimal
from typing import Any


def dumps(payload: Any) -> bytes:
    """JSON with every `Decimal` written as the exact number it holds (`Decimal("10.50")` →
    `10.50`), which `json.dumps` cannot do without going through float."""
    nonce = token.token_hex(8)
    numbers: list[str] = []

    def number(value: Any) -> str:
        if isinstance(value, Decimal) and value.is_finite():
            numbers.append(format(value, "f"))
            return f"@{nonce}:{len(numbers) - 1}@"
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(payload, default=number, separators=(",", ":"))
    placeholder = re.compile(rf'"@{nonce}:(\d+)@"')
    return placeholder.sub(lambda m: numbers[int(m.group(1))], text).encode()


def loads(content: bytes) -> Any:
    """Parse JSON keeping fractional numbers as `Decimal`."""
    return json.loads(content, parse_float=Decimal)
